-- one row per evidence file kept on the finding $ref (or the finding of the action $ref) and on its actions, oldest first, if the viewer may see the finding
with finding as (
    select n.ref,
    from nonconformities as n
    where n.unit in (select code from unit_subtree($scope))
        and (n.ref = $ref or n.ref = (select nonconformity from actions where ref = $ref))
),

records as (
    select
        'nonconformity' as entity,
        ref,
    from finding
    union all
    select
        'action' as entity,
        a.ref,
    from actions as a
    where a.nonconformity in (select ref from finding)
)

select
    f.ref,
    f.file_name,
    f.bytes,
    f.sha256,
    f.actor,
    f."at",
from attachments as f
join records as r on r.entity = f.entity and r.ref = f.ref
order by f."at", f.ref, f.file_name
