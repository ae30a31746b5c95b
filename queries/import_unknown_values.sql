-- one row per (column, value) of the staged ledger that no alias or mapping names, with its rows: what to map
with given as (
    select 'source' as col, given_source as val, source::varchar as known from typed_nonconformities
    union all select 'severity', given_severity, severity::varchar from typed_nonconformities
    union all select 'status', given_status, status::varchar from typed_nonconformities
    union all select 'action_kind', given_kind, kind::varchar from typed_actions
    union all select 'action_status', given_status, status::varchar from typed_actions
)

select col, val, count(*) as n,
from given
where val is not null and known is null
group by all
order by col, n desc, val
