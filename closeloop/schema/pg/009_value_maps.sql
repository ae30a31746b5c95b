-- PostgreSQL's copy of ../009_value_maps.sql.
create table value_maps (
    column_name varchar not null,
    value varchar not null,
    canonical varchar not null,
    set_by varchar not null,
    set_at timestamptz not null,
    version integer not null default 1,
    primary key (column_name, value)
);
