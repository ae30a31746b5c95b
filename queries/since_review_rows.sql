-- one row per finding that changed in the way $change names (new, closed, newly_overdue, reopened, new_repeat) after the last review's as-of date, newest first: the first $limit, with the owners of its open actions
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

-- the first $limit: their rows and owners are all the list needs
listed as (
    from changed
    order by found_on desc, ref
    limit $limit
)

select
    r.* exclude (nonconformity_id),
    n.days_overdue,
    o.owners,
from listed as n
join nonconformity_row((select list(id) from listed)) as r on r.nonconformity_id = n.id
left join open_action_owners($as_of, (select list(id) from listed)) as o on o.nonconformity_id = n.id
order by n.found_on desc, n.ref
