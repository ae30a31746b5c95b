-- one row per month of the period: findings opened and closed in it, the open backlog at its end, and whether
-- the period or the as-of date cuts the month short (a partial month, drawn as such)
with scoped as (
    from nonconformity_terms_in_scope($filters)
),

months as (
    select
        month::date as month,
        least(last_day(month), $until, $as_of) as month_end,
    from range(date_trunc('month', $since::date), $until::date + 1, interval 1 month) as r (month)
),

flows as (
    select found_on as on_day, 1 as opened, 0 as closed from scoped
    union all
    select closed_on, 0, 1 from scoped where closed_on is not null
),

daily as (
    select on_day, sum(opened) as opened, sum(closed) as closed
    from flows
    group by on_day
)

select
    m.month,
    coalesce(sum(d.opened) filter (where d.on_day between greatest(m.month, $since) and m.month_end), 0) as opened,
    coalesce(sum(d.closed) filter (where d.on_day between greatest(m.month, $since) and m.month_end), 0) as closed,
    coalesce(sum(d.opened - d.closed) filter (where d.on_day <= m.month_end), 0) as backlog,
    m.month < $since or m.month_end < last_day(m.month) as partial,
from months as m
left join daily as d on d.on_day <= m.month_end
group by m.month, m.month_end
order by m.month
