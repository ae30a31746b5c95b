-- one row per quarter of the period: findings closed in it and how many of them by their due date
select
    date_trunc('quarter', closed_on)::date as quarter_start,
    count(*) as closed,
    count(*) filter (where is_closed_on_time) as closed_on_time,
    count(*) filter (where is_closed_on_time) / count(*) as on_time_rate,
from nonconformity_in_scope(
    $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
)
where closed_on between $since and $until
group by all
order by quarter_start
