-- one row per (unit one level below the chosen one, criterion) with repeats opened in the period
select
    child_below(n.unit_path, $unit) as unit,
    any_value(u.name) as unit_name,
    any_value(coalesce(u.name_en, u.name)) as unit_name_en,
    n.criterion,
    count(*) filter (where n.is_repeat) as repeats,
    count(*) filter (where n.is_repeat_after_closure) as repeats_after_closure,
from nonconformity_in_scope(
    $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
) as n
join units as u on u.code = child_below(n.unit_path, $unit)
where n.found_on between $since and $until
    and n.is_repeat
group by all
order by repeats desc, unit, n.criterion
