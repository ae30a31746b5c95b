-- one row per checklist category, with its English name where the store has one
select
    category,
    coalesce(any_value(category_en), category) as category_en,
from criteria
group by category
order by category
