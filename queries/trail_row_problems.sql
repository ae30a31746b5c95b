-- one row per event that does not fit its seal, first first: changed, inserted, removed or not sealed
with recomputed as (
    select
        id,
        ('0x' || left(hex(hash), 16))::ubigint as fingerprint,
    from event_hashes_after(0)
),

sealed_up_to as (
    select coalesce(max(last_event), 0) as last_event from trail_blocks
)

select
    coalesce(r.id, h.event) as event,
    case
        when h.event is null and r.id > (select last_event from sealed_up_to) then 'unsealed'
        when h.event is null then 'inserted'
        when r.id is null then 'removed'
        else 'changed'
    end as problem,
from recomputed as r
full join event_hashes as h on h.event = r.id
where r.id is null or h.event is null or r.fingerprint <> h.fingerprint
order by event, problem
