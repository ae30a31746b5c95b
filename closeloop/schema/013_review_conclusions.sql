-- The chair's conclusion on each section a management review considered (ISO 9001 §9.3: findings,
-- objectives met, satisfaction, inspection results, and the decisions). Only inserts: a conclusion
-- written again is a new version of it; the latest is the one shown, the earlier ones stay, and every
-- version is an event sealed in the trail with the review's other writes.

-- one row per version of a review's conclusion on one section
create table review_conclusions (
    review bigint not null,
    section varchar not null check (section in ('findings', 'objectives', 'satisfaction', 'inspections', 'decisions')),
    version integer not null check (version >= 1),
    text varchar not null,
    written_by varchar not null,
    written_at timestamptz not null default now(),
    primary key (review, section, version)
);
