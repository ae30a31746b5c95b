-- findings_refresh: every finding of $units (all when null) with its unit's path, its criterion's category, the kept window's repeat flags and its actions' counts as the store now has them; actions written without their finding's id with it, and the actions of those findings with their scope columns
-- In this order: an action's finding id first (the counts group by it), the findings next, their actions' copies of the findings' scope columns last.

-- an action written without its finding's id: the id (its finding's scope columns come last, as its finding's other
-- actions' do: the finding's unit is among $units)
update actions as a
set nonconformity_id = n.id
from nonconformities as n
where a.nonconformity_id is null
    and n.ref = a.nonconformity;

-- the findings of $units: their unit's path, their criterion's category, the kept window's repeat flags and
-- what they carry of their actions (schema 007 and 008), rewritten only where one of them changed
update nonconformities as n
set
    unit_path = f.unit_path,
    category = f.category,
    is_repeat_365 = f.is_repeat,
    is_repeat_after_closure_365 = f.is_repeat_after_closure,
    action_count = f.actions,
    owned_action_count = f.owned,
    undocumented_done_count = f.undocumented,
    unsettled_action_count = f.unsettled,
    first_action_done_on = f.first_done_on,
    last_action_done_on = f.last_done_on,
from (
    select
        x.id,
        u.path as unit_path,
        c.category,
        coalesce(r.is_repeat, false) as is_repeat,
        coalesce(r.is_repeat_after_closure, false) as is_repeat_after_closure,
        coalesce(a.actions, 0) as actions,
        coalesce(a.owned, 0) as owned,
        coalesce(a.undocumented, 0) as undocumented,
        coalesce(a.unsettled, 0) as unsettled,
        a.first_done_on,
        a.last_done_on,
    from nonconformities as x
    left join units as u on u.code = x.unit
    left join criteria as c on c.code = x.criterion
    left join repeat_flags(kept_window(), $units::varchar[]) as r on r.nonconformity = x.id
    left join (
        select
            nonconformity_id,
            count(*)::integer as actions,
            count(owner)::integer as owned,
            (count(*) filter (where status = 'done' and evidence is null))::integer as undocumented,
            (count(*) filter (where status not in ('done', 'cancelled')))::integer as unsettled,
            min(done_on) as first_done_on,
            max(done_on) as last_done_on,
        from actions
        where $units is null
            or nonconformity_id in (select id from nonconformities where list_contains($units, unit))
        group by nonconformity_id
    ) as a on a.nonconformity_id = x.id
    where $units is null or list_contains($units, x.unit)
) as f
where n.id = f.id
    and (
        n.unit_path is distinct from f.unit_path
        or n.category is distinct from f.category
        or n.is_repeat_365 <> f.is_repeat
        or n.is_repeat_after_closure_365 <> f.is_repeat_after_closure
        or n.action_count <> f.actions
        or n.owned_action_count <> f.owned
        or n.undocumented_done_count <> f.undocumented
        or n.unsettled_action_count <> f.unsettled
        or n.first_action_done_on is distinct from f.first_done_on
        or n.last_action_done_on is distinct from f.last_done_on
    );

-- the actions of the findings of $units: their finding's scope columns as it now has them
update actions as a
set (nc_unit_path, nc_source, nc_severity, nc_category, nc_found_on) =
    (n.unit_path, n.source, n.severity, n.category, n.found_on)
from nonconformities as n
where n.id = a.nonconformity_id
    and ($units is null or list_contains($units, n.unit))
    and (
        a.nc_unit_path is distinct from n.unit_path
        or a.nc_source is distinct from n.source
        or a.nc_severity is distinct from n.severity
        or a.nc_category is distinct from n.category
        or a.nc_found_on is distinct from n.found_on
    );
