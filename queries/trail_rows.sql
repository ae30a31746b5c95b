-- one row per event after $after: its id and the sha256 (32 bytes) of its fields in a fixed text form; closeloop.trail
-- puts them in id order. Each field is its length in bytes, a colon and its text (null: '~'), so no text can pass
-- for a field boundary; the time is microseconds since 1970 UTC. The form is this file, shipped with the program:
-- sealing and verifying never call a definition kept in the store (002_trail.sql's macro is the same form, unused),
-- and every function is named in DuckDB's own catalog (system.main), and no operator is used
-- but casts: a macro stored under a built-in's name, or under '||', shadows it.
select
    id,
    system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        id::varchar,
        system.main.epoch_us(e."at")::varchar,
        case when actor is null then '~' else system.main.concat(system.main.strlen(actor), ':', actor) end,
        case when entity is null then '~' else system.main.concat(system.main.strlen(entity), ':', entity) end,
        case when ref is null then '~' else system.main.concat(system.main.strlen(ref), ':', ref) end,
        case when field is null then '~' else system.main.concat(system.main.strlen(field), ':', field) end,
        case when old is null then '~' else system.main.concat(system.main.strlen(old), ':', old) end,
        case when new is null then '~' else system.main.concat(system.main.strlen(new), ':', new) end,
        case when reason is null then '~' else system.main.concat(system.main.strlen(reason), ':', reason) end,
        coalesce(batch::varchar, '~')
    ))) as hash,
from events as e
where id > $after
