-- one row: the finding $ref (or the finding of the action $ref) with its terms as of $as_of, if the viewer may see it
select
    n.ref,
    n.unit,
    u.name as unit_name,
    label(u.name, u.name_en, $lang) as unit_label,
    n.criterion,
    n.source,
    n.severity,
    n.title,
    n.description,
    n.root_cause,
    n.found_on,
    n.due_on,
    n.status,
    n.closed_on,
    n.verified_by,
    n.version,
    n.is_overdue,
    n.days_overdue,
from nonconformity_at($as_of, $window_days) as n
join units as u on u.code = n.unit
where n.unit in (select code from unit_subtree($scope))
    and (n.ref = $ref or n.ref = (select nonconformity from actions where ref = $ref))
