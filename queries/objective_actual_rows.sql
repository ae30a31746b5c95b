-- one row per monthly actual of as_of's year, up to as_of's month, of an objective in the filter and scope
select
    o.unit,
    o.code,
    o.name,
    a.month,
    a.actual,
    a.evidence,
from objective_in_scope($as_of, $unit, $scope) as o
join objective_actuals as a on a.unit = o.unit and a.year = o.year and a.code = o.code
where not a.withdrawn
    and a.month <= month($as_of)
order by o.unit_path, o.code, a.month
