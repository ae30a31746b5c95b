-- one row per (unit, wave) with answers in the period, filter and scope: index and its interval's parts
select
    s.unit,
    u.name,
    s.wave,
    s.answers,
    s.index,
    s.respondents,
    s.respondent_mean,
    s.respondent_sd,
from satisfaction_by_unit_wave($as_of, $since, $until, $unit, $scope) as s
join units as u on u.code = s.unit
order by u.path, s.wave
