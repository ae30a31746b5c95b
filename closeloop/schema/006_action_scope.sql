-- Each action carries what the scope filters read of its finding (unit path, source, severity, category),
-- so that pages count and list actions without joining millions of actions to their findings.
-- store.refresh_findings keeps them equal to the finding's own.
alter table actions add column nc_unit_path varchar;
alter table actions add column nc_source source;
alter table actions add column nc_severity severity;
alter table actions add column nc_category varchar;
