-- one row per finding open at the review $review's as-of date, as the review froze it, oldest first
select
    i.ref,
    i.unit,
    u.name as unit_name,
    i.title,
    i.severity,
    i.status,
    i.found_on,
    i.due_on,
    i.age_days,
    i.days_overdue,
    i.owners,
from review_open_items as i
join reviews as r on r.id = i.review
left join units as u on u.code = i.unit
where i.review = $review
    and ($scope is null or r.unit in (select code from unit_subtree($scope)))
order by i.found_on, i.ref
