"""The serving dashboard's hold on an embedded store: kept while it is idle, handed over when a command asks."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from closeloop import store
from closeloop.refusal import Refused


class Lease:
    """One DuckDB connection shared by a server's script runs, given up whenever another process wants the store.

    DuckDB lets one process at a time open a file for writing. A command that finds the store held asks
    for it (store.connect writes `<store>.wanted.<pid>`); the watcher sees the request within `poll`
    seconds, lets the runs in progress finish, closes the connection, and new runs wait until every
    request is gone (the command has ended), then open the store again. So the dashboard keeps its warm
    connection between runs, and a command waits at most for the runs already going.
    """

    def __init__(self, path: str | Path, *, opened=None, poll: float = 0.1, wait: float | None = None):
        self.path = store.db_path(path)
        self.opened = opened or (lambda con: None)  # called once with each new connection (the demo's first build)
        self.poll = poll
        self.wait = store.wait_seconds() if wait is None else wait
        self._con: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._closed = False
        self._state = threading.Condition()
        self._watcher = threading.Thread(target=self._watch, name=f"closeloop-lease {self.path.name}", daemon=True)
        self._watcher.start()

    @contextmanager
    def hold(self):
        """The connection, for one script run; the store is not handed over until every hold has ended."""
        con = self._take()
        try:
            yield con
        finally:
            with self._state:
                self._users -= 1
                if self._closed and not self._users:
                    self._let_go()
                self._state.notify_all()

    def waiting_for(self) -> list[int]:
        """The processes the next hold would wait for (shown on the page while it waits)."""
        return store.wanted_by_others(self.path)

    def close(self) -> None:
        """No more holds; the connection closes now, or when the last hold in progress ends."""
        with self._state:
            self._closed = True
            self._state.notify_all()
            if not self._users:
                self._let_go()

    def _take(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.wait
        with self._state:
            while True:
                if self._closed:
                    raise Refused("store_unreadable", path=str(self.path), reason="closed")
                others = store.wanted_by_others(self.path)
                if not others:
                    break
                if self._con is not None and self._users == 0:
                    self._let_go()
                if time.monotonic() >= deadline:
                    raise store.locked(self.path, others[0])
                self._state.wait(self.poll)
            if self._con is None:
                con = store.connect(self.path, wait=max(0.0, deadline - time.monotonic()))
                store.withdraw()
                self.opened(con)
                self._con = con
            self._users += 1
            return self._con

    def _let_go(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _watch(self) -> None:
        while True:
            with self._state:
                if self._closed:
                    return
                if self._con is not None and self._users == 0 and store.wanted_by_others(self.path):
                    self._let_go()
                self._state.wait(self.poll)
