-- PostgreSQL's copy of ../011_notices.sql.
alter table units add column head_name varchar;
alter table units add column head_email varchar;
alter table units add column head_language varchar;

alter table users add column language varchar;

create table deadlines (
    severity severity not null,
    source varchar not null default 'any',
    finding_days integer not null check (finding_days > 0),
    action_days integer not null check (action_days > 0),
    version integer not null default 1,
    primary key (severity, source)
);
insert into deadlines (severity, source, finding_days, action_days) values
    ('major', 'any', 30, 30),
    ('minor', 'any', 60, 60),
    ('observation', 'any', 90, 90);

create table settings (
    key varchar primary key,
    value varchar not null,
    version integer not null default 1
);
insert into settings (key, value) values
    ('due_soon_days', '7'),
    ('head_after_days', '14'),
    ('above_after_days', '30'),
    ('base_url', 'http://localhost:8501');
