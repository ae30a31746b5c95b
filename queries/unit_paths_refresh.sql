-- every unit's materialised path and depth, from its parents
update units
set path = p.path, depth = p.depth
from (
    with recursive walk (code, path, depth) as (
        select code, '/' || code || '/', 0 from units where parent_code is null
        union all
        select u.code, w.path || u.code || '/', w.depth + 1
        from units as u
        join walk as w on u.parent_code = w.code
    )
    select code, path, depth from walk
) as p
where units.code = p.code and (units.path <> p.path or units.depth <> p.depth)
