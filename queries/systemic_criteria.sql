-- one row per criterion failed in the period: in how many units, out of how many units with any finding, ranked by units
with opened as (
    from nonconformity_in_scope($filters)
    where in_period(found_on, $since, $until)
        and criterion is not null
),

-- counted before the criteria's titles are joined: thirty rows to join, not every finding
by_criterion as (
    select
        criterion,
        count(distinct unit) as units,
        count(*) as findings,
        count(*) filter (where is_repeat) as repeats,
    from opened
    group by criterion
),

totals as (
    select count(distinct unit) as units_with_findings
    from opened
)

select
    b.criterion,
    c.title,
    label(c.title, c.title_en, $lang) as label,
    c.category,
    b.units,
    t.units_with_findings,
    b.units / t.units_with_findings as unit_share,
    b.findings,
    b.repeats,
from by_criterion as b
join criteria as c on c.code = b.criterion
cross join totals as t
order by b.units desc, b.findings desc, b.criterion
