-- one row per owner (names that owner_key holds the same) of an open action on a finding overdue at the
-- as-of date, most first, and one row with a null owner for overdue findings no open action covers: how
-- many findings, the oldest's days overdue, and their share of all overdue findings in the filters. A
-- finding with two owners counts once under each, so the counts may add up to more than the findings.
with overdue as (
    select id, days_overdue
    from nonconformity_terms_in_scope($filters)
    where is_overdue
),

owned_as_written as (
    select o.id, o.days_overdue, a.owner,
    from overdue as o
    join action_at($as_of) as a on a.nonconformity_id = o.id
    where a.is_open
        and nullif(trim(a.owner), '') is not null
),

-- each name as written once: owner_key reads a name character by character, and there are far fewer names
-- than actions
named as (
    select owner, owner_key(owner) as owner_key,
    from (select distinct owner from owned_as_written)
),

owned as (
    select distinct
        w.id,
        w.days_overdue,
        n.owner_key,
        -- one written form of each owner, the same every time
        min(trim(w.owner)) over (partition by n.owner_key) as owner,
    from owned_as_written as w
    join named as n on n.owner = w.owner
),

unowned as (
    select o.id, o.days_overdue, null as owner_key, null as owner,
    from overdue as o
    where o.id not in (select id from owned)
),

counted as (
    select
        owner,
        count(*) as overdue,
        max(days_overdue) as oldest_days_overdue,
    from (from owned union all by name from unowned)
    group by owner_key, owner
)

select
    owner,
    overdue,
    oldest_days_overdue,
    overdue / (select count(*) from overdue) as share,
from counted
order by owner is null, overdue desc, oldest_days_overdue desc, owner
