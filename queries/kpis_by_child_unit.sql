-- one row per unit one level below the chosen one: the contract's counts for everything at and below it
with scoped as (
    select *, child_below(unit_path, $unit) as child
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
),

findings as (
    select
        child,
        count(*) filter (where is_open) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where found_on between $since and $until) as opened_in_period,
        count(*) filter (where closed_on between $since and $until) as closed_in_period,
        count(*) filter (where closed_on between $since and $until and is_closed_on_time) as closed_on_time_in_period,
        count(*) filter (where found_on between $since and $until and is_repeat) as repeat_in_period,
    from scoped
    group by child
),

late_actions as (
    select s.child, count(*) as actions_overdue
    from action_at($as_of) as a
    join scoped as s on s.ref = a.nonconformity
    where a.is_overdue
    group by s.child
)

select
    f.child as unit,
    u.name,
    coalesce(u.name_en, u.name) as name_en,
    f.open,
    f.overdue,
    f.opened_in_period,
    f.closed_in_period,
    f.closed_on_time_in_period,
    f.repeat_in_period,
    coalesce(l.actions_overdue, 0) as actions_overdue,
from findings as f
join units as u on u.code = f.child
left join late_actions as l on l.child = f.child
order by f.child
