-- Plan and check: each unit's objectives and their monthly actuals, the inspection programme and its
-- checklist results, and satisfaction survey answers (DESIGN.md, "Plan and check"). Scoped by unit as
-- findings are. Never deleted: a row taken back is marked withdrawn and every term leaves it out.
-- Kinds are checked values rather than enums: the importer names a bad one.

-- one row per objective of a unit for a year; `parent` is the code of the objective it breaks down, the
-- same year's of its own unit or else of the nearest unit above with that code (a branch's G1 breaks down
-- the bureau's G1). The tree is for reading; each objective is scored on its own actuals.
create table objectives (
    unit varchar not null,
    year integer not null,
    code varchar not null,
    name varchar not null,
    parent varchar,
    measure varchar,
    kind varchar not null check (kind in ('level', 'cumulative')),
    direction varchar not null check (direction in ('higher', 'lower')),
    target double precision not null,
    weight double precision not null default 1 check (weight >= 0),
    owner varchar,
    withdrawn boolean not null default false,
    version integer not null default 1,
    primary key (unit, year, code)
);

-- one row per objective and month: what was achieved, and the evidence for it
create table objective_actuals (
    unit varchar not null,
    year integer not null,
    code varchar not null,
    month integer not null check (month between 1 and 12),
    actual double precision not null,
    evidence varchar,
    withdrawn boolean not null default false,
    version integer not null default 1,
    primary key (unit, year, code, month)
);

-- one row per planned inspection or audit of a unit; performed_on is null until it is done
create table inspections (
    ref varchar primary key,
    unit varchar not null,
    kind varchar not null check (kind in ('periodic', 'ad_hoc')),
    planned_on date not null,
    performed_on date,
    inspector varchar,
    withdrawn boolean not null default false,
    version integer not null default 1
);

-- one row per checklist item (criterion) of a performed inspection; a failed item names the
-- nonconformity it raised (its ref), null until it has one (a data-quality gap)
create table inspection_results (
    inspection varchar not null,
    criterion varchar not null,
    points_possible double precision not null check (points_possible >= 0),
    points_awarded double precision not null check (points_awarded >= 0),
    result varchar not null check (result in ('pass', 'fail')),
    note varchar,
    nonconformity varchar,
    withdrawn boolean not null default false,
    version integer not null default 1,
    primary key (inspection, criterion),
    check (points_awarded <= points_possible)
);

-- one row per respondent's answer to one item of a survey wave about a unit (1–5; 滿意 5, 基本滿意 3,
-- 不滿意 1)
create table survey_answers (
    wave varchar not null,
    unit varchar not null,
    respondent varchar not null,
    item varchar not null,
    score integer not null check (score between 1 and 5),
    answered_on date not null,
    withdrawn boolean not null default false,
    version integer not null default 1,
    primary key (wave, unit, respondent, item)
);

-- one row per (unit, wave, item) whose mean score was below 3: the nonconformity it raised (source
-- satisfaction_survey), which a later wave's mean of 3 or more for the same unit and item closes
create table survey_item_findings (
    unit varchar not null,
    wave varchar not null,
    item varchar not null,
    nonconformity varchar not null,
    version integer not null default 1,
    primary key (unit, wave, item)
);
