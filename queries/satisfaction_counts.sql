-- one row: the survey answers of the period in the filter and scope, their index and shares
select
    answers,
    index,
    satisfied_share,
    dissatisfied_share,
from satisfaction_summary($as_of, $since, $until, $unit, $scope)
