-- one row per checklist category: findings opened in the period, most first, with the cumulative share
with counted as (
    select
        coalesce(n.category, '') as category,
        coalesce(any_value(c.category_en), any_value(n.category), '') as category_en,
        count(*) as opened,
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    ) as n
    left join (select distinct category, category_en from criteria) as c on c.category = n.category
    where n.found_on between $since and $until
    group by coalesce(n.category, '')
)

select
    category,
    category_en,
    opened,
    sum(opened) over (order by opened desc, category rows unbounded preceding) / sum(opened) over () as cumulative_share,
from counted
order by opened desc, category
