-- one row per (file, sheet, row, column) of a staged ledger that cannot be stored, with the reason's catalog key
with recursive merged_units as (
    -- every unit's parent after the import: a unit that no root reaches sits in a cycle
    select code, parent from typed_units where code is not null
    union all
    select code, parent_code from units where code not in (select code from staged_units where code is not null)
),

reachable as (
    select code from merged_units where parent is null
    union
    select m.code from merged_units as m join reachable as r on m.parent = r.code
),

known_nonconformities as (
    select ref from staged_nonconformities where ref is not null
    union
    select ref from nonconformities
),

-- only the rows with a cell that starts like a formula are unpivoted: most rows have none
cells as (
    unpivot (
        select file, sheet, row_no, columns(* exclude (file, sheet, row_no)) from staged_units
        where list_bool_or(list_transform(list_value(*columns(* exclude (file, sheet, row_no))), lambda x: starts_with(x, '=')))
    ) on columns(* exclude (file, sheet, row_no)) into name col value val
    union all by name
    unpivot (
        select file, sheet, row_no, columns(* exclude (file, sheet, row_no)) from staged_criteria
        where list_bool_or(list_transform(list_value(*columns(* exclude (file, sheet, row_no))), lambda x: starts_with(x, '=')))
    ) on columns(* exclude (file, sheet, row_no)) into name col value val
    union all by name
    unpivot (
        select file, sheet, row_no, columns(* exclude (file, sheet, row_no)) from staged_nonconformities
        where list_bool_or(list_transform(list_value(*columns(* exclude (file, sheet, row_no))), lambda x: starts_with(x, '=')))
    ) on columns(* exclude (file, sheet, row_no)) into name col value val
    union all by name
    unpivot (
        select file, sheet, row_no, columns(* exclude (file, sheet, row_no)) from staged_actions
        where list_bool_or(list_transform(list_value(*columns(* exclude (file, sheet, row_no))), lambda x: starts_with(x, '=')))
    ) on columns(* exclude (file, sheet, row_no)) into name col value val
),

