-- one row per notice recorded for the day $day (sent or failed), oldest first: what a run must not send again
select
    ref as recipient,
    field as level,
    new as detail,
    reason,
from events
where entity = 'notice'
    and old = $day
order by id
