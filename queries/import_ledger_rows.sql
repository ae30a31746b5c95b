-- ledger_rows: one row per row of a ledger sheet (a findings sheet with action columns), with its finding; each action on one becomes a staged action, and a finding's later rows fold into its first
-- A ledger sheet is a nonconformities sheet with action columns. Its layouts: one row per finding, one
-- row per action with the finding repeated, or one row per action below a finding whose cells are
-- merged (empty on the rows after the first: no ref, title or found date).
create or replace temp table ledger_rows as
with ledger_sheets as (
    select distinct file, sheet
    from staged_nonconformities
    where action is not null or owner is not null or action_ref is not null
),

rows_with_finding as (
    select
        s.*,
        coalesce(
            s.ref,
            case
                when s.title is null and s.found_on is null
                    then last_value(s.ref ignore nulls) over (partition by s.file, s.sheet order by s.row_no)
            end
        ) as finding,
    from staged_nonconformities as s
    semi join ledger_sheets as l on l.file = s.file and l.sheet is not distinct from s.sheet
)

select
    *,
    case
        when finding is null then 1
        else row_number() over (partition by file, sheet, finding order by row_no)
    end as position,
    first_value(due_on) over (partition by file, sheet, finding order by row_no) as finding_due_on,
    first_value(closed_on) over (partition by file, sheet, finding order by row_no) as finding_closed_on,
from rows_with_finding;

-- a finding's value on a later row of its own that differs from its first row's: nothing is dropped unseen
create or replace temp table ledger_conflicts as
with later as (
    unpivot (
        select
            file, sheet, row_no, finding, unit, audit, criterion, source, severity, title, description,
            root_cause, found_on, due_on, closed_on, status, verified_by,
        from ledger_rows
        where position > 1
    ) on columns(* exclude (file, sheet, row_no, finding)) into name col value val
),

first as (
    unpivot (
        select
            file, sheet, finding, unit, audit, criterion, source, severity, title, description,
            root_cause, found_on, due_on, closed_on, status, verified_by,
        from ledger_rows
        where position = 1 and finding in (select finding from ledger_rows where position > 1)
    ) on columns(* exclude (file, sheet, finding)) into name col value val
)

select l.file, l.sheet, l.row_no, l.col, l.val,
from later as l
left join first as f
    on f.file = l.file and f.sheet is not distinct from l.sheet and f.finding = l.finding and f.col = l.col
where f.val is distinct from l.val;
