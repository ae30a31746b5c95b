-- Targets for Closeloop's own KPIs (on-time closure ≥ 90 %, overdue ≤ 5 % …): the goal lines on the trend
-- charts and the red/amber/green of the Overview's cards (closeloop/targets.py says which is which).
-- Set by an administrator (`python -m closeloop target`), each change an event in the trail.

-- one row per (KPI, unit): the target of a KPI for a unit and every unit below it without its own; unit
-- 'any' is the whole organisation's, the fallback for every unit (as deadlines' source 'any' is)
create table kpi_targets (
    kpi varchar not null,
    unit varchar not null default 'any',
    target double precision not null,
    direction varchar not null check (direction in ('higher', 'lower')),
    -- how far on the wrong side of the target is amber, not red
    amber double precision not null default 0 check (amber >= 0),
    version integer not null default 1,
    primary key (kpi, unit)
);
