-- PostgreSQL's copy of ../003_access.sql, and the evidence files themselves: beside an embedded store they
-- are files under attachments/, here rows that every replica copies to its own attachments/ folder.
create type role as enum ('viewer', 'unit_editor', 'auditor', 'administrator');

create table users (
    email varchar primary key,
    name varchar,
    role role not null,
    unit varchar,
    version integer not null default 1
);

create table attachments (
    sha256 varchar not null,
    entity varchar not null,
    ref varchar not null,
    file_name varchar not null,
    bytes bigint not null,
    actor varchar not null,
    "at" timestamptz not null
);

-- one row per evidence file, by its content's sha256
create table attachment_files (
    sha256 varchar primary key,
    content bytea not null
);
