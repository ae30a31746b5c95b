-- one row per record (findings, actions, units, criteria, users, reviews; all when $every, else those in sealing_records):
-- the sha256 (32 bytes) of its kind and its fields in the events' text form (each field its length, a colon and its
-- text, null '~'; chr(31) between), and `marks`, 4 bits of DuckDB's hash of each field in turn, to name which one
-- changed (marks only name: the digest decides). Each kind lists its fields twice, in FIELDS' order in
-- closeloop/trail.py: as text (`texts`, for the digest) and as they are typed (`hashes`, for the marks). As
-- queries/trail_rows.sql, every function is named in DuckDB's own catalog and no operator touches the digest: a
-- macro kept in the store cannot stand in for a built-in here, so the text form is written out in this file (a
-- lambda is no catalog entry, and list_aggr finds only an aggregate function, which a store cannot hold).
with

review_rows as (
    -- one row per row a review froze, decided or concluded: which list, its place there, its fields' text, each list
    -- in its own order: the open list by ref (ref, unit, title, severity, status, found_on, due_on, age_days,
    -- days_overdue, owners), the decisions by action (action, nonconformity), every version of each section's
    -- conclusion by (section, version) (section, version, text, written_by; the time is its event's)
    select
        review,
        'open_items' as list,
        ref as place,
        null::integer as version,
        [ref, unit, title, severity, status, found_on::varchar, due_on::varchar, age_days::varchar,
         days_overdue::varchar, owners] as texts,
    from review_open_items
    union all
    select review, 'decisions', action, null, [action, nonconformity]
    from review_decisions
    union all
    select review, 'conclusions', section, version, [section, version::varchar, text, written_by]
    from review_conclusions
),

review_lists as (
    -- one row per (review, list) with rows: the sha256 of its rows' text, in its order, chr(30) between
    select
        review,
        list,
        system.main.sha256(system.main.string_agg(
            system.main.list_aggr(
                system.main.list_transform(texts, lambda t: case when t is null then '~'
                    else system.main.concat(system.main.strlen(t), ':', t) end),
                'string_agg', system.main.chr(31)
            ),
            system.main.chr(30) order by place, version
        )) as digest,
    from review_rows
    where $every or review::varchar in (select ref from sealing_records where entity = 'review')
    group by review, list
),

records as (
    -- one row per record: its kind, its key, its fields as text and as typed; each kind's records filtered before
    -- their fields are listed (a store holds millions of them, a move seals one)
    select 'nonconformity' as entity, ref,
        [ref, unit, audit, criterion, source::varchar, severity::varchar, title, description, root_cause,
         found_on::varchar, due_on::varchar, status::varchar, closed_on::varchar, verified_by] as texts,
        [system.main.hash(ref), system.main.hash(unit), system.main.hash(audit), system.main.hash(criterion),
         system.main.hash(source), system.main.hash(severity), system.main.hash(title), system.main.hash(description),
         system.main.hash(root_cause), system.main.hash(found_on), system.main.hash(due_on),
         system.main.hash(status), system.main.hash(closed_on), system.main.hash(verified_by)] as hashes,
    from nonconformities where $every or ref in (select ref from sealing_records where entity = 'nonconformity')
    union all
    select 'action', ref,
        [ref, nonconformity, kind::varchar, description, owner, due_on::varchar, status::varchar, done_on::varchar,
         evidence],
        [system.main.hash(ref), system.main.hash(nonconformity), system.main.hash(kind),
         system.main.hash(description), system.main.hash(owner), system.main.hash(due_on),
         system.main.hash(status), system.main.hash(done_on), system.main.hash(evidence)],
    from actions where $every or ref in (select ref from sealing_records where entity = 'action')
    union all
    select 'unit', code,
        [code, name, name_en, parent_code],
        [system.main.hash(code), system.main.hash(name), system.main.hash(name_en), system.main.hash(parent_code)],
    from units where $every or code in (select ref from sealing_records where entity = 'unit')
    union all
    select 'criterion', code,
        [code, title, title_en, category, category_en],
        [system.main.hash(code), system.main.hash(title), system.main.hash(title_en),
         system.main.hash(category), system.main.hash(category_en)],
    from criteria where $every or code in (select ref from sealing_records where entity = 'criterion')
    union all
    select 'user', email,
        [email, role::varchar, unit, name],
        [system.main.hash(email), system.main.hash(role), system.main.hash(unit), system.main.hash(name)],
    from users where $every or email in (select ref from sealing_records where entity = 'user')
    union all
    -- the review with its snapshot (the frozen contract and the snapshot's own sha256) and its three lists, sealed as
    -- one record: the events name the review, not its rows
    select 'review', r.id::varchar,
        [r.id::varchar, r.held_on::varchar, r.title, r.attendees::varchar, r.unit, r.as_of::varchar, r.since::varchar,
         r.until::varchar, r.filters::varchar, r.audit, r.created_by, s.contract::varchar, s.digest, o.digest, d.digest,
         c.digest],
        [system.main.hash(r.id), system.main.hash(r.held_on), system.main.hash(r.title), system.main.hash(r.attendees),
         system.main.hash(r.unit), system.main.hash(r.as_of), system.main.hash(r.since), system.main.hash(r.until),
         system.main.hash(r.filters), system.main.hash(r.audit), system.main.hash(r.created_by),
         system.main.hash(s.contract), system.main.hash(s.digest), system.main.hash(o.digest),
         system.main.hash(d.digest), system.main.hash(c.digest)],
    from reviews as r
    left join review_snapshots as s on s.review = r.id
    left join review_lists as o on o.review = r.id and o.list = 'open_items'
    left join review_lists as d on d.review = r.id and d.list = 'decisions'
    left join review_lists as c on c.review = r.id and c.list = 'conclusions'
    where $every or r.id::varchar in (select ref from sealing_records where entity = 'review')
)

select
    entity,
    ref,
    system.main.unhex(system.main.sha256(system.main.concat(entity, system.main.chr(31), system.main.list_aggr(
        system.main.list_transform(texts, lambda t: case when t is null then '~'
            else system.main.concat(system.main.strlen(t), ':', t) end),
        'string_agg', system.main.chr(31)
    )))) as digest,
    system.main.list_reduce(hashes, lambda marks, h, i: marks + ((h % 16) << (4 * (i - 1))), 0::ubigint) as marks,
from records
