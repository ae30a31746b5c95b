-- one row per finding open at the as-of date in the chosen subtree, oldest first, with the owners of its open actions
with open_findings as (
    -- the first $limit only: their owners are all the list needs
    from nonconformity_in_scope($filters)
    where is_open
    order by found_on, ref
    limit $limit
)

select
    r.* exclude (nonconformity_id, criterion, source, closed_on),
    n.age_days,
    n.days_overdue,
    o.owners,
from open_findings as n
join nonconformity_row((select list(id) from open_findings)) as r on r.nonconformity_id = n.id
left join open_action_owners($as_of, (select list(id) from open_findings)) as o on o.nonconformity_id = n.id
order by n.found_on, n.ref
