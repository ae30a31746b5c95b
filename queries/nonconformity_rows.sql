-- one row per finding behind a chart point or a KPI card: the filters narrowed by the drill's conditions (each null or false = any), newest first; the first $limit, each with how many the drill holds
with in_view as not materialized (
    select n.*
    from nonconformity_in_scope($filters) as n
    where ($drill_unit is null or n.unit in (select code from unit_subtree($drill_unit)))
        -- a unit's own findings, not its subtree's: what a bar of findings by unit counted
        and ($drill_own_unit is null or n.unit = $drill_own_unit)
        and ($drill_criterion is null or n.criterion = $drill_criterion)
        -- a finding without a category is counted under '' by the charts of categories
        and ($drill_category is null or coalesce(n.category, '') = $drill_category)
        and ($drill_severity is null or n.severity::varchar = $drill_severity)
        and ($drill_source is null or n.source::varchar = $drill_source)
        and ($drill_found_from is null or n.found_on >= $drill_found_from)
        and ($drill_found_to is null or n.found_on <= $drill_found_to)
        and ($drill_closed_from is null or n.closed_on >= $drill_closed_from)
        and ($drill_closed_to is null or n.closed_on <= $drill_closed_to)
        and ($drill_days_from is null or n.days_to_close >= $drill_days_from)
        and ($drill_days_to is null or n.days_to_close <= $drill_days_to)
        and ($drill_aging is null or (n.is_open and aging_bucket(n.age_days) = $drill_aging))
        and (not $drill_open or n.is_open)
        and (not $drill_overdue or n.is_overdue)
        and (not $drill_repeat or n.is_repeat)
        and (not $drill_closed_with_due_date or n.is_closed_with_due_date)
        and (not $drill_closed_on_time or n.is_closed_on_time)
),

-- the first $limit, and how many the drill holds counted apart (as rectification_actions does)
listed as (
    select *, (select count(*) from in_view) as rows_in_view,
    from in_view
    order by found_on desc, ref
    limit $limit
)

select
    r.* exclude (nonconformity_id),
    n.days_to_close,
    n.age_days,
    n.is_overdue,
    n.is_closed_on_time,
    n.is_repeat,
    n.is_repeat_after_closure,
    n.rows_in_view,
from listed as n
join nonconformity_row((select list(id) from listed)) as r on r.nonconformity_id = n.id
order by n.found_on desc, n.ref
