-- one row per action open at $as_of on a finding in view and due within the $days days from $as_of (that day included), soonest first: the first $limit, each with how many there are
with due as not materialized (
    select a.*
    from action_in_scope($filters) as a
    where is_due_within(a.is_open, a.due_on, $as_of, $days)
),

listed as (
    select *, (select count(*) from due) as rows_in_view,
    from due
    order by due_on, ref
    limit $limit
)

select
    a.ref,
    n.* exclude (nonconformity_id),
    a.owner,
    a.description,
    a.due_on,
    a.due_on - $as_of as days_left,
    a.rows_in_view,
from listed as a
join action_nonconformity((select list(nonconformity_id) from listed)) as n
    on n.nonconformity_id = a.nonconformity_id
order by a.due_on, a.ref
