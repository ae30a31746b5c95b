-- one row per review of the unit filter's subtree held on data before the as-of date, the latest $limit,
-- latest first: the dates and the period each looked at
select
    r.id,
    r.held_on,
    r.title,
    r.as_of,
    r.since,
    r.until,
from reviews as r
where r.unit is not distinct from $unit
    and r.as_of < $as_of
    and ($scope is null or r.unit in (select code from unit_subtree($scope)))
order by r.as_of desc, r.id desc
limit $limit
