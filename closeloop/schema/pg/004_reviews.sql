-- PostgreSQL's copy of ../004_reviews.sql.
create table reviews (
    id bigint primary key,
    held_on date not null,
    title varchar not null,
    attendees varchar[] not null,
    unit varchar,
    as_of date not null,
    since date not null,
    until date not null,
    filters json not null,
    audit varchar not null,
    created_by varchar not null,
    created_at timestamptz not null,
    check (since <= until)
);

create table review_snapshots (
    review bigint primary key,
    contract json not null,
    digest varchar not null
);

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

create table review_decisions (
    review bigint not null,
    action varchar not null,
    nonconformity varchar not null,
    primary key (review, action)
);
