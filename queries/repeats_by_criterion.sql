-- one row per criterion with repeats opened in the period, most first, with the cumulative share of all repeats
with counted as (
    select
        n.criterion,
        any_value(c.title) as title,
        any_value(label(c.title, c.title_en, $lang)) as label,
        count(*) as repeats,
        count(*) filter (where n.is_repeat_after_closure) as repeats_after_closure,
    from nonconformity_in_scope($filters) as n
    join criteria as c on c.code = n.criterion
    where in_period(n.found_on, $since, $until)
        and n.is_repeat
    group by n.criterion
)

select
    *,
    sum(repeats) over (order by repeats desc, criterion rows unbounded preceding) / sum(repeats) over () as cumulative_share,
from counted
order by repeats desc, criterion
