-- typed_<kind>: one row per staged ledger row, enumerations mapped from their aliases, dates parsed (null where they do not parse)
create or replace temp macro ledger_date(s) as
    try_strptime(s, ['%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日', '%Y-%m-%d %H:%M:%S'])::date;

create or replace temp macro ledger_value(domain_name, s) as
    coalesce((select value from value_aliases where domain = domain_name and alias = s), lower(s));

create or replace temp table typed_units as
select file, row_no, code, name, name_en, parent,
from staged_units;

create or replace temp table typed_criteria as
select file, row_no, code, title, title_en, category, category_en,
from staged_criteria;

create or replace temp table typed_nonconformities as
select
    file,
    row_no,
    ref,
    unit,
    audit,
    criterion,
    try_cast(ledger_value('source', source) as source) as source,
    try_cast(ledger_value('severity', severity) as severity) as severity,
    title,
    description,
    root_cause,
    ledger_date(found_on) as found_on,
    ledger_date(due_on) as due_on,
    ledger_date(closed_on) as closed_on,
    try_cast(
        coalesce(ledger_value('nc_status', status), case when closed_on is null then 'open' else 'closed' end)
        as nonconformity_status
    ) as status,
    verified_by,
from staged_nonconformities;

create or replace temp table typed_actions as
select
    file,
    row_no,
    ref,
    nc_ref,
    try_cast(ledger_value('kind', kind) as action_kind) as kind,
    description,
    owner,
    ledger_date(due_on) as due_on,
    ledger_date(done_on) as done_on,
    try_cast(
        coalesce(ledger_value('action_status', status), case when done_on is null then 'planned' else 'done' end)
        as action_status
    ) as status,
    evidence,
from staged_actions;
