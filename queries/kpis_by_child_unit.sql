-- one row per unit one level below the chosen one: the contract's counts for everything at and below it
with scoped as not materialized (
    from nonconformity_in_scope($filters)
),

-- counted per unit first: the unit one level below is then found for thousands of rows, not millions.
-- One pass with filtered counts: every finding in scope is read anyway (a unit whose findings all
-- closed before the period still counts, with zeros), and one grouping beats four. Grouped by the
-- unit's code, shorter than its path (5M findings: a third faster), and the path joined after.
by_unit as (
    select
        unit,
        count(*) filter (where is_open) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where in_period(found_on, $since, $until)) as opened_in_period,
        count(*) filter (where in_period(closed_on, $since, $until)) as closed_in_period,
        count(*) filter (where in_period(closed_on, $since, $until) and is_closed_on_time) as closed_on_time_in_period,
        count(*) filter (where in_period(closed_on, $since, $until) and is_closed_with_due_date)
            as closed_with_due_date_in_period,
        count(*) filter (where in_period(found_on, $since, $until) and is_repeat) as repeat_in_period,
    from scoped
    group by unit
),

by_path as (
    select u.path as unit_path, b.* exclude (unit),
    from by_unit as b
    join units as u on u.code = b.unit
),

late_actions as (
    select nc_unit_path as unit_path, count(*) as actions_overdue
    from action_in_scope($filters)
    where is_overdue
    group by nc_unit_path
),

by_child as (
    select
        child_below(p.unit_path, $unit) as child,
        sum(columns(p.* exclude (unit_path)))::bigint,
        coalesce(sum(l.actions_overdue), 0)::bigint as actions_overdue,
    from by_path as p
    left join late_actions as l on l.unit_path = p.unit_path
    group by all
)

select
    c.child as unit,
    u.name,
    label(u.name, u.name_en, $lang) as label,
    c.open,
    c.overdue,
    c.opened_in_period,
    c.closed_in_period,
    c.closed_on_time_in_period,
    c.closed_with_due_date_in_period,
    c.repeat_in_period,
    c.actions_overdue,
from by_child as c
join units as u on u.code = c.child
order by c.child
