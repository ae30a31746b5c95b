-- one row per (duration in days): findings opened in the period that closed then (events) or were still open then (censored)
with opened as (
    from nonconformity_terms_in_scope(
        $as_of, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
    where found_on between $since and $until
        and found_on <= $as_of
)

select
    case when closed_on <= $as_of then days_to_close else $as_of - found_on end as duration,
    count(*) filter (where closed_on <= $as_of) as events,
    count(*) as exits,
from opened
group by all
order by duration
