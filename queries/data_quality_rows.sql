-- one row per finding (or per action, for done_without_evidence and action_due_defaulted) of the ledger in view that fails the check $check, oldest first
with findings as (
    from nonconformity_terms_in_scope($filters)
    where in_period(found_on, $since, $until) or is_open
),

duplicated as (
    from ref_in_several_ledgers()
),

failing as (
    select f.ref, null::varchar as action_ref, null::varchar as owner, null::varchar as evidence, d.ledgers,
    from findings as f
    left join duplicated as d on d.ref = f.ref
    where case $check
        when 'no_due_date' then f.due_on is null
        when 'no_owner' then f.owned_action_count = 0
        when 'no_action' then f.action_count = 0
        when 'no_root_cause' then f.root_cause is null
        when 'closed_without_verifier' then f.status = 'closed' and f.verified_by is null
        when 'duplicated_across_ledgers' then d.ref is not null
        when 'finding_due_defaulted' then f.id in (select id from nonconformity_due() where due_is_default)
        else false
    end
    union all
    select x.nonconformity, x.ref, x.owner, x.evidence, null,
    from actions as x
    where x.nonconformity in (select ref from findings)
        and case $check
            when 'done_without_evidence' then x.status = 'done' and x.evidence is null
            -- given its finding's found_on + its severity's action days (action_due_at)
            when 'action_due_defaulted' then x.due_on is null
            else false
        end
)

select
    n.ref,
    n.unit,
    u.name as unit_name,
    n.title,
    n.status::varchar as status,
    n.found_on,
    n.due_on,
    n.closed_on,
    n.verified_by,
    x.action_ref,
    x.owner,
    x.ledgers,
from failing as x
join findings as n on n.ref = x.ref
join units as u on u.code = n.unit
order by n.found_on, n.ref, x.action_ref
limit $limit
