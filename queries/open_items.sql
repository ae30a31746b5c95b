-- one row per finding open at the as-of date in the chosen subtree, oldest first, with the owners of its open actions
with open_findings as (
    -- the first $limit only: their owners are all the list needs
    from nonconformity_in_scope($filters)
    where is_open
    order by found_on, ref
    limit $limit
),

owners as (
    select a.nonconformity_id, string_agg(distinct a.owner, ', ' order by a.owner) as owners
    from action_at($as_of) as a
    where a.is_open and a.nonconformity_id in (select id from open_findings)
    group by a.nonconformity_id
)

select
    n.ref,
    n.unit,
    u.name as unit_name,
    n.title,
    n.severity::varchar as severity,
    n.status::varchar as status,
    n.found_on,
    n.due_on,
    n.age_days,
    n.days_overdue,
    o.owners,
from open_findings as n
join units as u on u.code = n.unit
left join owners as o on o.nonconformity_id = n.id
order by n.found_on, n.ref
