-- one row per action in the quick view $view on a finding the viewer may see and the filters select, most overdue first: the first $limit, each with how many the view holds
with listed as (
    from actions_first(
        $filters,
        -- each subquery of a view is empty for the other views: it is joined to every action whichever view is
        -- asked: at 1M findings the open view took 352 ms with both read whole, 234 ms without (median of 9)
        case $view
            when 'open' then a.is_open
            when 'overdue' then a.is_overdue
            -- the colour's term, as the notices read it: its own due date, else the one its finding's severity gives
            when 'due_soon' then due_status(a.is_open, a.due_on, $as_of, setting_days('due_soon_days')) = 'due_soon'
                or (a.is_open and a.due_on is null and a.nonconformity_id in (
                    select n.id
                    from nonconformities as n
                    join deadline_days() as d on d.severity = n.severity and d.source = n.source
                    where $view = 'due_soon'
                        and due_status(true, n.found_on + d.action_days, $as_of, setting_days('due_soon_days')) = 'due_soon'
                ))
            when 'awaiting_verification' then a.nonconformity_id in (
                select id from nonconformities where $view = 'awaiting_verification' and status = 'awaiting_verification'
            )
            when 'mine' then a.is_open and is_owned_by(a.owner, $me::varchar[])
            else true
        end,
        $limit
    )
)

select
    a.ref,
    a.nonconformity,
    n.unit,
    a.kind,
    a.description,
    a.owner,
    a.due_on,
    a.status,
    a.days_overdue,
    due_status(a.is_open and n.found_on <= $as_of, coalesce(a.due_on, n.found_on + d.action_days), $as_of,
               setting_days('due_soon_days')) as due_status,
    if(a.due_on is null, n.found_on + d.action_days, null) as default_due_on,
    a.done_on,
    a.evidence,
    n.status as nonconformity_status,
    a.version,
    a.rows_in_view,
from listed as a
join nonconformities as n on n.id = a.nonconformity_id
join deadline_days() as d on d.severity = n.severity and d.source = n.source
order by a.days_overdue desc nulls last, a.due_on nulls last, a.ref
