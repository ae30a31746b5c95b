"""The demo store: deterministic, shaped like the bureau's ledgers, and true to the schema's rules."""

from __future__ import annotations

import pytest

from closeloop import demo, metrics, store, trail
from closeloop.filters import Filters

# Each table with the key that orders it for a digest.
TABLES = {"units": "code", "criteria": "code", "audits": "ref", "nonconformities": "ref",
          "actions": "ref", "events": "id"}


def built(path, **kwargs):
    con = store.connect(path)
    counts = demo.build(con, **kwargs)
    return con, counts


def digests(con) -> dict:
    return {
        table: one(con, f"select md5(string_agg(t::varchar, '|' order by {key})) from {table} as t")
        for table, key in TABLES.items()
    }


def one(con, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchall()[0][0]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con, _ = built(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    yield con
    con.close()


def test_same_seed_gives_identical_tables(tmp_path):
    first, _ = built(tmp_path / "a.duckdb", ncs=3000, seed=11)
    second, _ = built(tmp_path / "b.duckdb", ncs=3000, seed=11)
    assert digests(first) == digests(second)


def test_another_seed_gives_other_findings(tmp_path):
    first, _ = built(tmp_path / "a.duckdb", seed=1)
    second, _ = built(tmp_path / "b.duckdb", seed=2)
    a, b = digests(first), digests(second)
    assert a["nonconformities"] != b["nonconformities"]
    assert a["actions"] != b["actions"]
    assert a["events"] != b["events"]


def test_default_size_matches_the_counts_it_reports(tmp_path):
    con, counts = built(tmp_path / "demo.duckdb")
    tables = {"units": "units", "criteria": "criteria", "ncs": "nonconformities", "actions": "actions"}
    stored = {key: one(con, f"select count(*) from {table}") for key, table in tables.items()}
    assert counts == stored
    assert 55 <= counts["units"] <= 65
    assert 25 <= counts["criteria"] <= 35
    assert counts["ncs"] == 3000
    per_nc = con.execute(
        "select min(n), max(n), avg(n) from (select count(*) as n from actions group by nonconformity)"
    ).fetchall()[0]
    assert per_nc[:2] == (1, 3)
    assert 1.8 <= per_nc[2] <= 2.2
    without = "select count(*) from nonconformities as n anti join actions as a on a.nonconformity = n.ref"
    assert one(con, without) == 0


def test_units_scale_with_findings_under_districts_at_large_sizes():
    assert len(demo.unit_rows(3000)["code"]) == 60
    large = demo.unit_rows(1_000_000)["table"]
    assert 16_000 <= large.num_rows <= 18_000
    assert max(large["depth"].to_pylist()) == 3  # bureau › district › party branch


def test_a_larger_demo_repeats_as_often_as_the_default_one(tmp_path):
    # ~50 findings per unit at every size: spread out, so that mostly the chains repeat (not 94 %, as with
    # ~3,000 units for 1M findings)
    con, _ = built(tmp_path / "demo.duckdb", ncs=20_000)
    rate = metrics.contract(con, Filters.default(demo.DEMO_END))["recurrence_rate"]
    assert 0.05 <= rate <= 0.2


def test_a_tiny_demo_still_builds(tmp_path):
    con, counts = built(tmp_path / "demo.duckdb", ncs=40)
    assert counts["ncs"] == one(con, "select count(*) from nonconformities") == 40


def test_build_survives_an_unread_result_left_by_the_caller(tmp_path):
    con = store.connect(tmp_path / "demo.duckdb")
    con.execute("select count(*) from nonconformities").fetchone()
    assert demo.build(con, ncs=100)["ncs"] == 100


def test_closed_exactly_when_closed_on_is_set(con):
    mismatched = "select count(*) from nonconformities where (status = 'closed') <> (closed_on is not null)"
    assert one(con, mismatched) == 0
    assert one(con, "select count(*) from nonconformities where closed_on < found_on") == 0
    assert one(con, "select count(*) from nonconformities where status = 'closed' and verified_by is null") == 0


def test_done_exactly_when_done_on_is_set(con):
    assert one(con, "select count(*) from actions where (status = 'done') <> (done_on is not null)") == 0
    assert one(con, "select count(*) from actions where evidence is not null and status <> 'done'") == 0
    share = one(con, "select avg((evidence is not null)::int) from actions where status = 'done'")
    assert 0.8 <= share <= 0.95


def test_a_closed_findings_actions_were_done_by_its_closure(con):
    late = one(con, """
        select count(*) from actions as a join nonconformities as n on n.ref = a.nonconformity
        where n.status = 'closed' and (a.status not in ('done', 'cancelled') or a.done_on > n.closed_on
            or a.done_on < n.found_on)
    """)
    assert late == 0
    assert one(con, "select count(*) from actions where status = 'cancelled'") > 0


def test_open_statuses_follow_the_actions(con):
    rows = con.execute("""
        select n.status, bool_and(a.status in ('done', 'cancelled')) as all_done,
            bool_or(a.status in ('in_progress', 'done')) as any_started, count(*)
        from nonconformities as n join actions as a on a.nonconformity = n.ref
        where n.status <> 'closed'
        group by n.ref, n.status
    """).fetchall()
    for status, all_done, any_started, _ in rows:
        assert all_done == (status == "awaiting_verification")
        assert any_started == (status != "open")
    assert {r[0] for r in rows} == {"open", "in_progress", "awaiting_verification"}


def test_nothing_happens_after_the_demo_end(con):
    end = demo.DEMO_END
    first, last = con.execute("select min(found_on), max(found_on) from nonconformities").fetchall()[0]
    assert last <= end and (end - first).days >= 3 * 365
    assert one(con, "select max(closed_on) from nonconformities") <= end
    assert one(con, "select max(done_on) from actions") <= end
    assert one(con, "select max(started_on) from audits") <= end
    assert one(con, "select max(\"at\")::date from events") <= end


def test_severities_and_due_dates_look_like_a_ledger(con):
    shares = dict(con.execute(
        "select severity::varchar, count(*) / 3000 from nonconformities group by all"
    ).fetchall())
    assert shares["major"] == pytest.approx(0.2, abs=0.04)
    assert shares["minor"] == pytest.approx(0.5, abs=0.04)
    no_due = one(con, "select count(*) from nonconformities where due_on is null")
    assert 5 <= no_due <= 60
    spans = con.execute(
        "select min(due_on - found_on), max(due_on - found_on) from nonconformities"
    ).fetchall()[0]
    assert spans == (15, 90)
    # Majors close faster than observations.
    medians = dict(con.execute(
        "select severity::varchar, median(closed_on - found_on) from nonconformities group by all"
    ).fetchall())
    assert medians["major"] < medians["minor"] < medians["observation"]


def test_references_resolve(con):
    assert one(con, "select count(*) from nonconformities where unit not in (select code from units)") == 0
    assert one(con, "select count(*) from nonconformities where criterion not in (select code from criteria)") == 0
    orphans = "select count(*) from actions where nonconformity not in (select ref from nonconformities)"
    assert one(con, orphans) == 0
    # An audit covers its group: the finding's unit is the audited unit or below it.
    outside = one(con, """
        select count(*) from nonconformities as n
        join audits as a on a.ref = n.audit
        join units as au on au.code = a.unit
        join units as nu on nu.code = n.unit
        where not starts_with(nu.path, au.path) or a.source <> n.source or n.found_on < a.started_on
    """)
    assert outside == 0
    assert one(con, "select count(*) from nonconformities where audit is null") == 0


def test_unit_paths_follow_parents(con):
    roots = con.execute("select code, path, depth from units where parent_code is null").fetchall()
    assert roots == [("HQ", "/HQ/", 0)]
    wrong = one(con, """
        select count(*) from units as u join units as p on p.code = u.parent_code
        where u.path <> p.path || u.code || '/' or u.depth <> p.depth + 1
    """)
    assert wrong == 0
    assert one(con, "select count(*) from units where parent_code not in (select code from units)") == 0
    assert one(con, "select count(*) from units where parent_code = 'HQ'") >= 6
    assert one(con, "select count(*) from units where name_en is null or name = name_en") == 0


def test_criteria_are_bilingual_and_cover_the_assessment(con):
    categories = {r[0] for r in con.execute("select category from criteria").fetchall()}
    assert categories == {"组织建设", "三会一课", "党员教育", "党风廉政", "目标责任", "群众满意"}
    assert one(con, "select count(*) from criteria where title_en is null or category_en is null") == 0
    titles = one(con, "select count(distinct title) from nonconformities")
    assert titles == len(demo.CRITERIA)


def test_repeats_exist_and_concentrate_in_few_pairs(con):
    pairs = con.execute("""
        select count(*) filter (where is_repeat) as repeats, count(*) filter (where is_repeat_after_closure)
        from nonconformity_at(current_date, 365)
        group by unit, criterion
        order by repeats desc
    """).fetchall()
    repeats = [r[0] for r in pairs]
    top = repeats[: len(repeats) // 20]
    assert sum(repeats) > 100
    assert sum(top) / sum(repeats) > 0.5
    assert max(repeats) >= 4
    assert sum(r[1] for r in pairs) > 0


def test_metrics_as_of_the_demo_end_are_plausible(con):
    m = metrics.contract(con, Filters.default(demo.DEMO_END))
    for key in ("open", "overdue", "opened_in_period", "closed_in_period", "closed_on_time_in_period",
                "repeat_in_period", "repeat_after_closure_in_period", "actions_open", "actions_overdue",
                "no_due_date_open"):
        assert m[key] > 0, key
    assert 0.08 <= m["open"] / 3000 <= 0.18
    assert 0.05 <= m["recurrence_rate"] <= 0.25
    assert m["median_days_to_close_km"] is not None
    assert all(count > 0 for count in m["aging"].values()), m["aging"]


def test_events_trace_every_record_and_status_step(con):
    created = dict(con.execute(
        "select entity, count(*) from events where field = 'created' and reason = 'demo' group by all"
    ).fetchall())
    assert created == {"nonconformity": 3000, "action": one(con, "select count(*) from actions")}
    # Replaying each finding's status events from 'open' ends at its stored status.
    broken = one(con, """
        with steps as (
            select ref, old, new, lag(new, 1, 'open') over (partition by ref order by id) as before,
                row_number() over (partition by ref order by id desc) as from_last
            from events where field = 'status'
        )
        select count(*) from steps
        left join nonconformities as n on n.ref = steps.ref and steps.from_last = 1
        where steps.old <> steps.before or (steps.from_last = 1 and n.status::varchar <> steps.new)
    """)
    assert broken == 0
    moved = one(con, "select count(*) from nonconformities where status <> 'open'")
    assert one(con, "select count(distinct ref) from events where field = 'status'") == moved
    closed_at = one(con, """
        select count(*) from events as e join nonconformities as n on n.ref = e.ref
        where e.new = 'closed' and e."at"::date <> n.closed_on
    """)
    assert closed_at == 0
    assert one(con, "select count(*) from events where batch is not null") == 0


def test_event_ids_follow_time_and_the_sequence_continues(con):
    out_of_order = one(con, """
        select count(*) from (select "at", lag("at") over (order by id) as before from events) where "at" < before
    """)
    assert out_of_order == 0
    assert one(con, "select max(id) from events") == one(con, "select count(*) from events")
    assert one(con, "select nextval('event_id')") > one(con, "select max(id) from events")


def test_the_demo_trail_is_sealed_in_one_block(con):
    verdict = trail.verify(con)
    assert verdict.ok, verdict.problems[:3]
    assert verdict.blocks == 1
    assert verdict.events == one(con, "select count(*) from events")
