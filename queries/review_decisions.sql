-- one row per action decided at the review $review, with its status as of the as-of date, earliest due first
-- the findings of the decided actions (the actions' key finds them: a few ms at 2M actions)
with findings as (
    select nonconformity_id
    from actions
    where ref in (select action from review_decisions where review = $review)
)

select
    r.*,
from review_decisions as d
join action_row($as_of, (select list(nonconformity_id) from findings)) as r on r.ref = d.action
where d.review = $review
    and r.unit in (select code from unit_subtree($scope))
order by r.due_on nulls last, r.ref
