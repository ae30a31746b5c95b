-- one row per (unit one level below the chosen one, criterion) with repeats opened in the period
with by_path as (
    -- counted per unit first: the unit one level below is then found for thousands of rows, not millions
    select
        unit_path,
        criterion,
        count(*) as repeats,
        count(*) filter (where is_repeat_after_closure) as repeats_after_closure,
    from nonconformity_in_scope($filters)
    where in_period(found_on, $since, $until)
        and is_repeat
    group by unit_path, criterion
),

by_child as (
    select
        child_below(unit_path, $unit) as unit,
        criterion,
        sum(repeats)::bigint as repeats,
        sum(repeats_after_closure)::bigint as repeats_after_closure,
    from by_path
    group by all
)

select
    c.unit,
    u.name as unit_name,
    label(u.name, u.name_en, $lang) as unit_label,
    c.criterion,
    k.title as criterion_title,
    label(k.title, k.title_en, $lang) as criterion_label,
    c.repeats,
    c.repeats_after_closure,
from by_child as c
join units as u on u.code = c.unit
join criteria as k on k.code = c.criterion
order by c.repeats desc, c.unit, c.criterion
