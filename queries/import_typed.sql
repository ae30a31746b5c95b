-- typed_<kind>: one row per staged ledger row, enumerations mapped from their aliases, units and criteria resolved to codes, dates parsed (null where they do not parse)

-- An Excel serial day number (1950–2099: a bare number outside is more likely a year or a count).
-- Day 60 is Excel's 1900-02-29, which never was; every serial in range is past it, so day 0 is 1899-12-30.
create or replace temp macro ledger_serial(s) as
    case
        when regexp_full_match(s, '[0-9]{5}(\.[0-9]+)?') and floor(s::double) between 18264 and 73415
            then date '1899-12-30' + floor(s::double)::integer
    end;

-- d/m/yyyy or m/d/yyyy: only when the two first parts tell which is the day (one is over 12, or they are equal)
create or replace temp macro year_last_part(s, i) as
    try_cast(regexp_extract(s, '^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$', i) as integer);

create or replace temp macro ledger_date_ambiguous(s) as
    coalesce(
        year_last_part(s, 1) <> year_last_part(s, 2)
        and year_last_part(s, 1) <= 12 and year_last_part(s, 2) <= 12,
        false
    );

create or replace temp macro ledger_date(s) as
    case
        when s is null then null
        when s like '____-__-__' then try_strptime(s, '%Y-%m-%d')::date
        when regexp_full_match(s, '[0-9]{5}(\.[0-9]+)?') then ledger_serial(s)
        when regexp_full_match(s, '[0-9]{8}') then try_strptime(s, '%Y%m%d')::date
        when year_last_part(s, 3) is not null then
            case
                when year_last_part(s, 1) > 12 or year_last_part(s, 1) = year_last_part(s, 2)
                    then try(make_date(year_last_part(s, 3), year_last_part(s, 2), year_last_part(s, 1)))
                when year_last_part(s, 2) > 12
                    then try(make_date(year_last_part(s, 3), year_last_part(s, 1), year_last_part(s, 2)))
            end
        -- strptime's %Y would take "5/3/24" as the year 5: the year comes first, in four digits
        when regexp_matches(s, '^[0-9]{4}[-/.年]') then try_strptime(s, [
            '%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日', '%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S',
            '%Y-%m-%d %H:%M', '%Y/%m/%d %H:%M', '%Y-%m-%dT%H:%M:%S'
        ])::date
    end;

-- a NUL or a bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069): in a ref or code it makes two
-- refs that read alike differ, or one read as another, and no ledger means one
create or replace temp macro ledger_hidden_character(s) as
    regexp_matches(s, '[\x00\x{202A}-\x{202E}\x{2066}-\x{2069}]');

-- a value the aliases do not name, as an enumeration would spell it ("In progress" → in_progress)
create or replace temp macro ledger_token(s) as replace(replace(lower(s), ' ', '_'), '-', '_');

-- a status: the ledger's word by its aliases, else as an enumeration would spell it; one left empty follows
-- the closing (or done) date, keeping a stored status that still fits it
create or replace temp macro ledger_status(alias_value, given, ended_on, stored, ended, fallback) as
    coalesce(
        coalesce(alias_value, ledger_token(given)),
        case
            when ended_on is not null then ended
            when stored <> ended then stored::varchar
            else fallback
        end
    );

create or replace temp table typed_units as
select s.file, s.sheet, s.row_no, s.code, s.name, s.name_en, p.code as parent, s.parent as given_parent,
    s.head_name, s.head_email, s.head_language,
from staged_units as s
left join unit_aliases as p on p.alias = s.parent;

create or replace temp table typed_criteria as
select file, sheet, row_no, code, title, title_en, category, category_en,
from staged_criteria;

create or replace temp table typed_nonconformities as
select
    s.file,
    s.sheet,
    s.row_no,
    s.ref,
    u.code as unit,
    s.audit,
    -- by code, by title, or by a code that opens the cell ("1.1 三會一課按期召開")
    coalesce(c.code, cp.code) as criterion,
    try_cast(coalesce(vs.value, ledger_token(s.source)) as source) as source,
    try_cast(coalesce(vv.value, ledger_token(s.severity)) as severity) as severity,
    s.title,
    s.description,
    s.root_cause,
    ledger_date(s.found_on) as found_on,
    ledger_date(s.due_on) as due_on,
    ledger_date(s.closed_on) as closed_on,
    try_cast(ledger_status(vn.value, s.status, s.closed_on, o.status, 'closed', 'open') as nonconformity_status)
        as status,
    s.verified_by,
    -- as the ledger wrote them, for import_problems.sql to name
    s.unit as given_unit,
    s.criterion as given_criterion,
    s.source as given_source,
    s.severity as given_severity,
    s.status as given_status,
    s.found_on as given_found_on,
    s.due_on as given_due_on,
    s.closed_on as given_closed_on,
from staged_nonconformities as s
left join nonconformities as o on o.ref = s.ref
left join unit_aliases as u on u.alias = s.unit
left join criterion_aliases as c on c.alias = s.criterion
left join criterion_aliases as cp on c.code is null and cp.alias = regexp_extract(s.criterion, '^[0-9]+(\.[0-9]+)*')
-- the enumerations' aliases: joins, not a lookup per row
left join value_aliases as vs on vs.domain = 'source' and vs.alias = lower(s.source)
left join value_aliases as vv on vv.domain = 'severity' and vv.alias = lower(s.severity)
left join value_aliases as vn on vn.domain = 'nc_status' and vn.alias = lower(s.status);

create or replace temp table typed_actions as
select
    s.file,
    s.sheet,
    s.row_no,
    s.ref,
    s.nc_ref,
    try_cast(coalesce(vk.value, ledger_token(s.kind)) as action_kind) as kind,
    s.description,
    s.owner,
    ledger_date(s.due_on) as due_on,
    ledger_date(s.done_on) as done_on,
    try_cast(ledger_status(va.value, s.status, s.done_on, o.status, 'done', 'planned') as action_status) as status,
    s.evidence,
    s.kind as given_kind,
    s.status as given_status,
    s.due_on as given_due_on,
    s.done_on as given_done_on,
from staged_actions as s
left join actions as o on o.ref = s.ref
left join value_aliases as vk on vk.domain = 'kind' and vk.alias = lower(s.kind)
left join value_aliases as va on va.domain = 'action_status' and va.alias = lower(s.status);
