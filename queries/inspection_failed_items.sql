-- one row per failed checklist item of an inspection performed in the period, filter and scope, with its finding
select
    r.unit,
    u.name as unit_name,
    r.inspection,
    i.performed_on,
    r.criterion,
    c.title as criterion_title,
    label(c.title, c.title_en, $lang) as criterion_label,
    r.points_awarded,
    r.points_possible,
    r.note,
    r.nonconformity,
    n.status::varchar as nonconformity_status,
from inspection_result_in_scope($as_of, $since, $until, $unit, $scope) as r
join inspections as i on i.ref = r.inspection
join units as u on u.code = r.unit
left join criteria as c on c.code = r.criterion
left join nonconformities as n on n.ref = r.nonconformity
where r.result = 'fail'
order by r.unit_path, i.performed_on, r.inspection, r.criterion
