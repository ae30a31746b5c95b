-- one row per checklist category, labelled in the language asked
select
    category,
    label(category, any_value(category_en), $lang) as label,
from criteria
group by category
order by category
