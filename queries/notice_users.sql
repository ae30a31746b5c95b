-- one row per user with a name: the email and language their notices go to, matched to actions' owners by name
select
    name,
    email,
    language,
from users
where name is not null
order by email
