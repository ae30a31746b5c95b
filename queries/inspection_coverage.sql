-- one row per (unit with an inspection due in the period, filter and scope; criterion in the store): its results
with units_due as (
    select distinct i.unit, i.unit_path
    from inspection_in_scope($as_of, $since, $until, $unit, $scope) as i
    where i.is_due
),

results as (
    select r.unit, r.criterion, count(*) as results
    from inspection_result_in_scope($as_of, $since, $until, $unit, $scope) as r
    group by r.unit, r.criterion
)

select
    d.unit,
    u.name as unit_name,
    c.code as criterion,
    coalesce(r.results, 0) as results,
from units_due as d
join units as u on u.code = d.unit
cross join criteria as c
left join results as r on r.unit = d.unit and r.criterion = c.code
order by d.unit_path, c.code
