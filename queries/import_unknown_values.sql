-- one row per (column, value) of the staged ledger that no alias or mapping names, with its rows: what to map
select 'source' as col, given_source as val, count(*) as n,
from typed_nonconformities
where given_source is not null and source is null
group by all
union all
select 'severity', given_severity, count(*),
from typed_nonconformities
where given_severity is not null and severity is null
group by all
union all
select 'status', given_status, count(*),
from typed_nonconformities
where given_status is not null and status is null
group by all
union all
select 'action_kind', given_kind, count(*),
from typed_actions
where given_kind is not null and kind is null
group by all
union all
select 'action_status', given_status, count(*),
from typed_actions
where given_status is not null and status is null
group by all
order by col, n desc, val
