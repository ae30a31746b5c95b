-- one row per unit with overdue findings as of the date, most overdue first: its open and overdue counts
select
    n.unit,
    u.name,
    coalesce(u.name_en, u.name) as name_en,
    count(*) filter (where n.is_open) as open,
    count(*) filter (where n.is_overdue) as overdue,
from nonconformity_in_scope(
    $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
) as n
join units as u on u.code = n.unit
group by all
having count(*) filter (where n.is_overdue) > 0
order by overdue desc, open desc, n.unit
limit 10
