-- one row per (duration in days): findings opened in the period that closed then (events) or were still open then (censored)
with opened as (
    from nonconformity_terms_in_scope($filters)
    where in_period(found_on, $since, $until)
        and found_on <= $as_of
)

select
    days_observed as duration,
    count(*) filter (where closed_on <= $as_of) as events,
    count(*) as exits,
from opened
group by all
order by duration
