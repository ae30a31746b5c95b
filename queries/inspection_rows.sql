-- one row per inspection due in the period, filter and scope: performed or overdue, and its checklist's score
with scored as (
    select
        r.inspection,
        count(*) filter (where r.result = 'fail') as failed,
        sum(r.points_awarded) / nullif(sum(r.points_possible), 0) as score,
    from inspection_result_in_scope($as_of, $since, $until, $unit, $scope) as r
    group by r.inspection
)

select
    i.ref,
    i.unit,
    u.name as unit_name,
    i.kind,
    i.planned_on,
    i.performed_on,
    i.inspector,
    i.is_overdue,
    case when i.is_overdue then $as_of::date - i.planned_on end as days_overdue,
    s.failed,
    s.score,
from inspection_in_scope($as_of, $since, $until, $unit, $scope) as i
join units as u on u.code = i.unit
left join scored as s on s.inspection = i.ref
where i.is_due
order by i.is_overdue desc, i.planned_on, i.ref
