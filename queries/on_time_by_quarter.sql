-- one row per quarter of the period: findings closed in it, how many of them had a due date and how many
-- were closed by it; the rate is over those with a due date (null where none had one); partial: the period
-- or the as-of date cuts the quarter short
select
    date_trunc('quarter', closed_on)::date as quarter_start,
    count(*) as closed,
    count(*) filter (where is_closed_on_time) as closed_on_time,
    count(*) filter (where is_closed_with_due_date) as closed_with_due_date,
    count(*) filter (where is_closed_on_time) / nullif(count(*) filter (where is_closed_with_due_date), 0)
        as on_time_rate,
    quarter_start < $since or quarter_start + interval 3 month > least($until, $as_of) + 1 as partial,
from nonconformity_in_scope($filters)
where in_period(closed_on, $since, $until)
group by all
order by quarter_start
