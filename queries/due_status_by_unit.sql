-- one row per unit one level below the chosen one with open items: its open findings and open actions (at and below it) in each colour of 三色督办
with findings as (
    select
        n.unit,
        due_status(n.is_open, coalesce(n.due_on, n.found_on + d.finding_days), $as_of, setting_days('due_soon_days'))
            as due_status,
    from nonconformity_terms_in_scope($filters) as n
    join deadline_days() as d on d.severity = n.severity and d.source = n.source
    where n.is_open
),

-- open actions first, then their findings joined: a few of the store's actions, not all of them
actions as (
    select
        n.unit,
        due_status(a.is_open, coalesce(a.due_on, n.found_on + d.action_days), $as_of, setting_days('due_soon_days'))
            as due_status,
    from action_in_scope($filters) as a
    join nonconformities as n on n.id = a.nonconformity_id
    join deadline_days() as d on d.severity = n.severity and d.source = n.source
    where a.is_open
),

-- counted per unit first: the unit one level below is then found for thousands of rows, not millions
by_unit as (
    select
        unit,
        count(*) filter (where kind = 'finding' and due_status = 'on_track') as findings_on_track,
        count(*) filter (where kind = 'finding' and due_status = 'due_soon') as findings_due_soon,
        count(*) filter (where kind = 'finding' and due_status = 'overdue') as findings_overdue,
        count(*) filter (where kind = 'action' and due_status = 'on_track') as actions_on_track,
        count(*) filter (where kind = 'action' and due_status = 'due_soon') as actions_due_soon,
        count(*) filter (where kind = 'action' and due_status = 'overdue') as actions_overdue,
    from (
        select 'finding' as kind, unit, due_status, from findings
        union all
        select 'action' as kind, unit, due_status, from actions
    )
    group by unit
),

by_child as (
    select
        child_below(u.path, $unit) as child,
        sum(columns(b.* exclude (unit)))::bigint,
    from by_unit as b
    join units as u on u.code = b.unit
    group by all
)

select
    c.child as unit,
    u.name,
    label(u.name, u.name_en, $lang) as label,
    c.findings_on_track,
    c.findings_due_soon,
    c.findings_overdue,
    c.actions_on_track,
    c.actions_due_soon,
    c.actions_overdue,
from by_child as c
join units as u on u.code = c.child
order by c.child
