"""Sign-in with st.login against a real OpenID Connect provider on 127.0.0.1, and the scope matrix:
each role × a unit inside and one outside its subtree × every page, the lists' downloads and a record link."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, TimeoutError, expect

from closeloop import i18n
from tests.browser.conftest import connection_report

REPO = Path(__file__).resolve().parents[2]
PAGES = ("overview", "units", "rectification", "recurrence", "time_to_close", "data", "my_unit")
# The golden ledger's units outside DH's subtree, by name: none may appear anywhere for a DH user.
OUTSIDE_DH = ("舟山港務管理局", "普陀分局", "岱山分局", "PT 第10支部", "DS 第10支部")
DH_SUBTREE = {"DH", "DH-01", "DH-02", "DH-10", "DH-11"}
# Who signs in: their role and unit in the store's users table.
USERS = {
    "viewer@dh.example": ("viewer", "DH", "林觀"),
    "editor@dh.example": ("unit_editor", "DH", "張編輯"),
    "auditor@dh.example": ("auditor", "DH", "審核員"),
    "admin@dh.example": ("administrator", "DH", "定海管理員"),
    "boss@hq.example": ("administrator", None, "局長"),
}
ROLE_WORDS = {"viewer": "viewer", "unit_editor": "unit editor", "auditor": "auditor", "administrator": "administrator"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class SignedIn:
    """The dashboard with [auth] in its secrets, the provider beside it, and the store they use."""

    def __init__(self, root: Path, db: Path):
        self.root, self.db = root, db
        self.port, self.provider_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []

    def start(self) -> SignedIn:
        env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"} | {
            "PYTHONUNBUFFERED": "1", "CLOSELOOP_DB": str(self.db), "AUTHLIB_INSECURE_TRANSPORT": "1",
        }
        provider_log = self.root / "provider.log"
        with provider_log.open("wb") as out:
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.provider_port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            ))
        metadata = f"http://127.0.0.1:{self.provider_port}/.well-known/openid-configuration"
        wait_for(metadata, self.processes[-1], provider_log)
        app = self.root / "app"
        shutil.copy(REPO / "dashboard.py", app)
        for folder in ("pages", "closeloop", "queries", ".streamlit"):
            shutil.copytree(REPO / folder, app / folder, ignore=shutil.ignore_patterns("__pycache__", "secrets.toml"))
        (app / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "{self.url}/oauth2callback"\n'
            'cookie_secret = "only-for-this-test-b3f1c9d2e8a7"\n'
            'client_id = "closeloop"\n'
            'client_secret = "closeloop-test"\n'
            f'server_metadata_url = "{metadata}"\n',
            encoding="utf-8",
        )
        log = self.root / "streamlit.log"
        with log.open("wb") as out:
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=app, env=env, stdout=out, stderr=subprocess.STDOUT,
            ))
        wait_for(f"{self.url}/_stcore/health", self.processes[-1], log)
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop(process)


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory, cli, golden_imported, browser):
    root = tmp_path_factory.mktemp("signed-in")
    (root / "app").mkdir()
    db = root / "closeloop.duckdb"
    golden_imported(db, "--as", "import")
    for email, (role, unit, name) in USERS.items():
        extra = ["--unit", unit] if unit else []
        done = cli("user", email, "--role", role, "--name", name, *extra, "--db", db)
        assert done.returncode == 0, done.stderr
    server = SignedIn(root, db).start()
    yield server
    server.stop()


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def sign_in(page: Page, server: SignedIn, email: str) -> None:
    """Through the provider's own authorization form, as a person would."""
    page.goto(f"{server.url}/?lang=en")
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(server.url)))
    expect(page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out")).to_be_visible()
    idle(page)


def main_text(page: Page) -> str:
    return page.get_by_test_id("stApp").inner_text()


def lists_download(page: Page, tab: str, server: SignedIn) -> list[dict]:
    """The CSV a list's download button gives (built on the click, so a click during a rerun is tried again)."""
    page.get_by_role("tab", name=re.compile(f"^{tab}")).click()
    button = page.locator('[role="tabpanel"]:visible').get_by_role("button", name="Download CSV")
    for attempt in range(3):
        expect(button).to_be_visible()
        idle(page)
        try:  # disabled while the page reconnects, and while the file of a click before is being built
            expect(button).to_be_enabled(timeout=60_000)
        except AssertionError as disabled:
            raise AssertionError(f"{tab}: the download stayed disabled (attempt {attempt + 1})\n"
                                 + connection_report(page, server.root / "streamlit.log")) from disabled
        try:
            with page.expect_download(timeout=45_000) as download:
                button.click()
            break
        except TimeoutError:
            if attempt == 2:
                raise
    return list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))


def test_without_signing_in_there_is_only_the_sign_in_button(new_page, signed_in):
    page = new_page()
    page.goto(f"{signed_in.url}/rectification?lang=en&ref=NC-0017")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    idle(page)
    # (Streamlit may still list the pages/ folder; any page runs through the frame, which stops here.)
    assert page.locator(".st-key-detail").count() == 0
    assert page.get_by_test_id("stMain").inner_text().split() == [
        "Closeloop", "·", "rectification", "to", "closure", "Please", "sign", "in.", "login", "Sign", "in"]


