-- one row per days-to-close value among findings closed in the period: how many took exactly that long
select
    days_to_close,
    count(*) as closed,
from nonconformity_in_scope($filters)
where in_period(closed_on, $since, $until)
group by days_to_close
order by days_to_close
