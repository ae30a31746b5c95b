-- one row: for findings closed in the period whose actions were all done or cancelled, the median days of each phase
with closed as (
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
    where closed_on between $since and $until
),

action_dates as (
    select
        a.nonconformity_id,
        min(a.done_on) as first_done_on,
        max(a.done_on) as last_done_on,
    from actions as a
    where a.nonconformity_id in (select id from closed)
    group by a.nonconformity_id
    having count(*) filter (where a.status not in ('done', 'cancelled')) = 0
        and count(a.done_on) > 0
)

select
    count(*) as findings,
    median(d.first_done_on - n.found_on) as found_to_first_action,
    median(d.last_done_on - d.first_done_on) as first_to_last_action,
    median(n.closed_on - d.last_done_on) as last_action_to_verified,
    median(n.days_to_close) as found_to_verified,
from closed as n
join action_dates as d on d.nonconformity_id = n.id
