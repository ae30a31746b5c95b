-- one row per unit the viewer may see, in tree order: code, name in both languages (the unit search reads
-- either), its label in the language asked, depth
select
    code,
    name,
    coalesce(name_en, name) as name_en,
    label(name, name_en, $lang) as label,
    depth,
    parent_code,
from units
where code in (select code from unit_subtree($scope))
order by path
