-- one row per record (findings, actions, units, criteria, users, reviews; all when $every, else those in sealing_records):
-- the sha256 (32 bytes) of its fields in the events' text form (each field its length, a colon and its text, null
-- '~'), and `marks`, 4 bits of DuckDB's hash of each field in turn, to name which one changed (marks only name:
-- the digest decides). Fields are in FIELDS' order in closeloop/trail.py. As queries/trail_rows.sql, every
-- function is named in DuckDB's own catalog and no operator touches the digest: a macro kept in the store cannot
-- stand in for a built-in here.
with

nonconformity_digests as (
    -- ref, unit, audit, criterion, source, severity, title, description, root_cause, found_on, due_on, status, closed_on, verified_by
    select
        'nonconformity' as entity,
        ref as ref,
        system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        'nonconformity',
        case when ref is null then '~' else system.main.concat(system.main.strlen(ref::varchar), ':', ref::varchar) end,
        case when unit is null then '~' else system.main.concat(system.main.strlen(unit::varchar), ':', unit::varchar) end,
        case when audit is null then '~' else system.main.concat(system.main.strlen(audit::varchar), ':', audit::varchar) end,
        case when criterion is null then '~' else system.main.concat(system.main.strlen(criterion::varchar), ':', criterion::varchar) end,
        case when source is null then '~' else system.main.concat(system.main.strlen(source::varchar), ':', source::varchar) end,
        case when severity is null then '~' else system.main.concat(system.main.strlen(severity::varchar), ':', severity::varchar) end,
        case when title is null then '~' else system.main.concat(system.main.strlen(title::varchar), ':', title::varchar) end,
        case when description is null then '~' else system.main.concat(system.main.strlen(description::varchar), ':', description::varchar) end,
        case when root_cause is null then '~' else system.main.concat(system.main.strlen(root_cause::varchar), ':', root_cause::varchar) end,
        case when found_on is null then '~' else system.main.concat(system.main.strlen(found_on::varchar), ':', found_on::varchar) end,
        case when due_on is null then '~' else system.main.concat(system.main.strlen(due_on::varchar), ':', due_on::varchar) end,
        case when status is null then '~' else system.main.concat(system.main.strlen(status::varchar), ':', status::varchar) end,
        case when closed_on is null then '~' else system.main.concat(system.main.strlen(closed_on::varchar), ':', closed_on::varchar) end,
        case when verified_by is null then '~' else system.main.concat(system.main.strlen(verified_by::varchar), ':', verified_by::varchar) end
        ))) as digest,
        ((system.main.hash(ref) % 16) << 0)
        + ((system.main.hash(unit) % 16) << 4)
        + ((system.main.hash(audit) % 16) << 8)
        + ((system.main.hash(criterion) % 16) << 12)
        + ((system.main.hash(source) % 16) << 16)
        + ((system.main.hash(severity) % 16) << 20)
        + ((system.main.hash(title) % 16) << 24)
        + ((system.main.hash(description) % 16) << 28)
        + ((system.main.hash(root_cause) % 16) << 32)
        + ((system.main.hash(found_on) % 16) << 36)
        + ((system.main.hash(due_on) % 16) << 40)
        + ((system.main.hash(status) % 16) << 44)
        + ((system.main.hash(closed_on) % 16) << 48)
        + ((system.main.hash(verified_by) % 16) << 52) as marks,
    from nonconformities
    where $every or ref in (select ref from sealing_records where entity = 'nonconformity')
),

