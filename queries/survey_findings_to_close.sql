-- one row per open finding a dissatisfied (unit, wave, item) raised, in the scope, that the first later wave
-- with a mean of 3 or more for the same unit and item closes: the evidence's wave, mean and last answer day
with later as (
    select
        f.nonconformity,
        m.wave as evidence_wave,
        m.mean_score as evidence_mean,
        m.wave_ended_on as evidence_on,
        row_number() over (partition by f.nonconformity order by m.wave_began_on, m.wave) as nth,
    from survey_item_findings as f
    join survey_item_means() as raised on raised.unit = f.unit and raised.wave = f.wave and raised.item = f.item
    join survey_item_means() as m
        on m.unit = f.unit and m.item = f.item and m.wave_began_on > raised.wave_ended_on
    where m.mean_score >= 3
)

select
    n.ref,
    n.unit,
    later.evidence_wave,
    later.evidence_mean,
    later.evidence_on,
from later
join nonconformities as n on n.ref = later.nonconformity
where later.nth = 1
    and n.status <> 'closed'
    and n.unit in (select code from unit_subtree($scope))
order by n.ref
