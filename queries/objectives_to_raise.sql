-- one row per missed objective of as_of's year in the scope that has raised no nonconformity yet
select
    o.unit,
    o.year,
    o.code,
    o.name,
    o.owner,
    o.value,
    o.target_to_date,
    o.attainment,
    objective_finding_ref(o.unit, o.year, o.code) as finding_ref,
from objective_in_scope($as_of, null, $scope) as o
anti join nonconformities as n on n.ref = objective_finding_ref(o.unit, o.year, o.code)
where o.status = 'missed'
order by o.unit_path, o.code
