"""Browser fixtures: Debian's Chromium, and the dashboard served by a real Streamlit process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]
AS_OF = "2026-06-30"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)  # each one drives Chromium through a real server


def require(ready: bool, reason: str) -> None:
    """In CI the browser tests are part of the suite: a missing browser fails them; locally it skips."""
    if ready:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        require(False, "playwright is not installed: pip install -r requirements-dev.txt")
    # A first run builds caches (or the demo store) on a busy 2-core runner: 5 s is too short a default.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def beyond_localhost(request) -> bool:
    """A request the dashboard's page makes to another host (the sign-in tests' provider, only a stand-in
    for the organisation's, styles its own form from a CDN: its pages are left out)."""
    url = urlsplit(request.url)
    if url.scheme not in ("http", "https", "ws", "wss") or url.hostname == "127.0.0.1":
        return False
    return not urlsplit(request.frame.url).path.startswith("/oauth2/")


@pytest.fixture
def new_page(browser):
    """new_page(locale="en-US", height=1000) → a page in a fresh context (its own cookies, storage, locale).

    Streamlit scrolls inside its main block, so a full-page screenshot is as tall as the viewport."""
    contexts = []

    def make(locale: str = "en-US", height: int = 1000):
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": height})
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.console_lines = []  # what the page's own log said, for a failure's message (see connection_report)
        page.on("console", lambda message: page.console_lines.append(f"{message.type}: {message.text}"[:300]))
        page.on("requestfailed", lambda r: page.console_lines.append(f"failed: {r.url[:200]} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and page.console_lines.append(f"{r.status}: {r.url[:200]}"))
        page.on("request", lambda r: beyond_localhost(r) and outside.append(r.url))
        return page

    outside: list[str] = []
    yield make
    for context in contexts:
        context.close()
    assert outside == [], "the page asked for something beyond 127.0.0.1"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """`streamlit run dashboard.py` in app_dir; stop() ends it (the store it holds is then free)."""

    app_dir: Path
    env: dict
    log: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        self.port = free_port()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=self.app_dir, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the dashboard exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the dashboard did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def server_env(**changes) -> dict:
    """This process's environment without CLOSELOOP_DB, with `changes` on top."""
    env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"}
    return env | {"PYTHONUNBUFFERED": "1"} | changes


@pytest.fixture
def serve():
    """serve(app_dir, **env) → a started Server; every server is stopped when the test ends."""
    started = []

    def start(app_dir: Path, log: Path, timeout: float = 60, **env) -> Server:
        server = Server(app_dir, server_env(**env), log)
        started.append(server)
        return server.start(timeout)

    yield start
    for server in started:
        server.stop()


@dataclass
class Golden:
    url: str
    as_of: str
    metrics: dict  # the command line's answers on the served store, by scope ("all", "DH")


@pytest.fixture(scope="session")
def golden_server(tmp_path_factory, cli, golden_imported):
    """The golden ledger imported with the command line and served; the answers computed before serving
    (the running dashboard holds DuckDB's lock on the file)."""
    folder = tmp_path_factory.mktemp("golden-served")
    db = folder / "closeloop.duckdb"
    golden_imported(db)
    metrics = {}
    for scope, extra in {"all": [], "DH": ["--unit", "DH"]}.items():
        done = cli("metrics", "--db", db, "--as-of", AS_OF, *extra)
        assert done.returncode == 0, done.stderr
        metrics[scope] = json.loads(done.stdout)
    server = Server(REPO, server_env(CLOSELOOP_DB=str(db)), folder / "streamlit.log")
    try:
        server.start()
        yield Golden(server.url, AS_OF, metrics)
    finally:
        server.stop()


@pytest.fixture
def fresh_clone(tmp_path) -> Path:
    """What a fresh clone holds for the app: the code, the queries and the config, and no data/ store."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(REPO / "dashboard.py", app)
    for folder in ("pages", "closeloop", "queries", ".streamlit"):
        shutil.copytree(REPO / folder, app / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return app


def connection_report(page, server_log: Path | None = None) -> str:
    """For a failure's message: the page's connection state, its last log lines, the server's last words."""
    state = page.get_by_test_id("stApp").get_attribute("data-test-connection-state", timeout=5_000)
    lines = [f"connection state: {state}", "page log (last 25):", *getattr(page, "console_lines", [])[-25:]]
    if server_log and server_log.exists():
        said = [line for line in server_log.read_text(errors="replace").splitlines() if line[:4].isdigit()]
        lines += ["server log (last 15 entries):", *said[-15:]]
    return "\n".join(lines)


# Polled every 100 ms: true once each Plotly chart of the page holds its drawn SVG and no chart has moved or
# changed size (nor the page its height) over the last four polls. Streamlit draws a chart, then fits it to
# its column; a rerun's card can push the charts below it down.
CHARTS_STEADY = """() => {
  const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (plots.length < charts.length || !plots.every(p => p.querySelector('.main-svg'))) {
    window.__chartsSeen = null;
    return false;
  }
  const seen = JSON.stringify([document.documentElement.scrollHeight, ...plots.map(p => {
    const r = p.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height, p.querySelectorAll('path').length];
  })]);
  const last = window.__chartsSeen;
  window.__chartsSeen = {seen, times: last && last.seen === seen ? last.times + 1 : 1};
  return window.__chartsSeen.times >= 4;
}"""


def charts_steady(page) -> None:
    """Wait until the page's charts are drawn and have stopped moving (a fixed pause was 0.5–1.5 s a call)."""
    page.evaluate("() => { window.__chartsSeen = null; }")
    page.wait_for_function(CHARTS_STEADY, polling=100)
