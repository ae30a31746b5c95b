"""deploy/cluster.sh: two dashboards on one PostgreSQL behind HAProxy, each browser kept on its replica."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO, require
from tests.conftest import pg_binary

AS_OF = "2026-06-30"


def free_base() -> int:
    """A port whose next three are free too (HAProxy, two replicas, PostgreSQL)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 3 < 65536 and all(_free(base + i) for i in range(1, 4)):
            return base
    raise RuntimeError("no four free ports in a row")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def cluster(golden_dir):
    require(shutil.which("haproxy") is not None, "HAProxy is not installed: apt-get install haproxy")
    require(pg_binary("initdb") is not None, "PostgreSQL is not installed: apt-get install postgresql")
    # not under pytest's folder, private to root: PostgreSQL runs as the postgres user
    state = Path(tempfile.mkdtemp(prefix="closeloop-cluster-")) / "cluster"
    state.parent.chmod(0o755)
    base = free_base()
    env = os.environ | {"CLOSELOOP_CLUSTER": str(state), "CLOSELOOP_PORT": str(base), "PYTHON": sys.executable}
    script = REPO / "deploy" / "cluster.sh"
    try:
        up = subprocess.run(["bash", script, "up", golden_dir], env=env, capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stderr
        store = up.stdout.strip().splitlines()[-1].removeprefix("store: ")
        yield f"http://127.0.0.1:{base}/", store, state
    finally:
        subprocess.run(["bash", script, "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(state.parent, ignore_errors=True)


def test_two_replicas_behind_haproxy_show_the_same_overview_and_a_write_on_both(browser, cluster, tmp_path):
    url, store, state = cluster
    # a new browser is given a replica by a cookie (which one depends on the order its first requests went)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{url}?lang=en&as_of={AS_OF}")
    expect(page.locator('.st-key-kpi-open [data-testid="stMetricValue"]')).to_have_text("41")
    assert {c["value"] for c in context.cookies() if c["name"] == "CLOSELOOP_REPLICA"} <= {"replica1", "replica2"}
    context.close()
    # a browser holding a replica's cookie is sent to that replica: one on each
    replicas = ["replica1", "replica2"]
    pages = []
    for replica in replicas:
        context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "CLOSELOOP_REPLICA", "value": replica, "url": url}])
        context.set_default_timeout(60_000)
        page = context.new_page()
        served = page.goto(f"{url}?lang=en&as_of={AS_OF}")
        assert served.headers["x-closeloop-replica"] == replica  # HAProxy names the server that answered
        expect(page.locator('.st-key-kpi-open [data-testid="stMetricValue"]')).to_have_text("41")
        pages.append(page)
    one_more = tmp_path / "more"
    one_more.mkdir()
    (one_more / "nonconformities.csv").write_text(
        "ref,unit,criterion,source,severity,title,found_on,due_on,status\n"
        "NC-NEW,DH,1.1,inspection,minor,新發現,2026-06-01,2026-12-31,open\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "closeloop", "import", one_more, "--db", store], cwd=REPO,
                          env=os.environ | {"CLOSELOOP_CACHE": str(tmp_path / "cli"), "CLOSELOOP_LANG": "en"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for page, replica in zip(pages, replicas):
        assert page.reload().headers["x-closeloop-replica"] == replica
        expect(page.locator('.st-key-kpi-open [data-testid="stMetricValue"]')).to_have_text("42")
    assert replicas == [next(c["value"] for c in p.context.cookies() if c["name"] == "CLOSELOOP_REPLICA")
                        for p in pages]
    for page in pages:
        page.context.close()
