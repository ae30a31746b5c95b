-- one row per event after $after: its id and its sha256 (32 bytes); closeloop.trail puts them in id order
select id, hash
from event_hashes_after($after)
