-- PostgreSQL's copy of ../007_action_facts.sql.
alter table nonconformities add column action_count integer not null default 0;
alter table nonconformities add column owned_action_count integer not null default 0;
alter table nonconformities add column undocumented_done_count integer not null default 0;
