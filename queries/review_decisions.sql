-- one row per action decided at the review $review, with its status as of the as-of date, earliest due first
with decided as (
    select a.*
    from review_decisions as d
    join action_at($as_of) as a on a.ref = d.action
    where d.review = $review
)

select
    a.ref,
    n.* exclude (nonconformity_id),
    a.kind::varchar as kind,
    a.description,
    a.owner,
    a.due_on,
    a.status::varchar as status,
    a.done_on,
    a.is_overdue,
    a.days_overdue,
from decided as a
join action_nonconformity((select list(nonconformity_id) from decided)) as n
    on n.nonconformity_id = a.nonconformity_id
where n.unit in (select code from unit_subtree($scope))
order by a.due_on nulls last, a.ref
