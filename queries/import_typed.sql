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
    s.file,
    s.row_no,
    s.ref,
    s.unit,
    s.audit,
    s.criterion,
    try_cast(ledger_value('source', s.source) as source) as source,
    try_cast(ledger_value('severity', s.severity) as severity) as severity,
    s.title,
    s.description,
    s.root_cause,
    ledger_date(s.found_on) as found_on,
    ledger_date(s.due_on) as due_on,
    ledger_date(s.closed_on) as closed_on,
    -- a status left empty follows the closing date, keeping a stored status that still fits it
    try_cast(
        coalesce(
            ledger_value('nc_status', s.status),
            case
                when s.closed_on is not null then 'closed'
                when o.status <> 'closed' then o.status::varchar
                else 'open'
            end
        ) as nonconformity_status
    ) as status,
    s.verified_by,
from staged_nonconformities as s
left join nonconformities as o on o.ref = s.ref;

create or replace temp table typed_actions as
select
    s.file,
    s.row_no,
    s.ref,
    s.nc_ref,
    try_cast(ledger_value('kind', s.kind) as action_kind) as kind,
    s.description,
    s.owner,
    ledger_date(s.due_on) as due_on,
    ledger_date(s.done_on) as done_on,
    try_cast(
        coalesce(
            ledger_value('action_status', s.status),
            case
                when s.done_on is not null then 'done'
                when o.status <> 'done' then o.status::varchar
                else 'planned'
            end
        ) as action_status
    ) as status,
    s.evidence,
from staged_actions as s
left join actions as o on o.ref = s.ref;
