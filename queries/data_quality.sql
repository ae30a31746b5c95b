-- one row per data-quality check: how many findings (or, for done_without_evidence and action_due_defaulted, actions) of the ledger in view fail it;
-- the actions' counts are kept on each finding's row (schema 007)
with findings as (
    from nonconformity_terms_in_scope($filters)
    where in_period(found_on, $since, $until) or is_open
),

-- a ref that imports of more than one ledger file have written
duplicated as (
    select ref from ref_in_several_ledgers()
),

-- the findings whose due date the deadlines by severity give (terms.sql nonconformity_due)
defaulted as (
    select id from nonconformity_due() where due_is_default
)

select
    c."check",
    c.n,
from (
    select
        count(*) filter (where f.due_on is null) as no_due_date,
        count(*) filter (where f.owned_action_count = 0) as no_owner,
        count(*) filter (where f.action_count = 0) as no_action,
        count(*) filter (where f.root_cause is null) as no_root_cause,
        coalesce(sum(f.undocumented_done_count), 0)::bigint as done_without_evidence,
        count(*) filter (where f.status = 'closed' and f.verified_by is null) as closed_without_verifier,
        count(*) filter (where f.ref in (select ref from duplicated)) as duplicated_across_ledgers,
        count(*) filter (where f.id in (select id from defaulted)) as finding_due_defaulted,
        -- an action without a due date gets its finding's found_on + its severity's action days (action_due_at)
        (
            select count(*)
            from actions as x
            where x.due_on is null and x.nonconformity_id in (select id from findings)
        ) as action_due_defaulted,
    from findings as f
) unpivot (n for "check" in (
    no_due_date, no_owner, no_action, no_root_cause, done_without_evidence, closed_without_verifier,
    duplicated_across_ledgers, finding_due_defaulted, action_due_defaulted
)) as c
