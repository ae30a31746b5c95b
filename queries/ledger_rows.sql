-- one row per (finding, action) of the ledger as of the as-of date: findings found in the period or still open then, within the filters and the viewer's scope; a finding without actions is one row; with its colour (三色督办) and the due date a finding without one defaults to
with findings as (
    from nonconformity_terms_in_scope($filters)
    where in_period(found_on, $since, $until) or is_open
)

select
    n.ref,
    n.unit,
    n.audit,
    n.criterion,
    n.source::varchar as source,
    n.severity::varchar as severity,
    n.title,
    n.description,
    n.root_cause,
    n.found_on,
    n.due_on,
    n.closed_on,
    n.status::varchar as status,
    n.verified_by,
    a.ref as action_ref,
    a.kind::varchar as action_kind,
    a.description as action,
    a.owner,
    a.due_on as action_due_on,
    a.done_on as action_done_on,
    a.status::varchar as action_status,
    a.evidence,
    due_status(n.is_open, d.due_on, $as_of, setting_days('due_soon_days')) as due_status,
    if(d.due_is_default, d.due_on, null) as default_due_on,
from findings as n
join nonconformity_due() as d on d.id = n.id
left join actions as a on a.nonconformity = n.ref
order by n.found_on, n.ref, a.ref
