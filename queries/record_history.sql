-- one row per event on the record $ref and, for a finding, on its actions: the trail, oldest first
with finding as (
    select n.ref
    from nonconformities as n
    where n.unit in (select code from unit_subtree($scope))
        and (n.ref = $ref or n.ref = (select nonconformity from actions where ref = $ref))
),

records as (
    select 'nonconformity' as entity, ref from finding where ref = $ref
    union all
    select 'action', a.ref
    from actions as a
    where a.nonconformity in (select ref from finding)
        and (a.ref = $ref or a.nonconformity = $ref)
)

select
    e.id,
    e."at",
    e.actor,
    e.entity,
    e.ref,
    e.field,
    e.old,
    e.new,
    e.reason,
    e.batch,
from events as e
semi join records as r on r.entity = e.entity and r.ref = e.ref
order by e.id
