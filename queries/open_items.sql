-- one row per finding open at the as-of date in the chosen subtree, oldest first, with the owners of its open actions
with open_findings as (
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
    where is_open
),

owners as (
    select a.nonconformity, string_agg(distinct a.owner, ', ' order by a.owner) as owners
    from action_at($as_of) as a
    where a.is_open and a.nonconformity in (select ref from open_findings)
    group by a.nonconformity
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
    case when n.is_overdue then $as_of - n.due_on end as days_overdue,
    o.owners,
from open_findings as n
join units as u on u.code = n.unit
left join owners as o on o.nonconformity = n.ref
order by n.found_on, n.ref
limit $limit
