-- one row per (group, duration in days) of findings opened in the period: closed then (events) or still open then (censored); $split names the grouping
with opened as (
    select
        *,
        case $split
            when 'severity' then severity::varchar
            when 'source' then source::varchar
            when 'unit' then child_below(unit_path, $unit)
            when 'quarter' then strftime(date_trunc('quarter', found_on), '%Y-Q') || quarter(found_on)
        end as grp,
    from nonconformity_in_scope($filters)
    where in_period(found_on, $since, $until)
        and found_on <= $as_of
)

select
    grp,
    days_observed as duration,
    count(*) filter (where closed_on <= $as_of) as events,
    count(*) as exits,
from opened
group by all
order by grp, duration
