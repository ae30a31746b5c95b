-- one row per record whose current digest (current_digests, from record_digests.sql) is not the one its last
-- seal holds: changed (both, different), removed (sealed, now gone) or unsealed (there, with no seal saying so)
with

sealed as (
    select entity, ref, digest, marks,
    from record_seals
    qualify row_number() over (partition by entity, ref order by block desc) = 1
)

select
    coalesce(s.entity, c.entity) as entity,
    coalesce(s.ref, c.ref) as ref,
    case
        when c.ref is null then 'removed'
        when s.ref is null or s.digest is null then 'unsealed'
        else 'changed'
    end as what,
    s.marks as sealed_marks,
    c.marks as current_marks,
from sealed as s
full join current_digests as c on c.entity = s.entity and c.ref = s.ref
where s.digest is distinct from c.digest
order by
    list_position(['nonconformity', 'action', 'unit', 'criterion', 'user', 'review'], coalesce(s.entity, c.entity)),
    coalesce(s.ref, c.ref)