action_digests as (
    -- ref, nonconformity, kind, description, owner, due_on, status, done_on, evidence
    select
        'action' as entity,
        ref as ref,
        system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        'action',
        case when ref is null then '~' else system.main.concat(system.main.strlen(ref::varchar), ':', ref::varchar) end,
        case when nonconformity is null then '~' else system.main.concat(system.main.strlen(nonconformity::varchar), ':', nonconformity::varchar) end,
        case when kind is null then '~' else system.main.concat(system.main.strlen(kind::varchar), ':', kind::varchar) end,
        case when description is null then '~' else system.main.concat(system.main.strlen(description::varchar), ':', description::varchar) end,
        case when owner is null then '~' else system.main.concat(system.main.strlen(owner::varchar), ':', owner::varchar) end,
        case when due_on is null then '~' else system.main.concat(system.main.strlen(due_on::varchar), ':', due_on::varchar) end,
        case when status is null then '~' else system.main.concat(system.main.strlen(status::varchar), ':', status::varchar) end,
        case when done_on is null then '~' else system.main.concat(system.main.strlen(done_on::varchar), ':', done_on::varchar) end,
        case when evidence is null then '~' else system.main.concat(system.main.strlen(evidence::varchar), ':', evidence::varchar) end
        ))) as digest,
        ((system.main.hash(ref) % 16) << 0)
        + ((system.main.hash(nonconformity) % 16) << 4)
        + ((system.main.hash(kind) % 16) << 8)
        + ((system.main.hash(description) % 16) << 12)
        + ((system.main.hash(owner) % 16) << 16)
        + ((system.main.hash(due_on) % 16) << 20)
        + ((system.main.hash(status) % 16) << 24)
        + ((system.main.hash(done_on) % 16) << 28)
        + ((system.main.hash(evidence) % 16) << 32) as marks,
    from actions
    where $every or ref in (select ref from sealing_records where entity = 'action')
),

unit_digests as (
    -- code, name, name_en, parent_code
    select
        'unit' as entity,
        code as ref,
        system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        'unit',
        case when code is null then '~' else system.main.concat(system.main.strlen(code::varchar), ':', code::varchar) end,
        case when name is null then '~' else system.main.concat(system.main.strlen(name::varchar), ':', name::varchar) end,
        case when name_en is null then '~' else system.main.concat(system.main.strlen(name_en::varchar), ':', name_en::varchar) end,
        case when parent_code is null then '~' else system.main.concat(system.main.strlen(parent_code::varchar), ':', parent_code::varchar) end
        ))) as digest,
        ((system.main.hash(code) % 16) << 0)
        + ((system.main.hash(name) % 16) << 4)
        + ((system.main.hash(name_en) % 16) << 8)
        + ((system.main.hash(parent_code) % 16) << 12) as marks,
    from units
    where $every or code in (select ref from sealing_records where entity = 'unit')
),

criterion_digests as (
    -- code, title, title_en, category, category_en
    select
        'criterion' as entity,
        code as ref,
        system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        'criterion',
        case when code is null then '~' else system.main.concat(system.main.strlen(code::varchar), ':', code::varchar) end,
        case when title is null then '~' else system.main.concat(system.main.strlen(title::varchar), ':', title::varchar) end,
        case when title_en is null then '~' else system.main.concat(system.main.strlen(title_en::varchar), ':', title_en::varchar) end,
        case when category is null then '~' else system.main.concat(system.main.strlen(category::varchar), ':', category::varchar) end,
        case when category_en is null then '~' else system.main.concat(system.main.strlen(category_en::varchar), ':', category_en::varchar) end
        ))) as digest,
        ((system.main.hash(code) % 16) << 0)
        + ((system.main.hash(title) % 16) << 4)
        + ((system.main.hash(title_en) % 16) << 8)
        + ((system.main.hash(category) % 16) << 12)
        + ((system.main.hash(category_en) % 16) << 16) as marks,
    from criteria
    where $every or code in (select ref from sealing_records where entity = 'criterion')
),

user_digests as (
    -- email, role, unit, name
    select
        'user' as entity,
        email as ref,
        system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        'user',
        case when email is null then '~' else system.main.concat(system.main.strlen(email::varchar), ':', email::varchar) end,
        case when role is null then '~' else system.main.concat(system.main.strlen(role::varchar), ':', role::varchar) end,
        case when unit is null then '~' else system.main.concat(system.main.strlen(unit::varchar), ':', unit::varchar) end,
        case when name is null then '~' else system.main.concat(system.main.strlen(name::varchar), ':', name::varchar) end
        ))) as digest,
        ((system.main.hash(email) % 16) << 0)
        + ((system.main.hash(role) % 16) << 4)
        + ((system.main.hash(unit) % 16) << 8)
        + ((system.main.hash(name) % 16) << 12) as marks,
    from users
    where $every or email in (select ref from sealing_records where entity = 'user')
),

