-- findings_refresh: every finding of $units (all when null) with its unit's path, its criterion's category and the kept window's repeat flags as the store now has them; their actions, and actions written without their finding's id, with its id and scope columns
update nonconformities as n
set
    unit_path = f.unit_path,
    category = f.category,
    is_repeat_365 = f.is_repeat,
    is_repeat_after_closure_365 = f.is_repeat_after_closure,
from (
    select
        x.id,
        u.path as unit_path,
        c.category,
        coalesce(r.is_repeat, false) as is_repeat,
        coalesce(r.is_repeat_after_closure, false) as is_repeat_after_closure,
    from nonconformities as x
    left join units as u on u.code = x.unit
    left join criteria as c on c.code = x.criterion
    left join repeat_flags(kept_window(), $units::varchar[]) as r on r.nonconformity = x.id
    where $units is null or list_contains($units, x.unit)
) as f
where n.id = f.id
    and (
        n.unit_path is distinct from f.unit_path
        or n.category is distinct from f.category
        or n.is_repeat_365 <> f.is_repeat
        or n.is_repeat_after_closure_365 <> f.is_repeat_after_closure
    );

-- an action written without its finding's id: the id and the finding's scope columns
update actions as a
set
    nonconformity_id = n.id,
    nc_unit_path = n.unit_path,
    nc_source = n.source,
    nc_severity = n.severity,
    nc_category = n.category,
from nonconformities as n
where a.nonconformity_id is null
    and n.ref = a.nonconformity;

-- the actions of the findings of $units: their finding's scope columns as it now has them
update actions as a
set
    nc_unit_path = n.unit_path,
    nc_source = n.source,
    nc_severity = n.severity,
    nc_category = n.category,
from nonconformities as n
where n.id = a.nonconformity_id
    and ($units is null or list_contains($units, n.unit))
    and (
        a.nc_unit_path is distinct from n.unit_path
        or a.nc_source is distinct from n.source
        or a.nc_severity is distinct from n.severity
        or a.nc_category is distinct from n.category
    );
