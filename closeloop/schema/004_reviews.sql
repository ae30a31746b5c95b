-- Management reviews: when one was held, who attended, what it looked at (frozen), and what it decided.
-- Only inserts: a review is never changed or deleted once recorded; its events are sealed in the trail.
-- duckdb only
create sequence review_id;

-- one row per management review: the meeting, its scope (a unit subtree; null: the whole organisation)
-- and the filters it was looked at through
create table reviews (
    id bigint primary key default nextval('review_id'),
    held_on date not null,
    title varchar not null,
    attendees varchar[] not null,
    unit varchar,
    as_of date not null,
    since date not null,
    until date not null,
    filters json not null,  -- every Filters field, so the review can be looked at again exactly as it was
    audit varchar not null,  -- the audits row of source management_review its own findings belong to
    created_by varchar not null,
    created_at timestamptz not null default now(),
    check (since <= until)
);

-- one row per review: the metric contract as it stood at the review's as-of date
create table review_snapshots (
    review bigint primary key,
    contract json not null,
    digest varchar not null  -- sha256 of the snapshot (contract and open list), also written to the trail
);

-- one row per finding open at the review's as-of date, as the review saw it
create table review_open_items (
    review bigint not null,
    ref varchar not null,
    unit varchar not null,
    title varchar not null,
    severity varchar not null,
    status varchar not null,
    found_on date not null,
    due_on date,
    age_days integer not null,
    days_overdue integer,
    owners varchar,
    primary key (review, ref)
);

-- one row per action a review decided (on one of its own findings, or on an existing one)
create table review_decisions (
    review bigint not null,
    action varchar not null,
    nonconformity varchar not null,
    primary key (review, action)
);
