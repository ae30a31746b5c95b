-- one row per (unit, wave, item) in the scope whose mean score is below 3 and that has raised no nonconformity yet
select
    m.unit,
    m.wave,
    m.item,
    m.answers,
    m.mean_score,
    m.wave_began_on,
    m.wave_ended_on,
from survey_item_means() as m
anti join survey_item_findings as f on f.unit = m.unit and f.wave = m.wave and f.item = m.item
where m.is_dissatisfied_item
    and m.unit in (select code from unit_subtree($scope))
order by m.unit, m.wave_began_on, m.item
