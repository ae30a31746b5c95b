-- Business terms, defined once. Re-created on every migration run; every page query reads them.

-- one row per nonconformity with a criterion, of the given units (null: all): is it a repeat within
-- window_days, and after a closure? Pairs never cross units, so a unit's findings are enough.
-- store.refresh_findings keeps the default window's flags on each finding's row.
create or replace macro repeat_flags(window_days, units) as table
select
    id as nonconformity,
    count(*) over earlier > 0 as is_repeat,
    coalesce(min(closed_on) over earlier <= found_on, false) as is_repeat_after_closure,
from nonconformities
where criterion is not null
    and (units is null or list_contains(units, unit))
window earlier as (
    partition by unit, criterion
    order by found_on - date '1970-01-01'
    range between window_days preceding and 1 preceding
);

-- is a day within the period [since, until], both ends included ("opened in period": found_on; "closed
-- in period": closed_on)
create or replace macro in_period(day, since, until) as
    day between since and until;

-- "mine": does an action's owner name one of these people (a login, an email, a name as written in the
-- ledger)? Names match trimmed and ignoring case; owner_key is the one place that says when two are the same.
create or replace macro owner_key(name) as
    lower(trim(name));

create or replace macro is_owned_by(owner, names) as
    list_contains(list_transform(names, lambda name: owner_key(name)), owner_key(owner));

-- the aging bucket of a finding open for age_days: 0–30, 31–60, 61–90, 91–180, 181+ days
create or replace macro aging_bucket(age_days) as
    case
        when age_days <= 30 then '0-30'
        when age_days <= 60 then '31-60'
        when age_days <= 90 then '61-90'
        when age_days <= 180 then '91-180'
        else '181+'
    end;

-- whole days an open item is past its due date as of a date; 0 when it is not (yet)
-- overdue (the pages' lists show null there)
create or replace macro days_overdue(is_open, due_on, as_of) as
    if(is_open and due_on < as_of, as_of - due_on, 0);

-- the window whose repeat flags each finding keeps on its row (is_repeat_365, is_repeat_after_closure_365)
create or replace macro kept_window() as 365;

-- one row per unit below (and including) root; a null root means the whole organisation
create or replace macro unit_subtree(root) as table
select code
from units
where root is null
    or starts_with(path, (select path from units where code = root));

-- the unit one level below root on the way to a unit (below the top unit when root is null);
-- root itself for a finding recorded on root
create or replace macro child_below(unit_path, root) as
    coalesce(
        string_split(trim(unit_path, '/'), '/')[coalesce((select depth from units where code = root), 0) + 2],
        coalesce(root, string_split(trim(unit_path, '/'), '/')[1])
    );

-- one row per nonconformity: the metric contract's terms as of a date, all but the repeat flags of a
-- chosen window. unit_path and category are kept on the row (store.refresh_findings): no join.
create or replace macro nonconformity_terms(as_of) as table
select
    n.*,
    n.found_on <= as_of and (n.closed_on is null or n.closed_on > as_of) as is_open,
    is_open and coalesce(n.due_on < as_of, false) as is_overdue,
    nullif(days_overdue(is_open, n.due_on, as_of), 0) as days_overdue,
    case when is_open then as_of - n.found_on end as age_days,
    n.closed_on - n.found_on as days_to_close,
    -- the Kaplan–Meier duration: days to close if closed by as_of (an event), else days open so far (censored)
    if(n.closed_on <= as_of, n.closed_on, as_of) - n.found_on as days_observed,
    coalesce(n.closed_on <= n.due_on, false) as is_closed_on_time,
    -- a closure with no due date is neither on time nor late: the on-time rate is over these only
    n.closed_on is not null and n.due_on is not null as is_closed_with_due_date,
from nonconformities as n;

-- one row per nonconformity: the metric contract's terms as of a date, with the repeat flags for a
-- window: the kept ones for the default window, else those cached in `repeats` (store.ensure_repeats).
-- For the default window the join's condition is false once the window is bound, and DuckDB drops it.
create or replace macro nonconformity_at(as_of, window_days) as table
select
    n.* exclude (is_repeat_365, is_repeat_after_closure_365),
    if(window_days = kept_window(), n.is_repeat_365, coalesce(r.is_repeat, false)) as is_repeat,
    if(window_days = kept_window(), n.is_repeat_after_closure_365, coalesce(r.is_repeat_after_closure, false))
        as is_repeat_after_closure,
from nonconformity_terms(as_of) as n
left join repeats as r
    on window_days <> kept_window() and r.window_days = window_days and r.nonconformity = n.id;

-- The page filters and the viewer's scope travel as one struct, `filters` (store.bind builds it from
-- Filters.params as $filters): as_of, window_days, unit, sources, severities, categories, scope. Its
-- fields are read as filters['name']: filters.name would be a column of a table named filters.

