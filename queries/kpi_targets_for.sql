-- one row per KPI with a target for $unit: the unit's own, else the nearest unit's above it, else the whole
-- organisation's (unit 'any'); $unit null is the whole organisation
select
    k.kpi,
    k.unit,
    k.target,
    k.direction,
    k.amber,
from kpi_targets as k
left join units as u on u.code = k.unit
where
    k.unit = 'any'
    or starts_with((select path from units where code = $unit), u.path)
qualify row_number() over (partition by k.kpi order by coalesce(length(u.path), 0) desc) = 1
order by k.kpi
