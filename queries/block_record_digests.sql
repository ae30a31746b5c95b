-- one row per block that sealed records (only block $block; every block when null): the sha256 over its records,
-- each as entity, ref and hex digest ('~': gone), in (entity, ref) order; functions from DuckDB's own catalog only
select
    block,
    system.main.sha256(system.main.string_agg(
        system.main.concat(
            entity, system.main.chr(31), ref, system.main.chr(31), coalesce(system.main.hex(digest), '~')
        ),
        system.main.chr(30)
        order by entity, ref
    )) as digest,
from record_seals
where $block is null or block = $block
group by block
