-- one row per objective of as_of's year in the filter and scope: its terms, for the drill from a score
select
    unit,
    year,
    code,
    name,
    parent,
    measure,
    kind,
    direction,
    target,
    weight,
    owner,
    month,
    value,
    target_to_date,
    attainment,
    status,
from objective_in_scope($as_of, $unit, $scope)
order by unit_path, code