@pytest.mark.parametrize("email", [e for e, (_, unit, _) in USERS.items() if unit == "DH"])
def test_scope_matrix_for_a_dh_user(new_page, signed_in, artifacts, email):
    role, _, name = USERS[email]
    page = new_page(height=1400)
    sign_in(page, signed_in, email)
    expect(page.get_by_text(f"{name} ({ROLE_WORDS[role]}, 定海分局)")).to_be_visible()

    for path in PAGES:
        page.goto(f"{signed_in.url}/{path}?lang=en&unit=DH-01")
        expect(page.locator("h1")).to_be_visible()
        idle(page)
        text = main_text(page)
        assert "Nothing to show" not in text, (email, path)
        assert [n for n in OUTSIDE_DH if n in text] == [], (email, path)

        page.goto(f"{signed_in.url}/{path}?lang=en&unit=PT")
        expect(page.get_by_text("Nothing to show: unit PT does not exist or is outside what you may see.")
               ).to_be_visible()
        idle(page)
        text = main_text(page)
        assert page.locator("h1").count() == 0 and [n for n in OUTSIDE_DH if n in text] == [], (email, path)

    page.goto(f"{signed_in.url}/rectification?lang=en")
    expect(page.locator("h1")).to_have_text("Rectification")
    idle(page)
    findings, actions = (lists_download(page, "Nonconformities", signed_in),
                          lists_download(page, "Actions", signed_in))
    assert findings and {row["Unit"] for row in findings} <= DH_SUBTREE
    assert actions and {row["Unit"] for row in actions} <= DH_SUBTREE

    page.goto(f"{signed_in.url}/rectification?lang=en&ref=NC-0006")  # a finding of PT-01
    expect(page.get_by_text("Nothing to show: NC-0006 does not exist or is outside the units you may see.")
           ).to_be_visible()
    idle(page)

    detail = record_in_scope(page, signed_in)
    # NC-0017 is open: its role's moves that the state allows (an auditor's Verify and Reopen are not among them)
    moves = {"viewer": [], "unit_editor": ["Add an action", "Start", "Mark done", "Extend due date", "Cancel"],
             "auditor": [], "administrator": ["Add an action", "Start", "Mark done", "Extend due date", "Cancel"]}
    # the moves come with the detail's form: wait for them (a loaded server answers late), then all of them
    expect(detail.get_by_role("radio")).to_have_text(moves[role], timeout=30_000)
    if role == "viewer":
        expect(detail.get_by_text("Your role (viewer) may see this finding but not change it.")).to_be_visible()
    if "Mark done" in moves[role]:
        detail.get_by_role("radio", name="Mark done").click()
        expect(detail.get_by_label("Evidence", exact=True)).to_be_visible()
        idle(page)
    if role in ("auditor", "administrator"):
        expect(detail.get_by_text("Verify: only after every action is done")).to_be_visible()
    page.screenshot(path=artifacts / f"signed-in-{role}.png", full_page=True)


def record_in_scope(page: Page, server: SignedIn):
    page.goto(f"{server.url}/rectification?lang=en&ref=NC-0017")  # a finding of DH-02 with a planned action
    detail = page.locator(".st-key-detail")
    expect(detail.locator("h3")).to_contain_text("NC-0017")
    idle(page)
    return detail


def test_an_administrator_of_the_whole_organisation_sees_every_unit(new_page, signed_in):
    page = new_page()
    sign_in(page, signed_in, "boss@hq.example")
    page.goto(f"{signed_in.url}/rectification?lang=en&unit=PT&ref=NC-0006")
    expect(page.locator(".st-key-detail h3")).to_contain_text("NC-0006")
    idle(page)
    assert "Nothing to show" not in main_text(page)


def test_someone_the_store_does_not_know_sees_nothing(new_page, signed_in):
    page = new_page()
    page.goto(f"{signed_in.url}/?lang=en")
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill("stranger@elsewhere.example")
    page.get_by_role("button", name="Authorize").click()
    # the address as stored text is shown (i18n.plain: a word joiner keeps Markdown from making it a link)
    shown = i18n.plain("stranger@elsewhere.example")
    expect(page.get_by_text(f"{shown} is signed in but has no role here.")).to_be_visible()
    idle(page)
    assert page.locator("h1").count() == 0 and "定海分局" not in main_text(page)


def test_a_unit_head_opens_their_unit_from_the_sidebar_in_one_click(new_page, signed_in, artifacts):
    page = new_page(height=1600)
    sign_in(page, signed_in, "editor@dh.example")
    page.get_by_test_id("stSidebar").get_by_test_id("stPageLink").get_by_text("My unit").click()
    expect(page.locator("h1")).to_have_text("My unit")
    expect(page.locator(".st-key-rank-open [data-testid=stMetricValue]")).to_have_text(re.compile(r"^\d+(st|nd|rd|th) of 3$"))
    idle(page)
    assert "定海分局 and the units below it" in main_text(page)
    assert [n for n in OUTSIDE_DH if n in main_text(page)] == []  # nor the parent's name
    page.screenshot(path=artifacts / "my_unit-signed-in-en.png", full_page=True)


def test_the_refused_links_were_logged_in_the_trail(signed_in, new_page, cli):
    # Runs last in this module: stop the dashboard to read its store.
    signed_in.stop()
    con = duckdb.connect(str(signed_in.db), read_only=True)
    logged = con.execute(
        "select distinct actor, field, ref, new like '%/rectification%' from events where entity = 'access' "
        "and field = 'ref' union all select distinct actor, field, ref, true from events "
        "where entity = 'access' and field = 'unit' order by all"
    ).fetchall()
    con.close()
    dh_users = sorted(e for e, (_, unit, _) in USERS.items() if unit == "DH")
    assert logged == sorted([(e, "ref", "NC-0006", True) for e in dh_users] +
                            [(e, "unit", "PT", True) for e in dh_users])
    assert cli("trail", "verify", "--db", signed_in.db).returncode == 0