review_open_lists as (
    -- one row per review (with open items): the sha256 of its frozen open list, row by row in ref order, each
    -- row's fields (ref, unit, title, severity, status, found_on, due_on, age_days, days_overdue, owners) in turn
    select
        review,
        system.main.sha256(system.main.string_agg(system.main.concat_ws(
            system.main.chr(31),
            case when ref is null then '~' else system.main.concat(system.main.strlen(ref::varchar), ':', ref::varchar) end,
            case when unit is null then '~' else system.main.concat(system.main.strlen(unit::varchar), ':', unit::varchar) end,
            case when title is null then '~' else system.main.concat(system.main.strlen(title::varchar), ':', title::varchar) end,
            case when severity is null then '~' else system.main.concat(system.main.strlen(severity::varchar), ':', severity::varchar) end,
            case when status is null then '~' else system.main.concat(system.main.strlen(status::varchar), ':', status::varchar) end,
            case when found_on is null then '~' else system.main.concat(system.main.strlen(found_on::varchar), ':', found_on::varchar) end,
            case when due_on is null then '~' else system.main.concat(system.main.strlen(due_on::varchar), ':', due_on::varchar) end,
            case when age_days is null then '~' else system.main.concat(system.main.strlen(age_days::varchar), ':', age_days::varchar) end,
            case when days_overdue is null then '~' else system.main.concat(system.main.strlen(days_overdue::varchar), ':', days_overdue::varchar) end,
            case when owners is null then '~' else system.main.concat(system.main.strlen(owners::varchar), ':', owners::varchar) end
        ), system.main.chr(30) order by ref)) as open_items,
    from review_open_items
    where $every or review::varchar in (select ref from sealing_records where entity = 'review')
    group by review
),

review_decision_lists as (
    -- one row per review that decided actions: the sha256 of its (action, nonconformity) pairs in action order
    select
        review,
        system.main.sha256(system.main.string_agg(system.main.concat_ws(
            system.main.chr(31),
            case when action is null then '~' else system.main.concat(system.main.strlen(action::varchar), ':', action::varchar) end,
            case when nonconformity is null then '~' else system.main.concat(system.main.strlen(nonconformity::varchar), ':', nonconformity::varchar) end
        ), system.main.chr(30) order by action)) as decisions,
    from review_decisions
    where $every or review::varchar in (select ref from sealing_records where entity = 'review')
    group by review
),

