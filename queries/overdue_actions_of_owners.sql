-- one row per action overdue at $as_of on a finding in view whose owner is one of $owners (owner_key compares; $unowned: those with no owner too), most overdue first: each owner's first $limit
with late as (
    from action_in_scope($filters)
    where is_overdue
),

-- each name as written once: owner_key reads a name character by character, and there are far fewer names
-- than actions
named as (
    select owner, owner_key(owner) as owner_group,
    from (select distinct owner from late where owner is not null)
),

overdue as (
    select n.owner_group, a.*,
    from late as a
    left join named as n on n.owner = a.owner
    where n.owner_group in (select owner_key(o) from unnest($owners::varchar[]) as t(o))
        or ($unowned and a.owner is null)
    qualify row_number() over (partition by n.owner_group order by a.days_overdue desc, a.ref) <= $limit
)

select
    a.owner_group,
    a.ref,
    n.* exclude (nonconformity_id),
    a.owner,
    a.description,
    a.due_on,
    a.days_overdue,
from overdue as a
join action_nonconformity((select list(nonconformity_id) from overdue)) as n
    on n.nonconformity_id = a.nonconformity_id
order by a.owner_group nulls last, a.days_overdue desc, a.ref
