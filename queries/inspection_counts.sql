-- one row: the inspection programme over the period in the filter and scope (rates rounded in closeloop.metrics)
select
    due,
    performed,
    performed_rate,
    overdue,
    coverage,
    score,
    unlinked_failures,
from inspection_programme($as_of, $since, $until, $unit, $scope)
