-- one row per unit with overdue findings as of the date, most overdue first: its open and overdue counts
with counted as (
    select
        unit,
        count(*) as open,
        count(*) filter (where is_overdue) as overdue,
    from nonconformity_terms_in_scope($filters)
    where is_open
    group by unit
    having count(*) filter (where is_overdue) > 0
)

select
    c.unit,
    u.name,
    label(u.name, u.name_en, $lang) as label,
    c.open,
    c.overdue,
from counted as c
join units as u on u.code = c.unit
order by c.overdue desc, c.open desc, c.unit
limit 10
