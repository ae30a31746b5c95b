-- one row per setting an administrator may change: its key and value
select
    key,
    value,
from settings
order by key
