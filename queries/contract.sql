-- one row: the metric contract's counts for the filters (rates and the median are derived in closeloop.metrics)
-- Each count reads only the findings it needs (open at the date; opened or closed in the period): the
-- store is roughly in the order found, so each filter skips most of it.
with scoped as not materialized (
    from nonconformity_in_scope($filters)
),

open_counts as (
    select
        count(*) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where aging_bucket(age_days) = '0-30') as aging_0_30,
        count(*) filter (where aging_bucket(age_days) = '31-60') as aging_31_60,
        count(*) filter (where aging_bucket(age_days) = '61-90') as aging_61_90,
        count(*) filter (where aging_bucket(age_days) = '91-180') as aging_91_180,
        count(*) filter (where aging_bucket(age_days) = '181+') as aging_181_plus,
        count(*) filter (where due_on is null) as no_due_date_open,
    from scoped
    where is_open
),

period_counts as (
    select
        count(*) filter (where opened) as opened_in_period,
        count(*) filter (where opened and is_repeat) as repeat_in_period,
        count(*) filter (where opened and is_repeat_after_closure) as repeat_after_closure_in_period,
        count(*) filter (where closed) as closed_in_period,
        count(*) filter (where closed and is_closed_on_time) as closed_on_time_in_period,
        count(*) filter (where closed and is_closed_with_due_date) as closed_with_due_date_in_period,
    from (
        select *, in_period(found_on, $since, $until) as opened, in_period(closed_on, $since, $until) as closed,
        from scoped
    )
    where opened or closed
),

action_counts as (
    select
        count(*) as actions_open,
        count(*) filter (where is_overdue) as actions_overdue,
    from action_in_scope($filters)
    where is_open
)

select *
from open_counts, period_counts, action_counts