-- is a finding (by its unit's path, source, severity, category) within the unit filter, the viewer's
-- scope and the other filters? A subtree is every unit whose path starts with its root's path.
create or replace macro is_in_scope(unit_path, source, severity, category, filters) as
    (filters['unit'] is null or starts_with(unit_path, (select path from units where code = filters['unit'])))
    and (filters['scope'] is null
        or starts_with(unit_path, (select path from units where code = filters['scope'])))
    and (len(filters['sources']) = 0 or list_contains(filters['sources'], source::varchar))
    and (len(filters['severities']) = 0 or list_contains(filters['severities'], severity::varchar))
    and (len(filters['categories']) = 0 or list_contains(filters['categories'], category));

-- one row per nonconformity the viewer may see and the filters select
create or replace macro nonconformity_in_scope(filters) as table
select n.*
from nonconformity_at(filters['as_of'], filters['window_days']) as n
where is_in_scope(n.unit_path, n.source, n.severity, n.category, filters);

-- the same without the repeat flags of a chosen window, for queries that do not read them (a window
-- other than the kept one costs a join)
create or replace macro nonconformity_terms_in_scope(filters) as table
select n.*
from nonconformity_terms(filters['as_of']) as n
where is_in_scope(n.unit_path, n.source, n.severity, n.category, filters);

-- one row per action with the terms as of a date. An action cannot exist before its finding: it is open
-- at as_of only once its finding was found (found_on <= as_of), so an as-of inside the store's history
-- (a review's "before" column) does not count the actions of findings found later. The join is to the
-- findings found after as_of, not to every finding: few or none for a recent as_of, and a scan that skips
-- most of a store kept roughly in the order found.
create or replace macro action_at(as_of) as table
select
    a.* exclude (not_yet_found),
    a.not_yet_found is null
        and a.status <> 'cancelled'
        and (a.done_on is null or a.done_on > as_of) as is_open,
    is_open and coalesce(a.due_on < as_of, false) as is_overdue,
    nullif(days_overdue(is_open, a.due_on, as_of), 0) as days_overdue,
from (
    select a.*, later.id as not_yet_found,
    from actions as a
    left join (select id from nonconformities where found_on > as_of) as later on later.id = a.nonconformity_id
) as a;

-- one row per action on a finding the viewer may see and the filters select, with the terms as of a date;
-- each action carries its finding's scope columns (nc_*), so no join is needed
create or replace macro action_in_scope(filters) as table
select a.*
from action_at(filters['as_of']) as a
where is_in_scope(a.nc_unit_path, a.nc_source, a.nc_severity, a.nc_category, filters);

-- one row per nonconformity the filters select, with how it changed after previous_as_of up to their as_of:
-- found, closed, became overdue (overdue at as_of, not at previous_as_of), reopened (a status event away
-- from closed, by the day it was recorded, UTC), or found as a repeat
create or replace macro nonconformity_changes(previous_as_of, filters) as table
with reopened as (
    select distinct ref
    from events
    where entity = 'nonconformity'
        and field = 'status'
        and old = 'closed'
        and new <> 'closed'
        and timezone('UTC', "at")::date > previous_as_of
        and timezone('UTC', "at")::date <= filters['as_of']
)

select
    n.*,
    n.found_on > previous_as_of and n.found_on <= filters['as_of'] as is_new,
    coalesce(n.closed_on > previous_as_of and n.closed_on <= filters['as_of'], false) as is_closed_since,
    n.is_overdue and not coalesce(before.is_overdue, false) as is_newly_overdue,
    n.ref in (select ref from reopened) as is_reopened,
    n.found_on > previous_as_of and n.found_on <= filters['as_of'] and n.is_repeat as is_new_repeat,
from nonconformity_in_scope(filters) as n
left join nonconformity_terms(previous_as_of) as before on before.id = n.id;

-- Push, not pull: due dates by severity, 三色督辦, and what the day's notices read.

-- the colour of an open item as of a date (三色督辦): 'overdue' (red) once its due date has passed,
-- 'due_soon' (yellow) when due within due_soon_days (the as-of day included), else 'on_track' (green);
-- null when it is not open or has no due date
create or replace macro due_status(is_open, due_on, as_of, due_soon_days) as
    case
        when not is_open or due_on is null then null
        when due_on < as_of then 'overdue'
        when due_on <= as_of + due_soon_days::integer then 'due_soon'
        else 'on_track'
    end;

-- the setting of that key as an integer (settings: due_soon_days, head_after_days, above_after_days)
create or replace macro setting_days(name) as
    (select value::integer from settings where key = name);

-- one row per (severity, source): the days from found_on to the due date of a finding that comes without
-- one (finding_days) and of its actions (action_days): the source's own row of deadlines, else the
-- severity's 'any' row. Every defaulted due date is found_on plus one of these, joined on both columns.
create or replace macro deadline_days() as table
select
    s.severity,
    o.source,
    coalesce(own.finding_days, fallback.finding_days) as finding_days,
    coalesce(own.action_days, fallback.action_days) as action_days,
from (select unnest(enum_range(null::severity)) as severity) as s
cross join (select unnest(enum_range(null::source)) as source) as o
left join deadlines as own on own.severity = s.severity and own.source = o.source::varchar
left join deadlines as fallback on fallback.severity = s.severity and fallback.source = 'any';

-- one row per finding ref that imports of more than one ledger file have written, with those files' names
create or replace macro ref_in_several_ledgers() as table
select e.ref, string_agg(distinct b.file_name, ' | ' order by b.file_name) as ledgers,
from events as e
join import_batches as b on b.id = e.batch
where e.entity = 'nonconformity'
group by e.ref
having count(distinct b.file_name) > 1;

-- one row per nonconformity: its due date, else the deadline of its severity (and source, when that has a
-- row of its own) counted from found_on, marked due_is_default. The contract (nonconformity_terms) never
-- reads it: a finding without a due date stays never overdue and a data gap there.
create or replace macro nonconformity_due() as table
select
    n.id,
    n.ref,
    coalesce(n.due_on, n.found_on + d.finding_days) as due_on,
    n.due_on is null as due_is_default,
from nonconformities as n
join deadline_days() as d on d.severity = n.severity and d.source = n.source;

-- one row per action with its finding: open at T in the contract's sense (its finding found by T, not
-- cancelled, not done by T), its due date for notices (its own, else its finding's found_on + the
-- deadline's action days, due_is_default), its colour and its days overdue
create or replace macro action_due_at(as_of) as table
with dated as (
    select
        a.ref,
        a.owner,
        a.description,
        n.ref as nonconformity,
        n.title as nonconformity_title,
        n.unit,
        a.is_open and n.found_on <= as_of as is_open,
        coalesce(a.due_on, n.found_on + d.action_days) as due_on,
        a.due_on is null as due_is_default,
    from action_at(as_of) as a
    join nonconformities as n on n.id = a.nonconformity_id
    join deadline_days() as d on d.severity = n.severity and d.source = n.source
)

select
    *,
    due_status(is_open, due_on, as_of, setting_days('due_soon_days')) as due_status,
    days_overdue(is_open, due_on, as_of) as days_overdue,
from dated;

-- one row per nonconformity open at T with its due date for notices, colour and days overdue, and how
-- many of its actions are open (none: nobody is working on it, so its unit's head hears of it)
create or replace macro nonconformity_due_at(as_of) as table
select
    n.ref,
    n.title,
    n.unit,
    d.due_on,
    d.due_is_default,
    due_status(n.is_open, d.due_on, as_of, setting_days('due_soon_days')) as due_status,
    days_overdue(n.is_open, d.due_on, as_of) as days_overdue,
    coalesce(w.open_actions, 0) as open_actions,
from nonconformity_terms(as_of) as n
join nonconformity_due() as d on d.id = n.id
left join (
    select nonconformity, count(*) as open_actions from action_due_at(as_of) where is_open group by all
) as w on w.nonconformity = n.ref
where n.is_open;

-- =============================================================================================
-- plan17: plan and check — objectives, the inspection programme, satisfaction (DESIGN.md, "Plan and
-- check"). Their records carry a unit's code, not its path: each term joins the (small) units table.
-- A withdrawn row is kept but left out of every term.

-- is a unit (by its path) within the unit filter and the viewer's scope?
create or replace macro unit_path_in_scope(unit_path, unit, scope) as
    (unit is null or starts_with(unit_path, (select path from units where code = unit)))
    and (scope is null or starts_with(unit_path, (select path from units where code = scope)));

-- one row per objective of as_of's year, scored on its own actuals as of that date:
-- month: the last month with an actual up to as_of's month (null: no actual yet);
-- value: that month's actual (level), or the sum of the actuals to it (cumulative);
-- target_to_date: target (level), or target × month / 12 (cumulative);
-- attainment: value / target to date (higher is better; 1 for a target of 0), or 1 when the value is 0,
-- else target to date / value (lower is better); capped at 1; rounded to 9 places, so that 10.8 of 12
-- (0.8999… in binary) is the 0.9 it is, at risk and not missed;
-- status: met at 1, at_risk at 0.9 or more, else missed; null with no actual yet
create or replace macro objective_at(as_of) as table
-- columns qualified: a macro that reads this one may have a parameter named unit, which would take the
-- place of a bare column of that name
with to_date as (
    select
        a.unit,
        a.year,
        a.code,
        max(a.month) as month,
        arg_max(a.actual, a.month) as last_actual,
        sum(a.actual) as actual_sum,
    from objective_actuals as a
    where not a.withdrawn
        and a.year = year(as_of)
        and a.month <= month(as_of)
    group by a.unit, a.year, a.code
),

valued as (
    select
        o.* exclude (withdrawn),
        u.path as unit_path,
        t.month,
        case o.kind when 'level' then t.last_actual else t.actual_sum end as value,
        case o.kind when 'level' then o.target else o.target * t.month / 12 end as target_to_date,
    from objectives as o
    join units as u on u.code = o.unit
    left join to_date as t on t.unit = o.unit and t.year = o.year and t.code = o.code
    where not o.withdrawn
        and o.year = year(as_of)
),

attained as (
    select
        *,
        case
            when value is null then null
            when direction = 'higher' and target_to_date = 0 then 1.0
            when direction = 'higher' then least(round(value / target_to_date, 9), 1.0)
            when value = 0 then 1.0
            else least(round(target_to_date / value, 9), 1.0)
        end as attainment,
    from valued
)

select
    *,
    case
        when attainment is null then null
        when attainment >= 1 then 'met'
        when attainment >= 0.9 then 'at_risk'
        else 'missed'
    end as status,
from attained;

-- the weighted score of a set of objectives (an aggregate): Σ weight × attainment / Σ weight over those
-- with a status; null when none has one or their weights sum to 0
create or replace macro objective_score(weight, attainment) as
    sum(weight * attainment) filter (where attainment is not null)
        / nullif(sum(weight) filter (where attainment is not null), 0);

-- one row per objective of as_of's year in the unit filter's subtree and the viewer's scope
create or replace macro objective_in_scope(as_of, unit, scope) as table
select o.*
from objective_at(as_of) as o
where unit_path_in_scope(o.unit_path, unit, scope);

-- one row per unit in the filter and scope with objectives of as_of's year in its subtree: the counts by
-- status and the score of the whole subtree (each unit's objectives and every unit's below it)
create or replace macro objective_rollup(as_of, unit, scope) as table
select
    u.code as unit,
    u.depth,
    count(*) as objectives,
    count(o.status) as with_status,
    count(*) filter (where o.status = 'met') as met,
    count(*) filter (where o.status = 'at_risk') as at_risk,
    count(*) filter (where o.status = 'missed') as missed,
    objective_score(o.weight, o.attainment) as score,
from units as u
join objective_in_scope(as_of, unit, scope) as o on starts_with(o.unit_path, u.path)
where unit_path_in_scope(u.path, unit, scope)
group by u.code, u.depth;

-- one row per inspection with its unit's path and its terms as of a date over a period:
-- due: planned from since to min(until, as_of); performed: due and performed by as_of;
-- overdue: due and not performed
create or replace macro inspection_at(as_of, since, until) as table
select
    i.* exclude (withdrawn),
    u.path as unit_path,
    in_period(i.planned_on, since, least(until, as_of)) as is_due,
    is_due and coalesce(i.performed_on <= as_of, false) as is_performed,
    is_due and not is_performed as is_overdue,
from inspections as i
join units as u on u.code = i.unit
where not i.withdrawn;

-- one row per inspection in the unit filter's subtree and the viewer's scope
create or replace macro inspection_in_scope(as_of, since, until, unit, scope) as table
select i.*
from inspection_at(as_of, since, until) as i
where unit_path_in_scope(i.unit_path, unit, scope);

-- one row per checklist result of an inspection performed (and due) in the period, in the filter and
-- scope, with its inspection's unit; a failed item with no nonconformity is a data-quality gap
create or replace macro inspection_result_in_scope(as_of, since, until, unit, scope) as table
select
    r.* exclude (withdrawn),
    i.unit,
    i.unit_path,
    r.result = 'fail' and r.nonconformity is null as is_unlinked_failure,
from inspection_results as r
join inspection_in_scope(as_of, since, until, unit, scope) as i on i.ref = r.inspection
where not r.withdrawn
    and i.is_performed;

-- one row: the inspection programme in the filter and scope. performed_rate = performed / due;
-- coverage = distinct (unit, criterion) pairs with a result / (units with an inspection due × criteria in
-- the store); score = Σ points awarded / Σ points possible over the results; null where a denominator is 0
create or replace macro inspection_programme(as_of, since, until, unit, scope) as table
with due as (
    select
        count(*) filter (where is_due) as due,
        count(*) filter (where is_performed) as performed,
        count(*) filter (where is_overdue) as overdue,
        count(distinct i.unit) filter (where is_due) as units_due,
    from inspection_in_scope(as_of, since, until, unit, scope) as i
),

scored as (
    select
        count(*) as results,
        count(*) filter (where is_unlinked_failure) as unlinked_failures,
        sum(points_awarded) as points_awarded,
        sum(points_possible) as points_possible,
    from inspection_result_in_scope(as_of, since, until, unit, scope)
),

checklist as (
    select count(*) as criteria
    from criteria
),

covered as (
    select count(*) as pairs_covered
    from (
        select distinct r.unit, r.criterion
        from inspection_result_in_scope(as_of, since, until, unit, scope) as r
        where r.criterion in (select code from criteria)
    )
)

select
    due.*,
    checklist.criteria,
    covered.pairs_covered,
    scored.results,
    scored.unlinked_failures,
    due.performed / nullif(due.due, 0) as performed_rate,
    covered.pairs_covered / nullif(due.units_due * checklist.criteria, 0) as coverage,
    scored.points_awarded / nullif(scored.points_possible, 0) as score,
from due, scored, checklist, covered;

-- one row per survey answer given from since to min(until, as_of), with its unit's path, its points on
-- the index's scale ((score − 1) / 4 × 100: 1 → 0, 3 → 50, 5 → 100), satisfied (4 or 5) and
-- dissatisfied (1 or 2)
create or replace macro survey_answer_at(as_of, since, until) as table
select
    a.* exclude (withdrawn),
    u.path as unit_path,
    (a.score - 1) / 4 * 100 as index_points,
    a.score >= 4 as is_satisfied,
    a.score <= 2 as is_dissatisfied,
from survey_answers as a
join units as u on u.code = a.unit
where not a.withdrawn
    and in_period(a.answered_on, since, least(until, as_of));

-- one row per survey answer of the window in the unit filter's subtree and the viewer's scope
create or replace macro survey_answer_in_scope(as_of, since, until, unit, scope) as table
select a.*
from survey_answer_at(as_of, since, until) as a
where unit_path_in_scope(a.unit_path, unit, scope);

-- one row: satisfaction in the filter and scope. index = mean of the answers' index points; satisfied
-- and dissatisfied shares of the answers; null with no answers
create or replace macro satisfaction_summary(as_of, since, until, unit, scope) as table
select
    count(*) as answers,
    avg(index_points) as index,
    count(*) filter (where is_satisfied) / nullif(count(*), 0) as satisfied_share,
    count(*) filter (where is_dissatisfied) / nullif(count(*), 0) as dissatisfied_share,
from survey_answer_in_scope(as_of, since, until, unit, scope);

-- one row per (unit, wave) with answers in the window, filter and scope: the index, and what its 95 %
-- interval is made of: the respondents (each one's mean index points is one observation), their mean
-- and sample standard deviation. The interval is mean ± t(0.975, respondents − 1) × sd / √respondents,
-- none below two respondents (closeloop.metrics.satisfaction_intervals: the t quantile).
create or replace macro satisfaction_by_unit_wave(as_of, since, until, unit, scope) as table
with respondents as (
    select
        a.unit as answer_unit,
        a.wave,
        a.respondent,
        count(*) as answers,
        sum(a.index_points) as points,
        avg(a.index_points) as mean_points,
    from survey_answer_in_scope(as_of, since, until, unit, scope) as a
    group by a.unit, a.wave, a.respondent
)

-- a column named unit here would be read as the macro's parameter: the unit is renamed on the way
select
    r.answer_unit as unit,
    r.wave,
    sum(answers)::bigint as answers,
    sum(points) / sum(answers) as index,
    count(*) as respondents,
    avg(mean_points) as respondent_mean,
    stddev_samp(mean_points) as respondent_sd,
from respondents as r
group by r.answer_unit, r.wave;

-- one row per (unit, wave, item) of every answer kept (no period: a finding raised once stays raised): its
-- mean score, when the wave's answers about the unit began and ended, and whether the mean is below 3
-- (dissatisfied: it raises a nonconformity; a later wave's mean of 3 or more closes it)
create or replace macro survey_item_means() as table
with waves as (
    select a.unit as wave_unit, a.wave, min(a.answered_on) as wave_began_on, max(a.answered_on) as wave_ended_on,
    from survey_answers as a
    where not a.withdrawn
    group by a.unit, a.wave
)

select
    a.unit,
    a.wave,
    a.item,
    count(*) as answers,
    avg(a.score) as mean_score,
    any_value(w.wave_began_on) as wave_began_on,
    any_value(w.wave_ended_on) as wave_ended_on,
    avg(a.score) < 3 as is_dissatisfied_item,
from survey_answers as a
join waves as w on w.wave_unit = a.unit and w.wave = a.wave
where not a.withdrawn
group by a.unit, a.wave, a.item;

-- plan17b: the ref of the nonconformity a missed objective raises (source superior_assessment), its link back
create or replace macro objective_finding_ref(unit, year, code) as
    'OBJ-' || unit || '-' || year::varchar || '-' || code;

-- myunit: the unit head's view

-- is an open item due within the `days` days from as_of, that day included (as_of … as_of + days − 1)?
-- "due this week" is days = 7: due on the as-of day up to six days after it
create or replace macro is_due_within(is_open, due_on, as_of, days) as
    coalesce(is_open and due_on >= as_of and due_on < as_of + days::integer, false);
