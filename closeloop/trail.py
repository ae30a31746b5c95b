"""The trail's hash chain: seal the events a transaction wrote, and verify every seal since the first."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from closeloop import store

HASH_BYTES = 32
FIRST = -(2**63)  # below any event id: "after FIRST" is every event


@dataclass(frozen=True)
class Block:
    id: int
    first_event: int
    last_event: int
    events: int
    digest: str
    previous: str
    hash: str


@dataclass(frozen=True)
class Problem:
    """What does not fit: `key` names the catalog message, `details` fill it in."""

    key: str
    details: dict


@dataclass(frozen=True)
class Verdict:
    events: int
    blocks: int
    head: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def block_hash(id: int, first_event: int, last_event: int, events: int, digest: str, previous: str) -> str:
    return hashlib.sha256(f"{id}:{first_event}:{last_event}:{events}:{digest}:{previous}".encode()).hexdigest()


def _hashes(con, after: int) -> tuple[np.ndarray, bytes]:
    """The ids and the concatenated 32-byte hashes of the events after `after`, in id order."""
    text = store.sql("trail_rows")
    con.complete()  # a writer's last statement may have left its count unread
    table = con.sql(text, params=store.bind(text, {"after": after})).to_arrow_table()
    ids = table["id"].to_numpy()
    if not len(ids):
        return ids, b""
    column = table["hash"].combine_chunks().cast(pa.binary(HASH_BYTES))
    start = column.offset * HASH_BYTES
    rows = np.frombuffer(column.buffers()[1], dtype=np.uint8)[start:start + len(ids) * HASH_BYTES]
    rows = rows.reshape(-1, HASH_BYTES)
    # Sorting here, not in SQL: a scan usually comes back in id order already, and numpy checks that fast.
    if not (np.diff(ids) > 0).all():
        order = np.argsort(ids, kind="stable")
        ids, rows = ids[order], rows[order]
    return ids, rows.tobytes()


def last_block(con) -> Block | None:
    row = con.execute(
        "select id, first_event, last_event, events, digest, previous, hash from trail_blocks order by id desc limit 1"
    ).fetchone()
    return Block(*row) if row else None


def seal(con) -> int | None:
    """Chain the events written since the last block into a new one; the last step of every writing transaction.

    Returns the new block's id, or None when there was nothing to seal. Two transactions sealing at once
    both claim the next block id: the second to commit fails and rolls back whole.
    """
    last = last_block(con)
    ids, hashes = _hashes(con, last.last_event if last else FIRST)
    if not len(ids):
        return None
    block = Block(
        id=(last.id if last else 0) + 1,
        first_event=int(ids[0]),
        last_event=int(ids[-1]),
        events=len(ids),
        digest=hashlib.sha256(hashes).hexdigest(),
        previous=last.hash if last else "",
        hash="",
    )
    con.register("sealed_event_hashes", pa.table({"event": ids, "fingerprint": _fingerprints(hashes)}))
    try:
        con.execute("insert into event_hashes select event, fingerprint from sealed_event_hashes")
    finally:
        con.unregister("sealed_event_hashes")
    con.execute(
        "insert into trail_blocks (id, first_event, last_event, events, digest, previous, hash) "
        "values ($id, $first_event, $last_event, $events, $digest, $previous, $hash)",
        {**block.__dict__, "hash": block_hash(block.id, block.first_event, block.last_event, block.events,
                                              block.digest, block.previous)},
    )
    return block.id


def verify(con, head: str | None = None) -> Verdict:
    """Recompute every event's hash and every block: what does not fit, first event first, then first block."""
    blocks = [Block(*row) for row in con.execute(
        "select id, first_event, last_event, events, digest, previous, hash from trail_blocks order by id"
    ).fetchall()]
    ids, hashes = _hashes(con, FIRST)
    problems = _row_problems(con, ids, hashes, blocks[-1].last_event if blocks else FIRST)
    previous = ""
    for number, block in enumerate(blocks, start=1):
        lo = np.searchsorted(ids, block.first_event, side="left")
        hi = np.searchsorted(ids, block.last_event, side="right")
        digest = hashlib.sha256(hashes[lo * HASH_BYTES:hi * HASH_BYTES]).hexdigest()
        where = {"block": block.id, "first": block.first_event, "last": block.last_event}
        if block.id != number or block.previous != previous:
            problems.append(Problem("trail_block_unchained", where))
        elif block.hash != block_hash(block.id, block.first_event, block.last_event, block.events, block.digest,
                                      block.previous):
            problems.append(Problem("trail_block_changed", where))
        elif digest != block.digest or hi - lo != block.events:
            problems.append(Problem("trail_block_does_not_fit", where))
        previous = block.hash
    if head and head not in {b.hash for b in blocks}:
        problems.append(Problem("trail_head_missing", {"head": head}))
    return Verdict(len(ids), len(blocks), previous, problems)


def _row_problems(con, ids: np.ndarray, hashes: bytes, sealed_up_to: int) -> list[Problem]:
    """Events whose hash differs from the fingerprint kept at sealing, or that have none, or that are gone."""
    kept = con.sql("select event, fingerprint from event_hashes").to_arrow_table()
    kept_ids, kept_prints = kept["event"].to_numpy(), kept["fingerprint"].to_numpy()
    order = np.argsort(kept_ids, kind="stable")
    kept_ids, kept_prints = kept_ids[order], kept_prints[order]
    prints = _fingerprints(hashes)
    if np.array_equal(ids, kept_ids):  # the usual case: one fingerprint per event, compared in place
        return [Problem("trail_event_changed", {"event": int(e)}) for e in ids[prints != kept_prints]]
    here = _members(ids, kept_ids)
    there = np.searchsorted(kept_ids, ids[here])
    found = [(int(e), "changed") for e in ids[here][prints[here] != kept_prints[there]]]
    found += [(int(e), "removed") for e in kept_ids[~_members(kept_ids, ids)]]
    found += [(int(e), "unsealed" if e > sealed_up_to else "inserted") for e in ids[~here]]
    return [Problem(f"trail_event_{what}", {"event": event}) for event, what in sorted(found)]


def _members(values: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    """Which values occur in sorted_pool (both sorted; a merge by binary search, not numpy's set operations)."""
    if not len(sorted_pool):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_pool, values), len(sorted_pool) - 1)
    return sorted_pool[at] == values


def _fingerprints(hashes: bytes) -> np.ndarray:
    """The first 8 bytes of each 32-byte hash, as the unsigned integer event_hashes keeps."""
    return np.frombuffer(hashes, dtype=">u8").reshape(-1, HASH_BYTES // 8)[:, 0].astype(np.uint64)
