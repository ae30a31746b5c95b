-- one row per action behind a KPI card: the filters narrowed by the drill's conditions (open, overdue; false = any), most overdue first; the first $limit, each with how many the drill holds
with listed as (
    from actions_first($filters, (not $drill_open or a.is_open) and (not $drill_overdue or a.is_overdue), $limit)
)

select
    r.* exclude (nonconformity_title, done_on, is_overdue),
    a.rows_in_view,
from listed as a
join action_row($as_of, (select list(nonconformity_id) from listed)) as r on r.ref = a.ref
order by a.days_overdue desc nulls last, a.due_on nulls last, a.ref
