-- one row per (earlier finding, later finding that repeated it) among repeats opened in the period, in time order; $chain_unit / $chain_criterion narrow it (null = any)
with later as (
    from nonconformity_in_scope($filters)
    where in_period(found_on, $since, $until)
        and is_repeat
        and ($chain_criterion is null or criterion = $chain_criterion)
        and ($chain_unit is null or unit in (select code from unit_subtree($chain_unit)))
)

select
    b.unit,
    b.criterion,
    a.ref as earlier_ref,
    a.found_on as earlier_found_on,
    a.closed_on as earlier_closed_on,
    b.ref as later_ref,
    b.found_on as later_found_on,
    b.found_on - a.found_on as days_between,
    coalesce(a.closed_on <= b.found_on, false) as after_closure,
    b.title as later_title,
from later as b
join nonconformities as a
    on a.unit = b.unit
    and a.criterion = b.criterion
    and a.found_on < b.found_on
    and b.found_on - a.found_on <= $window_days
order by b.unit, b.criterion, a.found_on, b.found_on
limit $limit
