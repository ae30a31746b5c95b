-- The trail's seal: every writing transaction closes with one block that chains the hashes of the
-- events it wrote to the block before, so an event changed, added or removed afterwards shows.
-- Only inserts: no code path updates or deletes these rows, nor events.
-- PostgreSQL has the tables but not the macro: `trail verify` recomputes the hashes on a replica.

-- one row per sealed block: the events (first_event .. last_event] it covers and its place in the chain
create table trail_blocks (
    id bigint primary key,  -- 1, 2, 3 …: two writers sealing at once collide here, and one rolls back
    first_event bigint not null,
    last_event bigint not null,
    events bigint not null,
    -- sha256 over the 32-byte hashes of its events in id order (see queries/trail_rows.sql)
    digest varchar not null,
    previous varchar not null,  -- the hash of block id - 1; '' for the first block
    -- sha256 of 'id:first_event:last_event:events:digest:previous'
    hash varchar not null,
    sealed_at timestamptz not null default now()
);

-- one row per sealed event: the first 8 bytes of its hash, so `trail verify` can name the row that
-- changed (the block digests carry the full hashes)
create table event_hashes (
    event bigint not null,
    fingerprint ubigint not null
);
-- postgresql only: a replica copies the hashes of the events past its own last
create index event_hashes_event on event_hashes (event);

-- one row per event after `after`: its id and the sha256 of its fields in a fixed text form. Each field
-- is its length in bytes, a colon and its text (null: '~'), so no text can pass for a field boundary; the time is
-- microseconds since 1970 UTC. Fixed here, with the schema: a new form needs a new migration.
-- duckdb only
create macro event_hashes_after(after) as table
select
    id,
    unhex(sha256(concat_ws(
        chr(31),
        id::varchar,
        epoch_us(e."at")::varchar,
        coalesce(strlen(actor) || ':' || actor, '~'),
        coalesce(strlen(entity) || ':' || entity, '~'),
        coalesce(strlen(ref) || ':' || ref, '~'),
        coalesce(strlen(field) || ':' || field, '~'),
        coalesce(strlen(old) || ':' || old, '~'),
        coalesce(strlen(new) || ':' || new, '~'),
        coalesce(strlen(reason) || ':' || reason, '~'),
        coalesce(batch::varchar, '~')
    ))) as hash,
from events as e
where id > after;
