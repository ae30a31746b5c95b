-- one row per action of the finding $ref, or the action $ref alone, if the viewer may see its finding
select
    a.ref,
    a.nonconformity,
    a.kind,
    a.description,
    a.owner,
    a.due_on,
    a.status,
    a.done_on,
    a.evidence,
    a.version,
    a.is_overdue,
    a.days_overdue,
from action_at($as_of) as a
join nonconformities as n on n.ref = a.nonconformity
where n.unit in (select code from unit_subtree($scope))
    and (a.nonconformity = $ref or a.ref = $ref)
order by a.ref
