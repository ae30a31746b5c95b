-- one row per action in the quick view $view on a finding the viewer may see and the filters select, most overdue first: the first $limit, each with how many the view holds
with findings as (
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
)

select
    a.ref,
    a.nonconformity,
    n.unit,
    a.kind,
    a.description,
    a.owner,
    a.due_on,
    a.status,
    case when a.is_overdue then $as_of - a.due_on end as days_overdue,
    a.done_on,
    a.evidence,
    n.status as nonconformity_status,
    a.version,
    count(*) over () as rows_in_view,
from action_at($as_of) as a
join findings as n on n.id = a.nonconformity_id
where case $view
    when 'open' then a.is_open
    when 'overdue' then a.is_overdue
    when 'due_soon' then a.is_open and a.due_on between $as_of and $as_of + interval 14 day
    when 'awaiting_verification' then n.status = 'awaiting_verification'
    when 'mine' then a.is_open and list_contains($me::varchar[], lower(trim(a.owner)))
    else true
end
order by days_overdue desc nulls last, a.due_on nulls last, a.ref
limit $limit
