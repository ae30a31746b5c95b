-- one row per action decided at the review $review, with its status as of the as-of date, earliest due first
select
    a.ref,
    a.nonconformity,
    n.title as nonconformity_title,
    n.unit,
    u.name as unit_name,
    a.kind::varchar as kind,
    a.description,
    a.owner,
    a.due_on,
    a.status::varchar as status,
    a.done_on,
    a.is_overdue,
    a.days_overdue,
from review_decisions as d
join action_at($as_of) as a on a.ref = d.action
join nonconformities as n on n.ref = a.nonconformity
join units as u on u.code = n.unit
where d.review = $review
    and n.unit in (select code from unit_subtree($scope))
order by a.due_on nulls last, a.ref
