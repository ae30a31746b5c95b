-- one row per open action due soon or overdue as of $as_of, and per open finding in that state that no open action covers: what the day's notices list
select
    'action' as kind,
    a.ref,
    a.nonconformity,
    a.nonconformity_title,
    a.unit,
    a.owner,
    a.due_on,
    a.due_is_default,
    a.due_status,
    a.days_overdue,
from action_due_at($as_of) as a
where a.is_open
    and a.due_status in ('due_soon', 'overdue')

union all

select
    'nonconformity' as kind,
    n.ref,
    n.ref as nonconformity,
    n.title as nonconformity_title,
    n.unit,
    null as owner,
    n.due_on,
    n.due_is_default,
    n.due_status,
    n.days_overdue,
from nonconformity_due_at($as_of) as n
where n.open_actions = 0
    and n.due_status in ('due_soon', 'overdue')
order by days_overdue desc, due_on, ref
