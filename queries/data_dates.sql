-- one row: the first day a finding the viewer may see was found, and the last day anything happened to
-- one (found, closed, or an action of it done); null in a store with none. Due dates are left out: a
-- deadline is a plan, often still ahead, not something that happened.
with seen as (
    select id, found_on, closed_on
    from nonconformities
    where unit in (select code from unit_subtree($scope))
)

select
    (select min(found_on) from seen) as first_on,
    greatest(
        (select max(found_on) from seen),
        (select max(closed_on) from seen),
        (select max(done_on) from actions where nonconformity_id in (select id from seen))
    ) as last_on,
