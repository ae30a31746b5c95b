-- one row per unit coded $code (none when there is none): its parent's code, null at the top
select parent_code
from units
where code = $code
