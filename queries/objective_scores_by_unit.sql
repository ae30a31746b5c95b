-- one row per unit with objectives of as_of's year in its subtree: counts by status and the subtree's score
select
    r.unit,
    u.name,
    r.depth,
    r.objectives,
    r.with_status,
    r.met,
    r.at_risk,
    r.missed,
    r.score,
from objective_rollup($as_of, $unit, $scope) as r
join units as u on u.code = r.unit
order by u.path
