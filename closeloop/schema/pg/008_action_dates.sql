-- PostgreSQL's copy of ../008_action_dates.sql.
alter table nonconformities add column unsettled_action_count integer not null default 0;
alter table nonconformities add column first_action_done_on date;
alter table nonconformities add column last_action_done_on date;
