-- one row per finding in the quick view $view that the viewer may see and the filters select, most overdue first: the first $limit, each with how many the view holds
-- each with its colour (三色督办) by its own due date, else the one its severity gives
with findings as (
    select
        n.*,
        due_status(n.is_open, coalesce(n.due_on, n.found_on + d.finding_days), $as_of, setting_days('due_soon_days'))
            as due_status,
        if(n.due_on is null, n.found_on + d.finding_days, null) as default_due_on,
    from nonconformity_in_scope($filters) as n
    join deadline_days() as d on d.severity = n.severity and d.source = n.source
),

-- the findings with an open action the viewer owns
mine as (
    select a.nonconformity_id
    from action_at($as_of) as a
    where a.is_open
        and is_owned_by(a.owner, $me::varchar[])
),

listed as (
    select
        n.*,
        count(*) over () as rows_in_view,
    from findings as n
    where case $view
        when 'open' then n.is_open
        when 'overdue' then n.is_overdue
        when 'due_soon' then n.due_status = 'due_soon'
        when 'awaiting_verification' then n.status = 'awaiting_verification'
        when 'mine' then n.id in (select nonconformity_id from mine)
        else true
    end
    order by days_overdue desc nulls last, n.due_on nulls last, n.ref
    limit $limit
)

select
    n.ref,
    n.unit,
    n.severity,
    n.title,
    o.owners,
    n.found_on,
    n.due_on,
    n.status,
    n.days_overdue,
    n.due_status,
    n.default_due_on,
    coalesce(o.actions_open, 0) as actions_open,
    n.closed_on,
    n.version,
    n.rows_in_view,
from listed as n
left join open_action_owners($as_of, (select list(id) from listed)) as o
    on o.nonconformity_id = n.id
order by n.days_overdue desc nulls last, n.due_on nulls last, n.ref
