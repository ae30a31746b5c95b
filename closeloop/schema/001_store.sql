-- The store: units, checklist, findings, actions, and the append-only trail.
-- References between tables (unit, criterion, nonconformity) are checked by the importer and the
-- workflow, not by foreign keys: DuckDB refuses to update a referenced row in the transaction that
-- wrote its referrers, which every import and status change needs.
-- On PostgreSQL (the system of record when CLOSELOOP_DB is a postgresql:// URL, closeloop/replica.py) every
-- process works on a DuckDB replica and ships what its transaction wrote there: ids and times are drawn on the
-- replica, from its sequences, and store.migration_statements leaves the defaults that draw them out there.
create type source as enum (
    'internal_audit', 'inspection', 'satisfaction_survey', 'management_review', 'superior_assessment'
);
create type severity as enum ('major', 'minor', 'observation');
create type nonconformity_status as enum ('open', 'in_progress', 'awaiting_verification', 'closed');
create type action_kind as enum ('correction', 'corrective', 'preventive');
create type action_status as enum ('planned', 'in_progress', 'done', 'cancelled');

create table units (
    code varchar primary key,
    name varchar not null,
    name_en varchar,
    parent_code varchar,
    -- '/HQ/DH/DH-01/': a subtree is every unit whose path starts with its root's path
    path varchar not null,
    depth integer not null,
    version integer not null default 1,
    check (parent_code is null or parent_code <> code)
);

create table criteria (
    code varchar primary key,
    title varchar not null,
    title_en varchar,
    category varchar not null,
    category_en varchar,
    version integer not null default 1
);

create table audits (
    ref varchar primary key,
    source source not null,
    unit varchar not null,
    started_on date,
    lead varchar,
    title varchar,
    version integer not null default 1
);

create table nonconformities (
    ref varchar primary key,
    unit varchar not null,
    audit varchar,
    criterion varchar,
    source source not null,
    severity severity not null,
    title varchar not null,
    description varchar,
    root_cause varchar,
    found_on date not null,
    due_on date,
    status nonconformity_status not null,
    closed_on date,
    verified_by varchar,
    version integer not null default 1,
    check (closed_on is null or closed_on >= found_on),
    check ((status = 'closed') = (closed_on is not null))
);

create table actions (
    ref varchar primary key,
    nonconformity varchar not null,
    kind action_kind not null,
    description varchar,
    owner varchar,
    due_on date,
    status action_status not null,
    done_on date,
    evidence varchar,
    version integer not null default 1,
    check ((status = 'done') = (done_on is not null))
);

-- duckdb only
create sequence event_id;
create table events (
    id bigint primary key default nextval('event_id'),
    "at" timestamptz not null default now(),
    actor varchar not null,
    entity varchar not null,
    ref varchar not null,
    field varchar not null,
    old varchar,
    new varchar,
    reason varchar,
    batch bigint
);
-- postgresql only: a replica brings its copy up to date by reading the records the newer events name
create index events_entity_ref on events (entity, ref);

-- duckdb only
create sequence import_batch_id;
create table import_batches (
    id bigint primary key default nextval('import_batch_id'),
    file_name varchar not null,
    sha256 varchar not null,
    actor varchar not null,
    "at" timestamptz not null default now(),
    accepted integer not null,
    rejected integer not null
);

-- Repeat flags depend on the whole store and a window, not on any filter: computed once per
-- window and dropped whenever a nonconformity is written (see store.ensure_repeats).
-- duckdb only: each replica's own, rebuilt from the rows it copied
create table repeats (
    window_days integer not null,
    nonconformity varchar not null,
    is_repeat boolean not null,
    is_repeat_after_closure boolean not null,
    primary key (window_days, nonconformity)
);
