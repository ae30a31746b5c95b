-- Each action also carries the day its finding was found, so that an action's terms as of a date (terms.sql
-- action_at: not open before its finding was found) need no join to the findings: at a million findings that
-- join was most of the Overview's count of open actions (docs/PERFORMANCE.md). store.refresh_findings keeps
-- it equal to the finding's own, with the other nc_* columns of migration 006.
alter table actions add column nc_found_on date;
update actions set nc_found_on = n.found_on
from nonconformities as n
where n.id = actions.nonconformity_id;
