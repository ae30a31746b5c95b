-- one row: the objectives of as_of's year in the filter and scope, by status, and their weighted score
select
    count(status) as with_status,
    count(*) filter (where status = 'met') as met,
    count(*) filter (where status = 'at_risk') as at_risk,
    count(*) filter (where status = 'missed') as missed,
    objective_score(weight, attainment) as score,
from objective_in_scope($as_of, $unit, $scope)
