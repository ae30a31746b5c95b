-- staged_actions gains one row per action on a ledger sheet's rows (ledger_rows, import_ledger_rows.sql), and
-- staged_nonconformities loses a finding's later rows there, which fold into its first.
-- One create, not a table of the staged actions and then an insert: when there were none, DuckDB 2.0 hid the
-- rows of the insert that followed from every later scan in the transaction (0 of 194,700 actions stored).
create or replace temp table staged_actions as
from staged_actions_arrow
union all by name
select
    file,
    sheet,
    row_no,
    coalesce(
        action_ref,
        finding || '-A' || row_number() over (partition by file, sheet, finding order by row_no)
    ) as ref,
    finding as nc_ref,
    coalesce(action_kind, 'corrective') as kind,
    action as description,
    owner,
    coalesce(action_due_on, finding_due_on) as due_on,
    -- an action on a closed finding was done by the time it was verified, unless the ledger says otherwise
    coalesce(action_done_on, case when action_status is null then finding_closed_on end) as done_on,
    action_status as status,
    evidence,
from ledger_rows
-- an action needs its description (or its own ref): an owner alone, on a finding with no action, makes none
where action is not null or action_ref is not null;

delete from staged_nonconformities as s
using ledger_rows as l
where l.position > 1 and l.file = s.file and l.sheet is not distinct from s.sheet and l.row_no = s.row_no;
