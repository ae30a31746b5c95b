-- Also kept on a finding's row: how many of its actions are still to do (neither done nor cancelled) and
-- the first and last day one was done, for the closure phases (found → first action → last action →
-- verified), which grouped every action of the period's closures per view. store.refresh_findings
-- keeps them true, with the counts of migration 007.
alter table nonconformities add column unsettled_action_count integer not null default 0;
alter table nonconformities add column first_action_done_on date;
alter table nonconformities add column last_action_done_on date;
