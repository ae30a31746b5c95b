"""The embedded store shared: the command line writes while the dashboard serves, and the next page load shows it."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.conftest import AS_OF, REPO, Server, server_env
from tests.browser.test_overview import idle, kpi_value


def test_an_import_while_the_dashboard_serves_shows_on_the_next_page_load(new_page, tmp_path, cli, golden_dir,
                                                                          golden_imported):
    db = golden_imported(tmp_path / "closeloop.duckdb")
    before = json.loads(cli("metrics", "--db", db, "--as-of", AS_OF).stdout)["open"]
    assert before == json.loads((golden_dir / "expected.json").read_text(encoding="utf-8"))["all"]["open"]  # 41
    server = Server(REPO, server_env(CLOSELOOP_DB=str(db)), tmp_path / "streamlit.log").start()
    try:
        page = new_page()
        page.goto(f"{server.url}/?as_of={AS_OF}&lang=en")
        expect(kpi_value(page, "open")).to_have_text(f"{before:,}")
        idle(page)

        # one more open finding, on a unit and criterion of the golden ledger, found inside the period
        ledger = tmp_path / "one-more"
        ledger.mkdir()
        units = (golden_dir / "units.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
        criterion = (golden_dir / "criteria.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
        (ledger / "nonconformities.csv").write_text(
            "ref,unit,criterion,source,severity,title,found_on\n"
            f"SHARED-1,{units},{criterion},inspection,minor,one more,2026-06-01\n", encoding="utf-8")
        done = cli("import", ledger, "--db", db)
        assert done.returncode == 0, done.stderr + server.log_tail()

        page.goto(f"{server.url}/?as_of={AS_OF}&lang=en")
        expect(kpi_value(page, "open")).to_have_text(f"{before + 1:,}")
        # and the command line reads the served store too
        assert json.loads(cli("metrics", "--db", db, "--as-of", AS_OF).stdout)["open"] == before + 1
    finally:
        server.stop()
