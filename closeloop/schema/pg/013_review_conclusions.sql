-- PostgreSQL's copy of ../013_review_conclusions.sql.
create table review_conclusions (
    review bigint not null,
    section varchar not null check (section in ('findings', 'objectives', 'satisfaction', 'inspections', 'decisions')),
    version integer not null check (version >= 1),
    text varchar not null,
    written_by varchar not null,
    written_at timestamptz not null,
    primary key (review, section, version)
);
