-- one row per finding in the quick view $view that the viewer may see and the filters select, most overdue first
with findings as (
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
),

owners as (
    select
        a.nonconformity,
        string_agg(distinct a.owner, ', ' order by a.owner) filter (where a.is_open) as owners,
        count(*) filter (where a.is_open) as actions_open,
        bool_or(a.is_open and list_contains($me::varchar[], lower(trim(a.owner)))) as is_mine,
    from action_at($as_of) as a
    semi join findings as n on n.ref = a.nonconformity
    group by a.nonconformity
)

select
    n.ref,
    n.unit,
    n.severity,
    n.title,
    o.owners,
    n.found_on,
    n.due_on,
    n.status,
    case when n.is_overdue then $as_of - n.due_on end as days_overdue,
    coalesce(o.actions_open, 0) as actions_open,
    n.closed_on,
    n.version,
from findings as n
left join owners as o on o.nonconformity = n.ref
where case $view
    when 'open' then n.is_open
    when 'overdue' then n.is_overdue
    when 'due_soon' then n.is_open and n.due_on between $as_of and $as_of + interval 14 day
    when 'awaiting_verification' then n.status = 'awaiting_verification'
    when 'mine' then coalesce(o.is_mine, false)
    else true
end
order by days_overdue desc nulls last, n.due_on nulls last, n.ref
