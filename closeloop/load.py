"""The load test: browser sessions spoken at Streamlit's own protocol, and writers making moves, bounded in time."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlparse

# Every page of dashboard.py by its URL path ("" is the default page, the Overview).
PAGES = ("", "review", "units", "rectification", "recurrence", "time_to_close", "data", "objectives", "inspections",
         "satisfaction", "my_unit")
PAGE_TIMEOUT = 120.0  # seconds: a page run that takes longer counts as an error and ends its session


@dataclass
class Runs:
    """What the sessions of one load level saw."""

    sessions: int
    seconds: float
    times: list[float] = field(default_factory=list)  # each finished page run, seconds
    errors: list[str] = field(default_factory=list)
    replicas: dict[str, int] = field(default_factory=dict)  # sessions per replica cookie (behind a balancer)

    def summary(self) -> dict:
        ordered = sorted(self.times)

        def at(q: float):
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000) if ordered else None

        return {
            "sessions": self.sessions,
            "page_runs": len(ordered),
            "p50_ms": at(0.5),
            "p95_ms": at(0.95),
            "runs_per_min": round(len(ordered) / self.seconds * 60, 1),
            "over_2s": round(sum(t > 2 for t in ordered) / len(ordered), 3) if ordered else None,
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "replicas": self.replicas,
        }


def sticky_cookie(url: str) -> str | None:
    """The balancer's cookie for a new browser (None when the URL is a replica itself)."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        cookies = answer.headers.get_all("Set-Cookie") or []
    return "; ".join(c.split(";", 1)[0] for c in cookies) or None


