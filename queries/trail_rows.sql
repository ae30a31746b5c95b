-- one row per event after $after, in id order: its id and its sha256 (32 bytes)
select id, hash
from event_hashes_after($after)
order by id
