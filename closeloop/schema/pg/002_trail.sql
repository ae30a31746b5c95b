-- PostgreSQL's copy of ../002_trail.sql. `trail verify` recomputes the hashes on a replica (DuckDB's
-- event_hashes_after macro), so only the tables are here. PostgreSQL has no unsigned 64-bit integer: the
-- fingerprint is numeric(20, 0), the same values.
create table trail_blocks (
    id bigint primary key,
    first_event bigint not null,
    last_event bigint not null,
    events bigint not null,
    digest varchar not null,
    previous varchar not null,
    hash varchar not null,
    sealed_at timestamptz not null
);

create table event_hashes (
    event bigint not null,
    fingerprint numeric(20, 0) not null
);
create index event_hashes_event on event_hashes (event);
