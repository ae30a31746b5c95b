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

-- every date a ledger row gives, as written and as parsed (null where it does not parse)
dates as not materialized (
    select file, sheet, row_no, 'found_on' as col, given_found_on as given, found_on as parsed
    from typed_nonconformities
    union all select file, sheet, row_no, 'due_on', given_due_on, due_on from typed_nonconformities
    union all select file, sheet, row_no, 'closed_on', given_closed_on, closed_on from typed_nonconformities
    union all select file, sheet, row_no, 'due_on', given_due_on, due_on from typed_actions
    union all select file, sheet, row_no, 'done_on', given_done_on, done_on from typed_actions
),

-- every value a ledger row gives that names a record (by code or by name) or one of a column's values, as written
-- and whether nothing matched it, with the reason that is then
lookups as not materialized (
    select file, sheet, row_no, 'parent' as col, given_parent as given, parent is null as unmatched, 'unknown_unit' as reason
        from typed_units
    union all select file, sheet, row_no, 'unit', given_unit, unit is null, 'unknown_unit' from typed_nonconformities
    union all select file, sheet, row_no, 'criterion', given_criterion, criterion is null, 'unknown_criterion' from typed_nonconformities
    union all select file, sheet, row_no, 'source', given_source, source is null, 'unknown_value' from typed_nonconformities
    union all select file, sheet, row_no, 'severity', given_severity, severity is null, 'unknown_value' from typed_nonconformities
    union all select file, sheet, row_no, 'kind', given_kind, kind is null, 'unknown_value' from typed_actions
),

-- every ledger row's status and the date that ends it (a finding's closure, an action's completion), with the
-- reasons a status and that date that do not agree make
statuses as not materialized (
    select
        file, sheet, row_no, given_status, status is null as status_unknown, status = 'closed' as ended,
        'closed_on' as date_col, given_closed_on as given_on, closed_on as ended_on,
        'closed_without_date' as undated_reason, 'date_without_closure' as not_ended_reason,
    from typed_nonconformities
    union all
    select
        file, sheet, row_no, given_status, status is null, status = 'done',
        'done_on', given_done_on, done_on,
        'done_without_date' as undated_reason, 'date_without_done' as not_ended_reason,
    from typed_actions
),

problems as (
    -- required values
    select file, sheet, row_no, 'code' as col, null::varchar as val, 'missing' as reason
    from staged_units where code is null
    union all
    select file, sheet, row_no, 'name', null, 'missing'
    from staged_units where name is null
    union all
    select file, sheet, row_no, 'code', null, 'missing'
    from staged_criteria where code is null
    union all
    select file, sheet, row_no, 'title', null, 'missing'
    from staged_criteria where title is null
    union all
    select file, sheet, row_no, 'category', null, 'missing'
    from staged_criteria where category is null
    union all
    select file, sheet, row_no, 'ref', null, 'missing'
    from staged_nonconformities where ref is null
    union all
    select file, sheet, row_no, 'unit', null, 'missing'
    from staged_nonconformities where unit is null
    union all
    select file, sheet, row_no, 'source', null, 'missing'
    from staged_nonconformities where source is null
    union all
    select file, sheet, row_no, 'severity', null, 'missing'
    from staged_nonconformities where severity is null
    union all
    select file, sheet, row_no, 'title', null, 'missing'
    from staged_nonconformities where title is null
    union all
    select file, sheet, row_no, 'found_on', null, 'missing'
    from staged_nonconformities where found_on is null
    union all
    select file, sheet, row_no, 'ref', null, 'missing'
    from staged_actions where ref is null
    union all
    select file, sheet, row_no, 'nc_ref', null, 'missing'
    from staged_actions where nc_ref is null
    union all
    select file, sheet, row_no, 'kind', null, 'missing'
    from staged_actions where kind is null

    -- duplicate keys within the import: a code or ref that stands twice in the rows of its kind
    union all
    select file, sheet, row_no, col, val, 'duplicate_key'
    from (
        select file, sheet, row_no, 'unit' as kind, 'code' as col, code as val from staged_units
        union all
        select file, sheet, row_no, 'criterion', 'code', code from staged_criteria
        union all
        select file, sheet, row_no, 'nonconformity', 'ref', ref from staged_nonconformities
        union all
        select file, sheet, row_no, 'action', 'ref', ref from staged_actions
    )
    where val is not null
    qualify count(*) over (partition by kind, val) > 1

    -- refs and codes with a character that hides (NUL, bidirectional overrides and isolates): each kind's
    -- columns side by side (by name; the others null), one unpivot over them all, which leaves out the nulls
    union all
    select file, sheet, row_no, col, val, 'hidden_character'
    from (
        unpivot (
            select file, sheet, row_no, code, parent from staged_units
            where ledger_hidden_character(concat(code, parent))
            union all by name
            select file, sheet, row_no, code from staged_criteria
            where ledger_hidden_character(code)
            union all by name
            select file, sheet, row_no, ref, unit, audit, criterion, action_ref from staged_nonconformities
            where ledger_hidden_character(concat(ref, unit, audit, criterion, action_ref))
            union all by name
            select file, sheet, row_no, ref, nc_ref from staged_actions
            where ledger_hidden_character(concat(ref, nc_ref))
        ) on columns(* exclude (file, sheet, row_no)) into name col value val
    )
    where ledger_hidden_character(val)

    -- a finding's later row in a ledger sheet that says something else than its first row
    union all
    select file, sheet, row_no, col, val, 'conflicting_value'
    from ledger_conflicts

    -- references, by code or by name, and values of a column's own, that match nothing (each check one scan of a typed
    -- table, which keeps what the ledger wrote)
    union all
    select file, sheet, row_no, col, given, reason
    from lookups
    where given is not null and unmatched
    union all
    select file, sheet, row_no, 'parent', parent, 'unit_cycle'
    from typed_units
    where code is not null and parent is not null and code not in (select code from reachable)
    union all
    select file, sheet, row_no, 'nc_ref', nc_ref, 'unknown_nonconformity'
    from staged_actions where nc_ref is not null and nc_ref not in (select ref from known_nonconformities)

    -- dates: one that does not parse, and one Excel shows for an empty or zero cell (1900-01-00, read as
    -- 1899-12-30 or 1900-01-01): no finding of a ledger is that old, while real records do go back to 1904
    union all
    select
        file, sheet, row_no, col, given,
        coalesce(case when ledger_date_ambiguous(given) then 'ambiguous_date' end,
                 case when not ledger_date_ambiguous(given) then 'not_a_date' end),
    from dates
    where parsed is null and given is not null
    union all
    select file, sheet, row_no, col, given, 'date_too_early'
    from dates
    where parsed < date '1901-01-01'

    -- values of findings
    union all
    select file, sheet, row_no, 'closed_on', given_closed_on, 'closed_before_found'
    from typed_nonconformities where closed_on < found_on
    union all
    select file, sheet, row_no, 'due_on', given_due_on, 'due_before_found'
    from typed_nonconformities where due_on < found_on

    -- statuses, of findings and of actions: none of the column's values, ended with no date, a date with no end
    union all
    select file, sheet, row_no, 'status', given_status, 'unknown_value'
    from statuses where status_unknown
    union all
    select file, sheet, row_no, date_col, given_on, undated_reason
    from statuses where ended and given_on is null
    union all
    select file, sheet, row_no, 'status', given_status, not_ended_reason
    from statuses where not ended and ended_on is not null
)

select file, sheet, row_no, col, val, reason
from problems
order by file, sheet nulls first, row_no, col, reason
