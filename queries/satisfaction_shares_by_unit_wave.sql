-- one row per (unit, wave) with answers in the period, filter and scope: the satisfied and dissatisfied shares
select
    a.unit,
    a.wave,
    count(*) filter (where a.is_satisfied) / count(*) as satisfied_share,
    count(*) filter (where a.is_dissatisfied) / count(*) as dissatisfied_share,
from survey_answer_in_scope($as_of, $since, $until, $unit, $scope) as a
group by a.unit, a.wave
order by a.unit, a.wave
