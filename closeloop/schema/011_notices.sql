-- Push, not pull: who heads each unit, each person's language, the days a finding and its actions get
-- when they come without a due date, and the thresholds of the day's notices.

-- the person who answers for a unit (負責人): notices escalate to them, and to the head of the unit above
alter table units add column head_name varchar;
alter table units add column head_email varchar;
alter table units add column head_language varchar;  -- 'zh-Hans', 'zh-Hant' or 'en'; null: the command line's

-- the language each user's notices are written in ('zh-Hans', 'zh-Hant', 'en'; null: the command line's)
alter table users add column language varchar;

-- one row per (severity, source): days from found_on to the due date of a finding, and of its actions,
-- that comes without one. source 'any' is the fallback for every source without a row of its own.
-- Read only through terms.sql (nonconformity_due / action_due): the contract's due_on is never changed.
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

-- one row per setting an administrator may change (`python -m closeloop setting KEY VALUE`), with events
create table settings (
    key varchar primary key,
    value varchar not null,
    version integer not null default 1
);
insert into settings (key, value) values
    ('due_soon_days', '7'),  -- an open action due within this many days (today included) is due soon
    ('head_after_days', '14'),  -- overdue more than this: the unit's head is told too
    ('above_after_days', '30'),  -- overdue more than this: the head of the unit above is told too (escalated)
    ('base_url', 'http://localhost:8501');  -- where the dashboard serves: a notice links to a record there
