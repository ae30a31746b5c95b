-- one row (or none): the latest review of the unit filter's subtree recorded as of exactly the as-of date
select r.id
from reviews as r
where r.unit is not distinct from $unit
    and r.as_of = $as_of
    and ($scope is null or r.unit in (select code from unit_subtree($scope)))
order by r.id desc
limit 1
