-- one row: how many findings changed in each way after the last review's as-of date, up to this one
select
    count(*) filter (where is_new) as new,
    count(*) filter (where is_closed_since) as closed,
    count(*) filter (where is_newly_overdue) as newly_overdue,
    count(*) filter (where is_reopened) as reopened,
    count(*) filter (where is_new_repeat) as new_repeat,
from nonconformity_changes($previous_as_of, $zone, $filters)
