-- PostgreSQL's copy of ../006_action_scope.sql.
alter table actions add column nc_unit_path varchar;
alter table actions add column nc_source source;
alter table actions add column nc_severity severity;
alter table actions add column nc_category varchar;
