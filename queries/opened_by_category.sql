-- one row per checklist category: findings opened in the period, most first, with the cumulative share
with category_names as (
    -- one row per category, so that criteria disagreeing on its English name cannot count a finding twice
    select category, min(category_en) as category_en,
    from criteria
    group by category
),

counted as (
    select
        coalesce(n.category, '') as category,
        label(coalesce(n.category, ''), any_value(c.category_en), $lang) as label,
        count(*) as opened,
    from nonconformity_terms_in_scope($filters) as n
    left join category_names as c on c.category = n.category
    where in_period(n.found_on, $since, $until)
    group by coalesce(n.category, '')
)

select
    category,
    label,
    opened,
    sum(opened) over (order by opened desc, category rows unbounded preceding) / sum(opened) over () as cumulative_share,
from counted
order by opened desc, category
