-- one row per unit, criterion, finding and action an import writes: where each stood before it, against
-- the writer's subtree $scope (run inside the import's transaction, before the merge; import_scope_refusals reads them)
create or replace temp table scope_before_units as
select
    t.code,
    o.code is not null as existed,
    o.parent_code as parent,
    o.code is not null and o.code in (select code from unit_subtree($scope)) as inside,
from typed_units as t
left join units as o on o.code = t.code;

create or replace temp table scope_before_criteria as
select o.code, o.title, o.title_en, o.category, o.category_en,
from criteria as o
where o.code in (select code from typed_criteria);

create or replace temp table scope_before_findings as
select t.ref, o.unit in (select code from unit_subtree($scope)) as inside,
from typed_nonconformities as t
join nonconformities as o on o.ref = t.ref;

create or replace temp table scope_before_actions as
select t.ref, n.unit in (select code from unit_subtree($scope)) as inside,
from typed_actions as t
join actions as a on a.ref = t.ref
join nonconformities as n on n.ref = a.nonconformity;
