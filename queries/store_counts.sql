-- one row: how many units, nonconformities and actions the viewer's part of the store holds
select
    (select count(*) from unit_subtree($scope)) as units,
    (select count(*) from nonconformities where unit in (select code from unit_subtree($scope))) as nonconformities,
    (
        select count(*)
        from actions
        where nonconformity in (
            select ref from nonconformities where unit in (select code from unit_subtree($scope))
        )
    ) as actions,
