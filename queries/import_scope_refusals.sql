-- one row per ledger row that would write outside the writer's subtree $scope, before or after the merge:
-- file, sheet, row, column, value, reason (run after the merge, before the seal; a row here rolls it all back)
with

subtree as (
    select code from unit_subtree($scope)
),

units_outside as (
    -- a unit outside the subtree, one moved out of it, a new one put outside it, or the subtree's own top moved
    select
        t.file, t.sheet, t.row_no,
        case when b.existed and not b.inside then 'code' else 'parent' end as "column",
        case when b.existed and not b.inside then t.code else t.given_parent end as value,
        case
            when b.existed and not b.inside then 'out_of_scope'
            when t.code = $scope then 'whole_organisation_only'
            else 'out_of_scope'
        end as reason,
    from typed_units as t
    join scope_before_units as b on b.code = t.code
    join units as u on u.code = t.code
    where (b.existed and not b.inside)
        or t.code not in (select code from subtree)
        or (t.code = $scope and u.parent_code is distinct from b.parent)
),

criteria_changed as (
    -- the checklist is the whole organisation's: a new or changed criterion is refused, an unchanged one passes
    select t.file, t.sheet, t.row_no, 'code' as "column", t.code as value, 'whole_organisation_only' as reason,
    from typed_criteria as t
    join criteria as c on c.code = t.code
    left join scope_before_criteria as b on b.code = t.code
    where b.code is null
        or c.title is distinct from b.title
        or c.title_en is distinct from b.title_en
        or c.category is distinct from b.category
        or c.category_en is distinct from b.category_en
),

-- a finding or an action of the import with the unit its stored finding now sits in, and whether the viewer
-- could see it before the import (null: it is new)
written as (
    select t.file, t.sheet, t.row_no, t.ref, 'unit' as parent_column, t.unit as parent, b.inside, n.unit,
    from typed_nonconformities as t
    left join scope_before_findings as b on b.ref = t.ref
    join nonconformities as n on n.ref = t.ref
    union all
    select t.file, t.sheet, t.row_no, t.ref, 'nc_ref', t.nc_ref, b.inside, n.unit,
    from typed_actions as t
    left join scope_before_actions as b on b.ref = t.ref
    join actions as a on a.ref = t.ref
    join nonconformities as n on n.ref = a.nonconformity
),

records_outside as (
    select
        file, sheet, row_no,
        case when not coalesce(inside, true) then 'ref' else parent_column end as "column",
        case when not coalesce(inside, true) then ref else parent end as value,
        'out_of_scope' as reason,
    from written
    where not coalesce(inside, true) or unit not in (select code from subtree)
)

select * from units_outside
union all select * from criteria_changed
union all select * from records_outside
order by file, sheet, row_no
