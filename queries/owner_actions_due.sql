-- one row per action open as of $as_of, with its owner and its due date for notices, soonest first: an owner's calendar
select
    ref,
    owner,
    description,
    nonconformity,
    nonconformity_title,
    unit,
    due_on,
    due_is_default,
from action_due_at($as_of)
where is_open
order by due_on, ref
