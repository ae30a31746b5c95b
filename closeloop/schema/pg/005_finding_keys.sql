-- PostgreSQL's copy of ../005_finding_keys.sql (the ids are drawn by the replica that writes the finding).
alter table nonconformities add column id bigint;
alter table nonconformities add column unit_path varchar;
alter table nonconformities add column category varchar;
alter table nonconformities add column is_repeat_365 boolean not null default false;
alter table nonconformities add column is_repeat_after_closure_365 boolean not null default false;

alter table actions add column nonconformity_id bigint;
