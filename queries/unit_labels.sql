-- one row per unit: its code and its name in the language asked (for messages that name units outside a page)
select
    code,
    label(name, name_en, $lang) as label,
from units
order by code
