-- one row: for findings closed in the period whose actions were all done or cancelled, the median days of each phase
-- (what a finding's actions settled to is kept on its row: schema 008)
with settled as (
    from nonconformity_in_scope($filters)
    where in_period(closed_on, $since, $until)
        and unsettled_action_count = 0
        and first_action_done_on is not null
)

select
    count(*) as findings,
    median(first_action_done_on - found_on) as found_to_first_action,
    median(last_action_done_on - first_action_done_on) as first_to_last_action,
    median(closed_on - last_action_done_on) as last_action_to_verified,
    median(days_to_close) as found_to_verified,
from settled
