-- one row per owner (owner_key: the spellings it takes for one person are one owner) with actions overdue at $as_of on findings in view: a spelling of the name, how many, and the most days overdue; most first
-- Names are counted as written first and folded after: owner_key reads a name character by character, and
-- there are far fewer names than actions.
with by_name as (
    select owner, count(*) as actions, max(days_overdue) as oldest_days_overdue,
    from action_in_scope($filters)
    where is_overdue
    group by owner
)

select
    owner_key(owner) as owner_group,
    min(owner) as owner,
    sum(actions)::bigint as actions,
    max(oldest_days_overdue) as oldest_days_overdue,
from by_name
group by owner_key(owner)
order by actions desc, oldest_days_overdue desc, owner_group nulls last
