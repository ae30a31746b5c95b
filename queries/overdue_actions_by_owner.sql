-- one row per owner (owner_key: the spellings it takes for one person are one owner) with actions overdue at $as_of on findings in view: a spelling of the name, how many, and the most days overdue; most first
select
    owner_key(owner) as owner_group,
    min(owner) as owner,
    count(*) as actions,
    max(days_overdue) as oldest_days_overdue,
from action_in_scope($filters)
where is_overdue
group by owner_key(owner)
order by actions desc, oldest_days_overdue desc, owner_group nulls last
