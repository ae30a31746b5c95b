-- one row: the metric contract's counts for the filters (rates and the median are derived in closeloop.metrics)
with scoped as (
    from nonconformity_terms_in_scope(
        $as_of, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
),

finding_counts as (
    select
        count(*) filter (where is_open) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where found_on between $since and $until) as opened_in_period,
        count(*) filter (where closed_on between $since and $until) as closed_in_period,
        count(*) filter (
            where closed_on between $since and $until and is_closed_on_time
        ) as closed_on_time_in_period,
        count(*) filter (where age_days between 0 and 30) as aging_0_30,
        count(*) filter (where age_days between 31 and 60) as aging_31_60,
        count(*) filter (where age_days between 61 and 90) as aging_61_90,
        count(*) filter (where age_days between 91 and 180) as aging_91_180,
        count(*) filter (where age_days >= 181) as aging_181_plus,
        count(*) filter (where is_open and due_on is null) as no_due_date_open,
    from scoped
),

-- the repeat flags cost a join on ref: fetched for the findings opened in the period only
repeat_counts as (
    select
        count(*) filter (where is_repeat) as repeat_in_period,
        count(*) filter (where is_repeat_after_closure) as repeat_after_closure_in_period,
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
    where found_on between $since and $until
),

-- open actions first: the semi join then probes a fraction of them
action_counts as (
    select
        count(*) as actions_open,
        count(*) filter (where a.is_overdue) as actions_overdue,
    from action_at($as_of) as a
    semi join scoped on scoped.ref = a.nonconformity
    where a.is_open
)

select *
from finding_counts, repeat_counts, action_counts
