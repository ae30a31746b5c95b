-- Who may do what, and the files kept as evidence: beside an embedded store they are files under attachments/,
-- on PostgreSQL rows of attachment_files that every replica copies to its own attachments/ folder.
create type role as enum ('viewer', 'unit_editor', 'auditor', 'administrator');

-- one row per person who signs in: their role and the unit whose subtree they see and change
create table users (
    email varchar primary key,  -- lower-case, as the identity provider gives it
    name varchar,  -- as written in actions' owner column, so a verifier can be told from an owner
    role role not null,
    unit varchar,  -- null: the whole organisation
    version integer not null default 1
);

-- one row per file attached to a record; the file is data/attachments/<sha256> beside the store
create table attachments (
    sha256 varchar not null,
    entity varchar not null,
    ref varchar not null,
    file_name varchar not null,
    bytes bigint not null,
    actor varchar not null,
    "at" timestamptz not null default now()
);

-- postgresql only: one row per evidence file, by its content's sha256
create table attachment_files (
    sha256 varchar primary key,
    content bytea not null
);
