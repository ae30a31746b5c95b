-- PostgreSQL's copy of ../014_kpi_targets.sql.
create table kpi_targets (
    kpi varchar not null,
    unit varchar not null default 'any',
    target double precision not null,
    direction varchar not null check (direction in ('higher', 'lower')),
    amber double precision not null default 0 check (amber >= 0),
    version integer not null default 1,
    primary key (kpi, unit)
);
