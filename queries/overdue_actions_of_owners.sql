-- one row per action overdue at $as_of on a finding in view whose owner is one of $owners (owner_key compares; $unowned: those with no owner too), most overdue first: each owner's first $limit
with overdue as (
    select
        owner_key(a.owner) as owner_group,
        a.*,
    from action_in_scope($filters) as a
    where a.is_overdue
        and (is_owned_by(a.owner, $owners::varchar[]) or ($unowned and a.owner is null))
    qualify row_number() over (partition by owner_key(a.owner) order by a.days_overdue desc, a.ref) <= $limit
)

select
    a.owner_group,
    a.ref,
    a.nonconformity,
    n.title as nonconformity_title,
    n.unit,
    u.name as unit_name,
    a.owner,
    a.description,
    a.due_on,
    a.days_overdue,
from overdue as a
join nonconformities as n on n.id = a.nonconformity_id
join units as u on u.code = n.unit
order by a.owner_group nulls last, a.days_overdue desc, a.ref
