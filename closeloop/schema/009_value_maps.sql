-- one row per (column, value) a ledger writes that the aliases do not know, mapped by someone to a canonical
-- value: every later import of this store reads the value as that (closeloop/value_maps.py). A change is
-- written to the trail like any other (entity 'value_map', ref '<column>:<value>').
create table value_maps (
    column_name varchar not null,  -- source, severity, status, action_kind, action_status
    value varchar not null,  -- as the ledger writes it (NFKC, trimmed); matched without regard to case
    canonical varchar not null,
    set_by varchar not null,
    set_at timestamptz not null default now(),
    version integer not null default 1,
    primary key (column_name, value)
);
