-- Business terms, defined once. Re-created on every migration run; every page query reads them.

-- one row per nonconformity with a criterion, of the given units (null: all): is it a repeat within
-- window_days, and after a closure? Pairs never cross units, so a unit's findings are enough.
-- store.refresh_findings keeps the default window's flags on each finding's row.
create or replace macro repeat_flags(window_days, units) as table
select
    id as nonconformity,
    count(*) over earlier > 0 as is_repeat,
    coalesce(min(closed_on) over earlier <= found_on, false) as is_repeat_after_closure,
from nonconformities
where criterion is not null
    and (units is null or list_contains(units, unit))
window earlier as (
    partition by unit, criterion
    order by found_on - date '1970-01-01'
    range between window_days preceding and 1 preceding
);

-- the window whose repeat flags each finding keeps on its row (is_repeat_365, is_repeat_after_closure_365)
create or replace macro kept_window() as 365;

-- one row per unit below (and including) root; a null root means the whole organisation
create or replace macro unit_subtree(root) as table
select code
from units
where root is null
    or starts_with(path, (select path from units where code = root));

-- the unit one level below root on the way to a unit (below the top unit when root is null);
-- root itself for a finding recorded on root
create or replace macro child_below(unit_path, root) as
    coalesce(
        string_split(trim(unit_path, '/'), '/')[coalesce((select depth from units where code = root), 0) + 2],
        coalesce(root, string_split(trim(unit_path, '/'), '/')[1])
    );

-- one row per nonconformity: the metric contract's terms as of a date, all but the repeat flags of a
-- chosen window. unit_path and category are kept on the row (store.refresh_findings): no join.
create or replace macro nonconformity_terms(as_of) as table
select
    n.*,
    n.found_on <= as_of and (n.closed_on is null or n.closed_on > as_of) as is_open,
    is_open and coalesce(n.due_on < as_of, false) as is_overdue,
    case when is_open then as_of - n.found_on end as age_days,
    n.closed_on - n.found_on as days_to_close,
    coalesce(n.closed_on <= n.due_on, false) as is_closed_on_time,
    -- a closure with no due date is neither on time nor late: the on-time rate is over these only
    n.closed_on is not null and n.due_on is not null as is_closed_with_due_date,
from nonconformities as n;

-- one row per nonconformity: the metric contract's terms as of a date, with the repeat flags for a
-- window: the kept ones for the default window, else those cached in `repeats` (store.ensure_repeats).
-- For the default window the join's condition is false once the window is bound, and DuckDB drops it.
create or replace macro nonconformity_at(as_of, window_days) as table
select
    n.* exclude (is_repeat_365, is_repeat_after_closure_365),
    if(window_days = kept_window(), n.is_repeat_365, coalesce(r.is_repeat, false)) as is_repeat,
    if(window_days = kept_window(), n.is_repeat_after_closure_365, coalesce(r.is_repeat_after_closure, false))
        as is_repeat_after_closure,
from nonconformity_terms(as_of) as n
left join repeats as r
    on window_days <> kept_window() and r.window_days = window_days and r.nonconformity = n.id;

-- is a finding (by its unit's path, source, severity, category) within the unit filter, the viewer's
-- scope and the other filters? A subtree is every unit whose path starts with its root's path.
create or replace macro is_in_scope(
    unit_path, source, severity, category, unit, sources, severities, categories, scope
) as
    (unit is null or starts_with(unit_path, (select path from units where code = unit)))
    and (scope is null or starts_with(unit_path, (select path from units where code = scope)))
    and (len(sources) = 0 or list_contains(sources, source::varchar))
    and (len(severities) = 0 or list_contains(severities, severity::varchar))
    and (len(categories) = 0 or list_contains(categories, category));

-- one row per nonconformity the viewer may see and the filters select
create or replace macro nonconformity_in_scope(
    as_of, window_days, unit, sources, severities, categories, scope
) as table
select n.*
from nonconformity_at(as_of, window_days) as n
where is_in_scope(n.unit_path, n.source, n.severity, n.category, unit, sources, severities, categories, scope);

-- the same without the repeat flags of a chosen window, for queries that do not read them (a window
-- other than the kept one costs a join)
create or replace macro nonconformity_terms_in_scope(
    as_of, unit, sources, severities, categories, scope
) as table
select n.*
from nonconformity_terms(as_of) as n
where is_in_scope(n.unit_path, n.source, n.severity, n.category, unit, sources, severities, categories, scope);

-- one row per action with the terms as of a date. An action cannot exist before its finding: it is open
-- at as_of only once its finding was found (found_on <= as_of), so an as-of inside the store's history
-- (a review's "before" column) does not count the actions of findings found later. The join is to the
-- findings found after as_of, not to every finding: few or none for a recent as_of, and a scan that skips
-- most of a store kept roughly in the order found.
create or replace macro action_at(as_of) as table
select
    a.* exclude (not_yet_found),
    a.not_yet_found is null
        and a.status <> 'cancelled'
        and (a.done_on is null or a.done_on > as_of) as is_open,
    is_open and coalesce(a.due_on < as_of, false) as is_overdue,
from (
    select a.*, later.id as not_yet_found,
    from actions as a
    left join (select id from nonconformities where found_on > as_of) as later on later.id = a.nonconformity_id
) as a;

-- one row per action on a finding the viewer may see and the filters select, with the terms as of a date;
-- each action carries its finding's scope columns (nc_*), so no join is needed
create or replace macro action_in_scope(as_of, unit, sources, severities, categories, scope) as table
select a.*
from action_at(as_of) as a
where is_in_scope(a.nc_unit_path, a.nc_source, a.nc_severity, a.nc_category, unit, sources, severities, categories, scope);

-- one row per nonconformity the filters select, with how it changed after previous_as_of up to as_of:
-- found, closed, became overdue (overdue at as_of, not at previous_as_of), reopened (a status event away
-- from closed, by the day it was recorded, UTC), or found as a repeat
create or replace macro nonconformity_changes(
    previous_as_of, as_of, window_days, unit, sources, severities, categories, scope
) as table
with reopened as (
    select distinct ref
    from events
    where entity = 'nonconformity'
        and field = 'status'
        and old = 'closed'
        and new <> 'closed'
        and timezone('UTC', "at")::date > previous_as_of
        and timezone('UTC', "at")::date <= as_of
)

select
    n.*,
    n.found_on > previous_as_of and n.found_on <= as_of as is_new,
    coalesce(n.closed_on > previous_as_of and n.closed_on <= as_of, false) as is_closed_since,
    n.is_overdue and not coalesce(before.is_overdue, false) as is_newly_overdue,
    n.ref in (select ref from reopened) as is_reopened,
    n.found_on > previous_as_of and n.found_on <= as_of and n.is_repeat as is_new_repeat,
from nonconformity_in_scope(as_of, window_days, unit, sources, severities, categories, scope) as n
left join nonconformity_terms(previous_as_of) as before on before.id = n.id;
