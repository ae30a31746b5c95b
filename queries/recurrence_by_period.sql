-- one row per month or quarter ($grain) of the period: findings opened, how many were repeats, how many repeated a
-- closed one, and whether the period or the as-of date cuts it short (a partial month or quarter)
select
    date_trunc($grain, found_on)::date as period_start,
    count(*) as opened,
    count(*) filter (where is_repeat) as repeats,
    count(*) filter (where is_repeat_after_closure) as repeats_after_closure,
    count(*) filter (where is_repeat) / count(*) as recurrence_rate,
    count(*) filter (where is_repeat_after_closure) / count(*) as repeat_after_closure_rate,
    period_start < $since
        or period_start + case $grain when 'quarter' then interval 3 month else interval 1 month end
            > least($until, $as_of) + 1 as partial,
from nonconformity_in_scope($filters)
where in_period(found_on, $since, $until)
group by all
order by period_start
