-- one row per name in $names: the name and its owner_key (terms.sql), the one definition of when two names are one person
select
    name,
    owner_key(name) as owner_key,
from unnest($names::varchar[]) as listed(name)
