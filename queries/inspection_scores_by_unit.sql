-- one row per unit with an inspection due in the period, filter and scope: its inspections and its checklist score
with due as (
    select
        i.unit,
        count(*) as due,
        count(*) filter (where i.is_performed) as performed,
        count(*) filter (where i.is_overdue) as overdue,
    from inspection_in_scope($as_of, $since, $until, $unit, $scope) as i
    where i.is_due
    group by i.unit
),

scored as (
    select
        r.unit,
        count(*) filter (where r.result = 'fail') as failed,
        count(*) filter (where r.is_unlinked_failure) as unlinked_failures,
        sum(r.points_awarded) / nullif(sum(r.points_possible), 0) as score,
    from inspection_result_in_scope($as_of, $since, $until, $unit, $scope) as r
    group by r.unit
)

select
    d.unit,
    u.name as unit_name,
    d.due,
    d.performed,
    d.overdue,
    coalesce(s.failed, 0) as failed,
    coalesce(s.unlinked_failures, 0) as unlinked_failures,
    s.score,
from due as d
join units as u on u.code = d.unit
left join scored as s on s.unit = d.unit
order by u.path
