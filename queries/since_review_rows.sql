-- one row per finding that changed in the way $change names (new, closed, newly_overdue, reopened, new_repeat) after the last review's as-of date, newest first
with changed as (
    from nonconformity_changes($previous_as_of, $zone, $filters)
    where case $change
        when 'new' then is_new
        when 'closed' then is_closed_since
        when 'newly_overdue' then is_newly_overdue
        when 'reopened' then is_reopened
        when 'new_repeat' then is_new_repeat
        else false
    end
),

owners as (
    select a.nonconformity, string_agg(distinct a.owner, ', ' order by a.owner) as owners
    from action_at($as_of) as a
    where a.is_open and a.nonconformity in (select ref from changed)
    group by a.nonconformity
)

select
    n.ref,
    n.unit,
    u.name as unit_name,
    n.criterion,
    n.title,
    n.source::varchar as source,
    n.severity::varchar as severity,
    n.status::varchar as status,
    n.found_on,
    n.due_on,
    n.closed_on,
    n.days_overdue,
    o.owners,
from changed as n
join units as u on u.code = n.unit
left join owners as o on o.nonconformity = n.ref
order by n.found_on desc, n.ref
limit $limit
