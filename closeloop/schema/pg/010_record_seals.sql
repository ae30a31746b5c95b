-- PostgreSQL's copy of ../010_record_seals.sql (blob is bytea; the unsigned marks are numeric(20, 0)).
create table record_seals (
    block bigint not null,
    entity varchar not null,
    ref varchar not null,
    digest bytea,
    marks numeric(20, 0)
);
-- a replica copies the rows of the blocks past its own last
create index record_seals_block on record_seals (block);

create table block_records (
    block bigint primary key,
    digest varchar not null
);
