-- Integer keys, and the terms every page reads kept on the finding's row. At a million findings the
-- joins on text refs (repeat flags, actions) and the whole-store repeat window were most of a page's
-- time (docs/PERFORMANCE.md). store.refresh_findings keeps these columns true: every writer of
-- findings, units or criteria calls it in its transaction.
-- duckdb only
create sequence nonconformity_id;
alter table nonconformities add column id bigint default nextval('nonconformity_id');
-- the unit's path (subtree filters) and the criterion's category, as the units and criteria tables have them
alter table nonconformities add column unit_path varchar;
alter table nonconformities add column category varchar;
-- the repeat flags for the default window (365 days); other windows are cached in `repeats`
alter table nonconformities add column is_repeat_365 boolean not null default false;
alter table nonconformities add column is_repeat_after_closure_365 boolean not null default false;

alter table actions add column nonconformity_id bigint;
update actions set nonconformity_id = n.id
from nonconformities as n
where n.ref = actions.nonconformity;

-- the cache for other windows, keyed by the finding's id; filled again by store.refresh_findings
-- duckdb only
drop table repeats;
-- duckdb only
create table repeats (
    window_days integer not null,
    nonconformity bigint not null,
    is_repeat boolean not null,
    is_repeat_after_closure boolean not null,
    primary key (window_days, nonconformity)
);