problems as (
    select distinct file, sheet, row_no, col, val, 'formula' as reason
    from cells
    where starts_with(val, '=')

    -- required values
    union all
    select file, sheet, row_no, 'code', null, 'missing' from staged_units where code is null
    union all
    select file, sheet, row_no, 'name', null, 'missing' from staged_units where name is null
    union all
    select file, sheet, row_no, 'code', null, 'missing' from staged_criteria where code is null
    union all
    select file, sheet, row_no, 'title', null, 'missing' from staged_criteria where title is null
    union all
    select file, sheet, row_no, 'category', null, 'missing' from staged_criteria where category is null
    union all
    select s.file, s.sheet, s.row_no, r.col, null, 'missing'
    from staged_nonconformities as s
    cross join lateral (
        values ('ref', s.ref), ('unit', s.unit), ('source', s.source), ('severity', s.severity),
            ('title', s.title), ('found_on', s.found_on)
    ) as r (col, val)
    where r.val is null
    union all
    select s.file, s.sheet, s.row_no, r.col, null, 'missing'
    from staged_actions as s
    cross join lateral (values ('ref', s.ref), ('nc_ref', s.nc_ref), ('kind', s.kind)) as r (col, val)
    where r.val is null

    -- duplicate keys within the import
    union all
    select file, sheet, row_no, 'code', code, 'duplicate_key'
    from staged_units qualify count(*) over (partition by code) > 1 and code is not null
    union all
    select file, sheet, row_no, 'code', code, 'duplicate_key'
    from staged_criteria qualify count(*) over (partition by code) > 1 and code is not null
    union all
    select file, sheet, row_no, 'ref', ref, 'duplicate_key'
    from staged_nonconformities qualify count(*) over (partition by ref) > 1 and ref is not null
    union all
    select file, sheet, row_no, 'ref', ref, 'duplicate_key'
    from staged_actions qualify count(*) over (partition by ref) > 1 and ref is not null

    -- a finding's later row in a ledger sheet that says something else than its first row
    union all
    select file, sheet, row_no, col, val, 'conflicting_value'
    from ledger_conflicts

    -- references, by code or by name
    union all
    select s.file, s.sheet, s.row_no, 'parent', s.parent, 'unknown_unit'
    from staged_units as s
    join typed_units as t using (file, sheet, row_no)
    where s.parent is not null and t.parent is null
    union all
    select file, sheet, row_no, 'parent', parent, 'unit_cycle'
    from typed_units
    where code is not null and parent is not null and code not in (select code from reachable)
    union all
    select s.file, s.sheet, s.row_no, 'unit', s.unit, 'unknown_unit'
    from staged_nonconformities as s
    join typed_nonconformities as t using (file, sheet, row_no)
    where s.unit is not null and t.unit is null
    union all
    select s.file, s.sheet, s.row_no, 'criterion', s.criterion, 'unknown_criterion'
    from staged_nonconformities as s
    join typed_nonconformities as t using (file, sheet, row_no)
    where s.criterion is not null and t.criterion is null
    union all
    select file, sheet, row_no, 'nc_ref', nc_ref, 'unknown_nonconformity'
    from staged_actions where nc_ref is not null and nc_ref not in (select ref from known_nonconformities)

    -- values
    union all
    select s.file, s.sheet, s.row_no, c.col, c.val, c.reason
    from staged_nonconformities as s
    join typed_nonconformities as t using (file, sheet, row_no)
    cross join lateral (
        values
            ('source', s.source, case when s.source is not null and t.source is null then 'unknown_value' end),
            ('severity', s.severity, case when s.severity is not null and t.severity is null then 'unknown_value' end),
            ('status', s.status, case when t.status is null then 'unknown_value' end),
            ('found_on', s.found_on, case when t.found_on is null and s.found_on is not null then case when not ledger_date_ambiguous(s.found_on) then 'not_a_date' end end),
            ('due_on', s.due_on, case when t.due_on is null and s.due_on is not null then case when not ledger_date_ambiguous(s.due_on) then 'not_a_date' end end),
            ('closed_on', s.closed_on, case when t.closed_on is null and s.closed_on is not null then case when not ledger_date_ambiguous(s.closed_on) then 'not_a_date' end end),
            ('found_on', s.found_on, case when t.found_on is null and s.found_on is not null then case when ledger_date_ambiguous(s.found_on) then 'ambiguous_date' end end),
            ('due_on', s.due_on, case when t.due_on is null and s.due_on is not null then case when ledger_date_ambiguous(s.due_on) then 'ambiguous_date' end end),
            ('closed_on', s.closed_on, case when t.closed_on is null and s.closed_on is not null then case when ledger_date_ambiguous(s.closed_on) then 'ambiguous_date' end end),
            ('closed_on', s.closed_on, case when t.closed_on < t.found_on then 'closed_before_found' end),
            ('closed_on', s.closed_on, case when t.status = 'closed' and s.closed_on is null then 'closed_without_date' end),
            ('status', s.status, case when t.status <> 'closed' and t.closed_on is not null then 'date_without_closure' end)
    ) as c (col, val, reason)
    where c.reason is not null
    union all
    select s.file, s.sheet, s.row_no, c.col, c.val, c.reason
    from staged_actions as s
    join typed_actions as t using (file, sheet, row_no)
    cross join lateral (
        values
            ('kind', s.kind, case when s.kind is not null and t.kind is null then 'unknown_value' end),
            ('status', s.status, case when t.status is null then 'unknown_value' end),
            ('due_on', s.due_on, case when t.due_on is null and s.due_on is not null then case when not ledger_date_ambiguous(s.due_on) then 'not_a_date' end end),
            ('done_on', s.done_on, case when t.done_on is null and s.done_on is not null then case when not ledger_date_ambiguous(s.done_on) then 'not_a_date' end end),
            ('due_on', s.due_on, case when t.due_on is null and s.due_on is not null then case when ledger_date_ambiguous(s.due_on) then 'ambiguous_date' end end),
            ('done_on', s.done_on, case when t.done_on is null and s.done_on is not null then case when ledger_date_ambiguous(s.done_on) then 'ambiguous_date' end end),
            ('done_on', s.done_on, case when t.status = 'done' and s.done_on is null then 'done_without_date' end),
            ('status', s.status, case when t.status <> 'done' and t.done_on is not null then 'date_without_done' end)
    ) as c (col, val, reason)
    where c.reason is not null
)

select file, sheet, row_no, col, val, reason
from problems
order by file, sheet nulls first, row_no, col, reason