review_conclusion_lists as (
    -- one row per review with conclusions: the sha256 of every version of each section's conclusion, in
    -- (section, version) order, each with its text and who wrote it (the time is its event's)
    select
        review,
        system.main.sha256(system.main.string_agg(system.main.concat_ws(
            system.main.chr(31),
            case when section is null then '~' else system.main.concat(system.main.strlen(section::varchar), ':', section::varchar) end,
            case when version is null then '~' else system.main.concat(system.main.strlen(version::varchar), ':', version::varchar) end,
            case when text is null then '~' else system.main.concat(system.main.strlen(text::varchar), ':', text::varchar) end,
            case when written_by is null then '~' else system.main.concat(system.main.strlen(written_by::varchar), ':', written_by::varchar) end
        ), system.main.chr(30) order by section, version)) as conclusions,
    from review_conclusions
    where $every or review::varchar in (select ref from sealing_records where entity = 'review')
    group by review
),

review_digests as (
    -- ref, held_on, title, attendees, unit, as_of, since, until, filters, audit, created_by, contract, snapshot,
    -- open_items, decisions, conclusions: the review with its snapshot (the frozen contract and the snapshot's own
    -- sha256), its frozen open list, its decisions and its chair's conclusions, sealed as one record (the events
    -- name the review, not its rows)
    select
        'review' as entity,
        r.id::varchar as ref,
        system.main.unhex(system.main.sha256(system.main.concat_ws(
        system.main.chr(31),
        'review',
        case when r.id is null then '~' else system.main.concat(system.main.strlen(r.id::varchar), ':', r.id::varchar) end,
        case when r.held_on is null then '~' else system.main.concat(system.main.strlen(r.held_on::varchar), ':', r.held_on::varchar) end,
        case when r.title is null then '~' else system.main.concat(system.main.strlen(r.title::varchar), ':', r.title::varchar) end,
        case when r.attendees is null then '~' else system.main.concat(system.main.strlen(r.attendees::varchar), ':', r.attendees::varchar) end,
        case when r.unit is null then '~' else system.main.concat(system.main.strlen(r.unit::varchar), ':', r.unit::varchar) end,
        case when r.as_of is null then '~' else system.main.concat(system.main.strlen(r.as_of::varchar), ':', r.as_of::varchar) end,
        case when r.since is null then '~' else system.main.concat(system.main.strlen(r.since::varchar), ':', r.since::varchar) end,
        case when r.until is null then '~' else system.main.concat(system.main.strlen(r.until::varchar), ':', r.until::varchar) end,
        case when r.filters is null then '~' else system.main.concat(system.main.strlen(r.filters::varchar), ':', r.filters::varchar) end,
        case when r.audit is null then '~' else system.main.concat(system.main.strlen(r.audit::varchar), ':', r.audit::varchar) end,
        case when r.created_by is null then '~' else system.main.concat(system.main.strlen(r.created_by::varchar), ':', r.created_by::varchar) end,
        case when s.contract is null then '~' else system.main.concat(system.main.strlen(s.contract::varchar), ':', s.contract::varchar) end,
        case when s.digest is null then '~' else system.main.concat(system.main.strlen(s.digest::varchar), ':', s.digest::varchar) end,
        case when o.open_items is null then '~' else system.main.concat(system.main.strlen(o.open_items::varchar), ':', o.open_items::varchar) end,
        case when d.decisions is null then '~' else system.main.concat(system.main.strlen(d.decisions::varchar), ':', d.decisions::varchar) end,
        case when c.conclusions is null then '~' else system.main.concat(system.main.strlen(c.conclusions::varchar), ':', c.conclusions::varchar) end
        ))) as digest,
        ((system.main.hash(r.id) % 16) << 0)
        + ((system.main.hash(r.held_on) % 16) << 4)
        + ((system.main.hash(r.title) % 16) << 8)
        + ((system.main.hash(r.attendees) % 16) << 12)
        + ((system.main.hash(r.unit) % 16) << 16)
        + ((system.main.hash(r.as_of) % 16) << 20)
        + ((system.main.hash(r.since) % 16) << 24)
        + ((system.main.hash(r.until) % 16) << 28)
        + ((system.main.hash(r.filters) % 16) << 32)
        + ((system.main.hash(r.audit) % 16) << 36)
        + ((system.main.hash(r.created_by) % 16) << 40)
        + ((system.main.hash(s.contract) % 16) << 44)
        + ((system.main.hash(s.digest) % 16) << 48)
        + ((system.main.hash(o.open_items) % 16) << 52)
        + ((system.main.hash(d.decisions) % 16) << 56)
        + ((system.main.hash(c.conclusions) % 16) << 60) as marks,
    from reviews as r
    left join review_snapshots as s on s.review = r.id
    left join review_open_lists as o on o.review = r.id
    left join review_decision_lists as d on d.review = r.id
    left join review_conclusion_lists as c on c.review = r.id
    where $every or r.id::varchar in (select ref from sealing_records where entity = 'review')
)

select * from nonconformity_digests
union all select * from action_digests
union all select * from unit_digests
union all select * from criterion_digests
union all select * from user_digests
union all select * from review_digests
