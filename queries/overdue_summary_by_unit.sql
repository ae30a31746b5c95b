-- one row per unit with findings overdue at the as-of date (each finding under its own unit), most first:
-- how many, the oldest's days overdue, and their share of all overdue findings in the filters
with overdue as (
    select unit, days_overdue
    from nonconformity_terms_in_scope($filters)
    where is_overdue
),

counted as (
    select
        unit,
        count(*) as overdue,
        max(days_overdue) as oldest_days_overdue,
    from overdue
    group by unit
)

select
    c.unit,
    u.name as unit_name,
    c.overdue,
    c.oldest_days_overdue,
    c.overdue / (select count(*) from overdue) as share,
from counted as c
join units as u on u.code = c.unit
order by c.overdue desc, c.oldest_days_overdue desc, c.unit
