-- PostgreSQL's copy of ../001_store.sql: the same tables, columns and types, the system of record when
-- CLOSELOOP_DB is a postgresql:// URL (closeloop/replica.py). Every process works on a DuckDB replica and
-- ships what its transaction wrote here, so ids come from the replica's sequences: no defaults drawn here.
-- The repeat flags' cache (`repeats`) is the replica's own, rebuilt from these rows: not kept here.
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

create table events (
    id bigint primary key,
    "at" timestamptz not null,
    actor varchar not null,
    entity varchar not null,
    ref varchar not null,
    field varchar not null,
    old varchar,
    new varchar,
    reason varchar,
    batch bigint
);
-- a replica brings its copy up to date by reading the records the newer events name
create index events_entity_ref on events (entity, ref);

create table import_batches (
    id bigint primary key,
    file_name varchar not null,
    sha256 varchar not null,
    actor varchar not null,
    "at" timestamptz not null,
    accepted integer not null,
    rejected integer not null
);
