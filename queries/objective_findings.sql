-- one row per objective of as_of's year in the filter and scope that has raised a nonconformity: the link back
select
    o.unit,
    o.code,
    n.ref as nonconformity,
    n.status::varchar as nonconformity_status,
from objective_in_scope($as_of, $unit, $scope) as o
join nonconformities as n on n.ref = objective_finding_ref(o.unit, o.year, o.code)
order by o.unit_path, o.code
