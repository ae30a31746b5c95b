-- What the Data page's checks read of a finding's actions, kept on the finding's row: how many it has,
-- how many name an owner, how many are done without evidence. At a million findings, counting two
-- million actions per view was most of that page's time (docs/PERFORMANCE.md). store.refresh_findings
-- keeps them true; every writer of actions calls it in its transaction.
alter table nonconformities add column action_count integer not null default 0;
alter table nonconformities add column owned_action_count integer not null default 0;
alter table nonconformities add column undocumented_done_count integer not null default 0;