async def session(url: str, query: str, deadline: float, runs: Runs, offset: int) -> None:
    """One browser session running every page in turn, back to back, until the deadline."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    parts = urlparse(url)
    stream = f"ws://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
    try:
        cookie = await asyncio.to_thread(sticky_cookie, url)
        if cookie:
            runs.replicas[cookie] = runs.replicas.get(cookie, 0) + 1
        headers = {"Cookie": cookie} if cookie else {}
        async with websockets.connect(stream, subprotocols=["streamlit"], additional_headers=headers,
                                      max_size=None, open_timeout=PAGE_TIMEOUT) as ws:
            turn = offset
            while time.monotonic() < deadline:
                page = PAGES[turn % len(PAGES)]
                turn += 1
                ask = BackMsg()
                ask.rerun_script.query_string = query
                ask.rerun_script.page_name = page
                started = time.perf_counter()
                await ws.send(ask.SerializeToString())
                failed = None
                while True:  # a run may rerun itself (the first run of a session does): wait for one that finishes
                    message = ForwardMsg()
                    message.ParseFromString(await asyncio.wait_for(ws.recv(), PAGE_TIMEOUT))
                    kind = message.WhichOneof("type")
                    if kind == "delta" and message.delta.new_element.WhichOneof("type") == "exception":
                        failed = message.delta.new_element.exception.message.splitlines()[0][:200]
                    if kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        break
                if failed or message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    runs.errors.append(f"/{page}: {failed or message.script_finished}")
                else:
                    runs.times.append(time.perf_counter() - started)
    except Exception as e:  # a refused or dropped connection, a timeout: the result, counted
        runs.errors.append(f"{type(e).__name__}: {str(e)[:200]}")


def sessions(url: str, count: int, seconds: float, query: str = "lang=zh-Hans") -> dict:
    """`count` sessions at once for `seconds`, each running every page back to back; the summary."""
    runs = Runs(count, seconds)

    async def all_of_them():
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(session(url, query, deadline, runs, i) for i in range(count)))

    started = time.monotonic()
    # a thread of its own: the caller may already run an event loop (Playwright's sync API does)
    worker = threading.Thread(target=lambda: asyncio.run(all_of_them()), name="closeloop-load")
    worker.start()
    worker.join()
    runs.seconds = time.monotonic() - started
    return runs.summary()


# ---------------------------------------------------------------------------------------------
# Writers: processes making workflow moves on the same records at once


def writer(db: str, index: int, seconds: float, refs: list[str], seed: int) -> dict:
    """Extend random actions of `refs` until `seconds` are up, each with the version read just before; every
    move told saved carries a reason no other move has, so the trail can be checked for each afterwards."""
    from closeloop import identity, store, workflow
    from closeloop.refusal import Refused

    chance = random.Random(seed + index)
    actor = f"load-writer-{index}"
    saved, refused, errors = [], 0, []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        ref = chance.choice(refs)
        n += 1
        reason = f"{actor} move {n}"
        try:
            con = store.connect(db, create=False)
            try:
                version = con.execute("select version from actions where ref = $ref", {"ref": ref}).fetchone()[0]
                who = identity.for_command_line(con, actor)
                workflow.extend(con, who, ref, due_on=date(2027, 1, 1) + timedelta(days=n % 300), reason=reason,
                                version=version)
                saved.append(reason)
            finally:
                con.close()
        except Refused:
            refused += 1  # another writer changed it after it was read: refused, as it must be
        except Exception as e:
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    return {"saved": saved, "refused": refused, "errors": errors}


def writers(db: str, count: int, seconds: float, records: int = 40, seed: int = 11) -> dict:
    """`count` writer processes for `seconds` on the same `records` open actions; then every saved move is
    looked for in the trail (lost writes), and the trail verified."""
    from concurrent.futures import ProcessPoolExecutor

    from closeloop import store, trail

    con = store.connect(db, create=False)
    refs = [r for (r,) in con.execute(
        "select ref from actions where status in ('planned', 'in_progress') order by ref limit $n", {"n": records}
    ).fetchall()]
    con.close()
    started = time.monotonic()
    with ProcessPoolExecutor(count) as pool:
        done = list(pool.map(writer, [db] * count, range(count), [seconds] * count, [refs] * count, [seed] * count))
    elapsed = time.monotonic() - started
    saved = {reason for d in done for reason in d["saved"]}
    con = store.connect(db, create=False)
    found = {r for (r,) in con.execute(
        "select distinct reason from events where starts_with(reason, 'load-writer-')").fetchall()}
    verdict = trail.verify(con, None)
    con.close()
    return {
        "writers": count,
        "seconds": round(elapsed, 1),
        "saved": len(saved),
        "refused_stale": sum(d["refused"] for d in done),
        "errors": sum(len(d["errors"]) for d in done),
        "first_errors": [e for d in done for e in d["errors"]][:3],
        "moves_per_s": round(len(saved) / elapsed, 1),
        "lost": len(saved - found),
        "trail_verifies": verdict.ok,
    }


def table(levels: dict[str, list[dict]], written: dict | None) -> str:
    """One line per (target, sessions), then the writers' line."""
    head = f"{'target':<28} {'sessions':>8} {'runs':>6} {'p50 ms':>7} {'p95 ms':>7} {'runs/min':>8} {'>2 s':>6} {'errors':>6}"
    lines = [head, "-" * len(head)]
    for target, rows in levels.items():
        for r in rows:
            lines.append(
                f"{target:<28} {r['sessions']:>8} {r['page_runs']:>6} {r['p50_ms'] or 0:>7,} {r['p95_ms'] or 0:>7,}"
                f" {r['runs_per_min']:>8,.1f} {(r['over_2s'] or 0):>6.0%} {r['errors']:>6}"
            )
    if written:
        lines.append(
            f"{written['writers']} writers for {written['seconds']:,.0f} s: {written['saved']:,} moves saved "
            f"({written['moves_per_s']} /s), {written['refused_stale']:,} refused as stale, {written['errors']} errors, "
            f"{written['lost']} lost; trail verifies: {'yes' if written['trail_verifies'] else 'NO'}"
        )
    return "\n".join(lines)

