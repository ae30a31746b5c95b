-- one row per unit with findings of a criterion ($drill_criterion; null: any) opened in the period: the units a bar of systemic_criteria counted, most findings first
select
    n.unit,
    any_value(u.name) as unit_name,
    count(*) as findings,
    count(*) filter (where n.is_repeat) as repeats,
    count(*) filter (where n.is_open) as open,
    min(n.found_on) as first_found_on,
    max(n.found_on) as last_found_on,
from nonconformity_in_scope($filters) as n
join units as u on u.code = n.unit
where in_period(n.found_on, $since, $until)
    and n.criterion is not null
    and ($drill_criterion is null or n.criterion = $drill_criterion)
group by n.unit
order by findings desc, n.unit
