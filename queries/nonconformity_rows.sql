-- one row per finding behind a chart point: the filters narrowed by the drill's conditions (each null = any), newest first
select
    n.ref,
    n.unit,
    u.name as unit_name,
    n.criterion,
    n.title,
    n.source::varchar as source,
    n.severity::varchar as severity,
    n.status::varchar as status,
    n.found_on,
    n.due_on,
    n.closed_on,
    n.days_to_close,
    n.age_days,
    n.is_overdue,
    n.is_repeat,
    n.is_repeat_after_closure,
from nonconformity_in_scope($filters) as n
join units as u on u.code = n.unit
where ($drill_unit is null or n.unit in (select code from unit_subtree($drill_unit)))
    and ($drill_criterion is null or n.criterion = $drill_criterion)
    and ($drill_category is null or n.category = $drill_category)
    and ($drill_severity is null or n.severity::varchar = $drill_severity)
    and ($drill_source is null or n.source::varchar = $drill_source)
    and ($drill_found_from is null or n.found_on >= $drill_found_from)
    and ($drill_found_to is null or n.found_on <= $drill_found_to)
    and ($drill_closed_from is null or n.closed_on >= $drill_closed_from)
    and ($drill_closed_to is null or n.closed_on <= $drill_closed_to)
    and ($drill_days_from is null or n.days_to_close >= $drill_days_from)
    and ($drill_days_to is null or n.days_to_close <= $drill_days_to)
    and (not $drill_open or n.is_open)
    and (not $drill_overdue or n.is_overdue)
    and (not $drill_repeat or n.is_repeat)
order by n.found_on desc, n.ref
limit $limit
