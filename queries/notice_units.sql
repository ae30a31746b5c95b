-- one row per unit: its name, the unit above it and its head (負責人), for addressing notices
select
    code,
    name,
    parent_code,
    head_name,
    head_email,
    head_language,
from units
order by code
