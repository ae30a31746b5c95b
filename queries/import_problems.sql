-- one row per (file, row, column) of a staged ledger that cannot be stored, with the reason's catalog key
with recursive known_units as (
    select code from staged_units where code is not null
    union
    select code from units
),

known_criteria as (
    select code from staged_criteria where code is not null
    union
    select code from criteria
),

known_nonconformities as (
    select ref from staged_nonconformities where ref is not null
    union
    select ref from nonconformities
),

-- every unit's parent after the import: a unit that no root reaches sits in a cycle
merged_units as (
    select code, parent from staged_units where code is not null
    union all
    select code, parent_code from units where code not in (select code from staged_units where code is not null)
),

reachable as (
    select code from merged_units where parent is null
    union
    select m.code from merged_units as m join reachable as r on m.parent = r.code
),

cells as (
    unpivot (
        select 'units' as kind, file, row_no, columns(* exclude (file, row_no)) from staged_units
    ) on columns(* exclude (kind, file, row_no)) into name col value val
    union all by name
    unpivot (
        select 'criteria' as kind, file, row_no, columns(* exclude (file, row_no)) from staged_criteria
    ) on columns(* exclude (kind, file, row_no)) into name col value val
    union all by name
    unpivot (
        select 'nonconformities' as kind, file, row_no, columns(* exclude (file, row_no)) from staged_nonconformities
    ) on columns(* exclude (kind, file, row_no)) into name col value val
    union all by name
    unpivot (
        select 'actions' as kind, file, row_no, columns(* exclude (file, row_no)) from staged_actions
    ) on columns(* exclude (kind, file, row_no)) into name col value val
),

problems as (
    select file, row_no, col, val, 'formula' as reason
    from cells
    where starts_with(val, '=')

    -- required values
    union all
    select file, row_no, 'code', null, 'missing' from staged_units where code is null
    union all
    select file, row_no, 'name', null, 'missing' from staged_units where name is null
    union all
    select file, row_no, 'code', null, 'missing' from staged_criteria where code is null
    union all
    select file, row_no, 'title', null, 'missing' from staged_criteria where title is null
    union all
    select file, row_no, 'category', null, 'missing' from staged_criteria where category is null
    union all
    select s.file, s.row_no, r.col, null, 'missing'
    from staged_nonconformities as s
    cross join lateral (
        values ('ref', s.ref), ('unit', s.unit), ('source', s.source), ('severity', s.severity),
            ('title', s.title), ('found_on', s.found_on)
    ) as r (col, val)
    where r.val is null
    union all
    select s.file, s.row_no, r.col, null, 'missing'
    from staged_actions as s
    cross join lateral (values ('ref', s.ref), ('nc_ref', s.nc_ref), ('kind', s.kind)) as r (col, val)
    where r.val is null

    -- duplicate keys within the import
    union all
    select file, row_no, 'code', code, 'duplicate_key'
    from staged_units qualify count(*) over (partition by code) > 1 and code is not null
    union all
    select file, row_no, 'code', code, 'duplicate_key'
    from staged_criteria qualify count(*) over (partition by code) > 1 and code is not null
    union all
    select file, row_no, 'ref', ref, 'duplicate_key'
    from staged_nonconformities qualify count(*) over (partition by ref) > 1 and ref is not null
    union all
    select file, row_no, 'ref', ref, 'duplicate_key'
    from staged_actions qualify count(*) over (partition by ref) > 1 and ref is not null

    -- references
    union all
    select file, row_no, 'parent', parent, 'unknown_unit'
    from staged_units where parent is not null and parent not in (select code from known_units)
    union all
    select file, row_no, 'parent', parent, 'unit_cycle'
    from staged_units
    where code is not null and parent in (select code from known_units)
        and code not in (select code from reachable)
    union all
    select file, row_no, 'unit', unit, 'unknown_unit'
    from staged_nonconformities where unit is not null and unit not in (select code from known_units)
    union all
    select file, row_no, 'criterion', criterion, 'unknown_criterion'
    from staged_nonconformities
    where criterion is not null and criterion not in (select code from known_criteria)
    union all
    select file, row_no, 'nc_ref', nc_ref, 'unknown_nonconformity'
    from staged_actions where nc_ref is not null and nc_ref not in (select ref from known_nonconformities)

    -- values
    union all
    select s.file, s.row_no, c.col, c.val, c.reason
    from staged_nonconformities as s
    join typed_nonconformities as t using (file, row_no)
    cross join lateral (
        values
            ('source', s.source, case when s.source is not null and t.source is null then 'unknown_value' end),
            ('severity', s.severity, case when s.severity is not null and t.severity is null then 'unknown_value' end),
            ('status', s.status, case when t.status is null then 'unknown_value' end),
            ('found_on', s.found_on, case when s.found_on is not null and t.found_on is null then 'not_a_date' end),
            ('due_on', s.due_on, case when s.due_on is not null and t.due_on is null then 'not_a_date' end),
            ('closed_on', s.closed_on, case when s.closed_on is not null and t.closed_on is null then 'not_a_date' end),
            ('closed_on', s.closed_on, case when t.closed_on < t.found_on then 'closed_before_found' end),
            ('closed_on', s.closed_on, case when t.status = 'closed' and s.closed_on is null then 'closed_without_date' end),
            ('status', s.status, case when t.status <> 'closed' and t.closed_on is not null then 'date_without_closure' end)
    ) as c (col, val, reason)
    where c.reason is not null
    union all
    select s.file, s.row_no, c.col, c.val, c.reason
    from staged_actions as s
    join typed_actions as t using (file, row_no)
    cross join lateral (
        values
            ('kind', s.kind, case when s.kind is not null and t.kind is null then 'unknown_value' end),
            ('status', s.status, case when t.status is null then 'unknown_value' end),
            ('due_on', s.due_on, case when s.due_on is not null and t.due_on is null then 'not_a_date' end),
            ('done_on', s.done_on, case when s.done_on is not null and t.done_on is null then 'not_a_date' end),
            ('done_on', s.done_on, case when t.status = 'done' and s.done_on is null then 'done_without_date' end),
            ('status', s.status, case when t.status <> 'done' and t.done_on is not null then 'date_without_done' end)
    ) as c (col, val, reason)
    where c.reason is not null
)

select file, row_no, col, val, reason
from problems
order by file, row_no, col, reason
