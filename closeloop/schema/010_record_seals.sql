-- The trail covers the records too: each block seals the digest of every record its events touched, as the
-- record stood when the block was sealed, so a record changed, added or removed behind the events shows.
-- Only inserts, as for the blocks.

-- one row per record a block sealed: its digest then (queries/record_digests.sql; null: the record was gone)
create table record_seals (
    block bigint not null,
    entity varchar not null,  -- nonconformity, action, unit, criterion, user
    ref varchar not null,
    digest bytea,  -- sha256 of its fields, 32 bytes
    marks ubigint  -- 4 bits per field, to name the field that changed
);
-- postgresql only: a replica copies the rows of the blocks past its own last
create index record_seals_block on record_seals (block);

-- one row per block sealed from this migration on: the sha256 over its record_seals rows (closeloop/trail.py),
-- which the block's hash covers
create table block_records (
    block bigint primary key,
    digest varchar not null
);
