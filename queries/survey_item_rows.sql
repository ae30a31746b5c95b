-- one row per (unit, wave, item) answered in the period, filter and scope: its mean score and the finding it raised
with answered as (
    select distinct a.unit as answer_unit, a.wave, a.unit_path
    from survey_answer_in_scope($as_of, $since, $until, $unit, $scope) as a
)

select
    m.unit,
    u.name as unit_name,
    m.wave,
    m.item,
    m.answers,
    m.mean_score,
    m.is_dissatisfied_item,
    m.wave_ended_on,
    f.nonconformity,
    n.status::varchar as nonconformity_status,
    n.closed_on as nonconformity_closed_on,
from survey_item_means() as m
join answered as w on w.answer_unit = m.unit and w.wave = m.wave
join units as u on u.code = m.unit
left join survey_item_findings as f on f.unit = m.unit and f.wave = m.wave and f.item = m.item
left join nonconformities as n on n.ref = f.nonconformity
order by w.unit_path, m.wave_began_on, m.item
