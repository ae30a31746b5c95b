-- one row per unit in the chosen subtree down to $levels levels (the chosen unit's included): findings opened in the
-- period and open/overdue at the as-of date, with everything below it
with scoped as not materialized (
    from nonconformity_in_scope($filters)
),

-- each count reads only the findings it needs (see contract.sql); grouped by the unit's code, shorter
-- than its path, which is joined after (see kpis_by_child_unit.sql)
own as (
    select unit, sum(opened) as opened, sum(open) as open, sum(overdue) as overdue,
    from (
        select unit, count(*) as opened, 0 as open, 0 as overdue,
        from scoped
        where in_period(found_on, $since, $until)
        group by unit
        union all
        select unit, 0, count(*), count(*) filter (where is_overdue),
        from scoped
        where is_open
        group by unit
    )
    group by unit
),

-- the depth the tree starts at: the chosen unit's, else the viewer's scope's, else the top's
top as (
    select coalesce(
        (select depth from units where code = $unit),
        (select depth from units where code = $scope),
        0
    ) as depth
),

-- each unit's counts credited to it and every unit above it: the path's parts by position (a join with
-- the range of depths is several times faster than unnest per row at tens of thousands of units)
parts as (
    select string_split(trim(u.path, '/'), '/') as ancestors, o.opened, o.open, o.overdue
    from own as o
    join units as u on u.code = o.unit
),

credited as (
    select p.ancestors[l.level] as ancestor, p.opened, p.open, p.overdue
    from parts as p, range(1, (select depth from top) + $levels + 1) as l (level)
    where l.level <= len(p.ancestors)
)

select
    u.code,
    u.name,
    label(u.name, u.name_en, $lang) as label,
    u.parent_code,
    u.depth,
    coalesce(sum(c.opened), 0)::bigint as opened,
    coalesce(sum(c.open), 0)::bigint as open,
    coalesce(sum(c.overdue), 0)::bigint as overdue,
    coalesce(sum(c.overdue), 0) / nullif(sum(c.open), 0) as overdue_share,
from units as u
left join credited as c on c.ancestor = u.code
where u.depth < (select depth from top) + $levels
    and u.code in (select code from unit_subtree($unit))
    and u.code in (select code from unit_subtree($scope))
group by all
order by any_value(u.path)
