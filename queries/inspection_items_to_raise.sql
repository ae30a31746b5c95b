-- one row per failed checklist item of a performed inspection, in the scope, that names no nonconformity yet
select
    r.inspection,
    r.criterion,
    r.note,
    i.unit,
    i.performed_on,
    i.inspector,
    c.title as criterion_title,
from inspection_results as r
join inspections as i on i.ref = r.inspection
left join criteria as c on c.code = r.criterion
where not r.withdrawn
    and not i.withdrawn
    and r.result = 'fail'
    and r.nonconformity is null
    and i.performed_on is not null
    and i.unit in (select code from unit_subtree($scope))
order by r.inspection, r.criterion
