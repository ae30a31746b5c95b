-- one row per management review the viewer may see, latest first: when, who attended, its scope and period
select
    r.id,
    r.held_on,
    r.title,
    array_to_string(r.attendees, ', ') as attendees,
    r.unit,
    u.name as unit_name,
    r.as_of,
    r.since,
    r.until,
    r.created_by,
    r.created_at,
    (select count(*) from review_decisions as d where d.review = r.id) as decisions,
from reviews as r
left join units as u on u.code = r.unit
where $scope is null
    or r.unit in (select code from unit_subtree($scope))
order by r.as_of desc, r.id desc
