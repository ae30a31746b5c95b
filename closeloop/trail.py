"""The trail's hash chain: seal the events a transaction wrote, and verify every seal since the first."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from closeloop import store

HASH_BYTES = 32
FIRST = -(2**63)  # below any event id: "after FIRST" is every event
EMPTY = hashlib.sha256(b"").hexdigest()  # the records digest of a block that sealed none
# The records the trail covers, and their fields in queries/record_digests.sql's order (its marks name them).
FIELDS = {
    "nonconformity": ("ref", "unit", "audit", "criterion", "source", "severity", "title", "description", "root_cause",
                      "found_on", "due_on", "status", "closed_on", "verified_by"),
    "action": ("ref", "nonconformity", "kind", "description", "owner", "due_on", "status", "done_on", "evidence"),
    "unit": ("code", "name", "name_en", "parent_code"),
    "criterion": ("code", "title", "title_en", "category", "category_en"),
    "user": ("email", "role", "unit", "name"),
    # a review and the rows it froze (snapshot, open list), decided or concluded, as one record: its events name
    # the review (16 fields: as many as the 4-bit marks hold)
    "review": ("ref", "held_on", "title", "attendees", "unit", "as_of", "since", "until", "filters", "audit",
               "created_by", "contract", "snapshot", "open_items", "decisions", "conclusions"),
}


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


def block_hash(id: int, first_event: int, last_event: int, events: int, digest: str, previous: str,
               records: str | None = None) -> str:
    """The block's hash; `records` (its records' digest, from migration 010 on) joins the text when there is one."""
    text = f"{id}:{first_event}:{last_event}:{events}:{digest}:{previous}" + (f":{records}" if records else "")
    return hashlib.sha256(text.encode()).hexdigest()


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


def seal(con, unsealed_records: bool | tuple[str, ...] = False) -> int | None:
    """Chain the events written since the last block into a new one; the last step of every writing transaction.

    The block also seals the digest of every record those events name, as it stands now (`unsealed_records`:
    and every record that has no seal yet, for a store written before records were sealed; a tuple of entities:
    those of these kinds only). Returns the new
    block's id, or None when there was nothing to seal. Two transactions sealing at once both claim the next
    block id: the second to commit fails and rolls back whole.
    """
    last = last_block(con)
    after = last.last_event if last else FIRST
    ids, hashes = _hashes(con, after)
    block_id = (last.id if last else 0) + 1
    records = _seal_records(con, block_id, after, unsealed_records)
    if not len(ids) and not records:
        return None
    block = Block(
        id=block_id,
        first_event=int(ids[0]) if len(ids) else after + 1,
        last_event=int(ids[-1]) if len(ids) else after,
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
    text = store.sql("block_record_digests")
    found = con.execute(text, store.bind(text, {"block": block.id})).fetchall()
    digest = found[0][1] if found else EMPTY
    con.execute("insert into block_records (block, digest) values ($block, $digest)", {"block": block.id, "digest": digest})
    con.execute(
        "insert into trail_blocks (id, first_event, last_event, events, digest, previous, hash) "
        "values ($id, $first_event, $last_event, $events, $digest, $previous, $hash)",
        {**block.__dict__, "hash": block_hash(block.id, block.first_event, block.last_event, block.events,
                                              block.digest, block.previous, digest)},
    )
    return block.id


def _seal_records(con, block: int, after: int, unsealed: bool | tuple[str, ...]) -> int:
    """record_seals rows for the records the new events name (and, if asked, those never sealed); how many."""
    con.execute(
        "create or replace temp table sealing_records as "
        "select distinct entity, ref from events where id > $after and list_contains($entities, entity)",
        {"after": after, "entities": list(FIELDS)},
    )
    text = store.sql("record_digests")
    if unsealed:
        con.execute("create or replace temp table current_digests as " + text, store.bind(text, {"every": True}))
        con.execute("insert into sealing_records select entity, ref from current_digests "
                    "where list_contains($entities, entity) "
                    "except select entity, ref from record_seals except select entity, ref from sealing_records",
                    {"entities": list(FIELDS) if unsealed is True else list(unsealed)})
    if not con.execute("select count(*) from sealing_records").fetchall()[0][0]:
        return 0
    # the query is the package's file as it is; only its result is named here
    con.execute("create or replace temp table sealed_digests as " + text, store.bind(text, {"every": False}))
    con.execute(
        "insert into record_seals (block, entity, ref, digest, marks) "
        "select $block, s.entity, s.ref, d.digest, d.marks from sealing_records as s "
        "left join sealed_digests as d on d.entity = s.entity and d.ref = s.ref",
        {"block": block},
    )
    n = con.execute("select count(*) from sealing_records").fetchall()[0][0]
    for table in ("sealing_records", "sealed_digests", "current_digests"):
        con.execute(f"drop table if exists {table}")
    return n


def verify(con, head: str | None = None) -> Verdict:
    """Recompute every event's hash, every block and every record's digest: what does not fit, events first,
    then blocks, then records. Every hash is computed by the package's own SQL text or Python, never by a
    definition kept in the store."""
    blocks = [Block(*row) for row in con.execute(
        "select id, first_event, last_event, events, digest, previous, hash from trail_blocks order by id"
    ).fetchall()]
    sealed_records = dict(con.execute("select block, digest from block_records").fetchall())
    text = store.sql("block_record_digests")
    records_now = dict(con.execute(text, store.bind(text, {"block": None})).fetchall())
    ids, hashes = _hashes(con, FIRST)
    problems = _row_problems(con, ids, hashes, blocks[-1].last_event if blocks else FIRST)
    previous = ""
    for number, block in enumerate(blocks, start=1):
        lo = np.searchsorted(ids, block.first_event, side="left")
        hi = np.searchsorted(ids, block.last_event, side="right")
        digest = hashlib.sha256(hashes[lo * HASH_BYTES:hi * HASH_BYTES]).hexdigest()
        records = sealed_records.get(block.id)
        where = {"block": block.id, "first": block.first_event, "last": block.last_event}
        if block.id != number or block.previous != previous:
            problems.append(Problem("trail_block_unchained", where))
        elif block.hash != block_hash(block.id, block.first_event, block.last_event, block.events, block.digest,
                                      block.previous, records):
            problems.append(Problem("trail_block_changed", where))
        elif digest != block.digest or hi - lo != block.events:
            problems.append(Problem("trail_block_does_not_fit", where))
        elif (records or None) != (records_now.get(block.id, EMPTY if records else None)):
            problems.append(Problem("trail_block_records_do_not_fit", where))
        previous = block.hash
    problems += _unblocked(con, blocks, set(records_now) | set(sealed_records))
    problems += _record_problems(con)
    if head and head not in {b.hash for b in blocks}:
        problems.append(Problem("trail_head_missing", {"head": head}))
    return Verdict(len(ids), len(blocks), previous, problems)


def record_problem(con, entity: str, ref: str) -> Problem | None:
    """Whether one record is still what its last seal says (None: it is, or it was never sealed). A move checks
    this first: resealing a record changed behind the trail would make the change look sealed."""
    # fetchall, not fetchone: a result left unfinished blocks the caller's next unregister
    sealed = con.execute(
        "select digest, marks from record_seals where entity = $entity and ref = $ref order by block desc limit 1",
        {"entity": entity, "ref": ref},
    ).fetchall()
    if not sealed:
        return None
    sealed = sealed[0]
    con.execute("create or replace temp table sealing_records as select $entity as entity, $ref as ref",
                {"entity": entity, "ref": ref})
    text = store.sql("record_digests")
    try:
        found = con.execute(text, store.bind(text, {"every": False})).fetchall()
    finally:
        con.execute("drop table if exists sealing_records")
    now = found[0] if found else None
    if now is None:
        return None if sealed[0] is None else Problem("trail_record_removed", {"entity": entity, "ref": ref})
    if sealed[0] is None:
        return Problem("trail_record_unsealed", {"entity": entity, "ref": ref})
    if bytes(now[2]) == bytes(sealed[0]):
        return None
    differ = (sealed[1] or 0) ^ (now[3] or 0)
    fields = [f for i, f in enumerate(FIELDS[entity]) if (differ >> (4 * i)) & 15]
    return Problem("trail_record_changed", {"entity": entity, "ref": ref, "field": ", ".join(fields) or "?"})


def _record_problems(con) -> list[Problem]:
    """Records whose fields are not what their last seal says, gone though sealed, or there with no seal."""
    text = store.sql("record_digests")
    con.execute("create or replace temp table sealing_records (entity varchar, ref varchar)")
    con.execute("create or replace temp table current_digests as " + text, store.bind(text, {"every": True}))
    try:
        rows = con.execute(store.sql("trail_record_problems")).fetchall()
    finally:
        con.execute("drop table if exists current_digests")
        con.execute("drop table if exists sealing_records")
    problems = []
    for entity, ref, what, sealed, current in rows:
        details = {"entity": entity, "ref": ref}
        if what == "changed":
            differ = (sealed or 0) ^ (current or 0)
            fields = [f for i, f in enumerate(FIELDS[entity]) if (differ >> (4 * i)) & 15]
            details["field"] = ", ".join(fields) or "?"
        problems.append(Problem(f"trail_record_{what}", details))
    return problems


def _unblocked(con, blocks: list[Block], record_blocks: set[int]) -> list[Problem]:
    """Sealed events, or sealed records, that no block covers: blocks deleted (all of them, or the last ones)
    leave their events' fingerprints and their records' seals behind, so a trail cut short is told from one
    never sealed."""
    kept = np.sort(con.sql("select event from event_hashes").to_arrow_table()["event"].to_numpy())
    covered = np.zeros(len(kept), dtype=bool)
    for block in blocks:
        covered[np.searchsorted(kept, block.first_event, "left"):np.searchsorted(kept, block.last_event, "right")] = True
    loose = kept[~covered]
    if len(loose):
        return [Problem("trail_block_missing", {"first": int(loose[0]), "last": int(loose[-1])})]
    gone = sorted(record_blocks - {b.id for b in blocks})
    return [Problem("trail_records_block_missing", {"block": gone[0]})] if gone else []


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


# ---------------------------------------------------------------------------------------------
# Anchors: every head, appended to a log the store's owner cannot quietly rewrite along with the store


def anchors_path(con) -> Path | None:
    """$CLOSELOOP_ANCHORS, else `<store>.anchors` beside an embedded store; None for an in-memory one."""
    configured = os.environ.get("CLOSELOOP_ANCHORS")
    if configured:
        return Path(configured).expanduser()
    found = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    return Path(found[0][0] + ".anchors") if found and found[0][0] else None


def anchor(con, block: int | None) -> None:
    """Append the head a committed seal made (block id, hash, time) to the anchors log: one line each."""
    if block is None:
        return
    path = anchors_path(con)
    if path is None:
        return
    head = con.execute("select hash from trail_blocks where id = $id", {"id": block}).fetchall()
    if not head:
        return
    line = f"{block}\t{head[0][0]}\t{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n"
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line)
            log.flush()
            os.fsync(log.fileno())
    except OSError:
        # The write is committed already; a head not logged is covered by the next one, whose hash chains it.
        pass


def read_anchors(path: Path) -> list[tuple[int, str]]:
    """(block, hash) of each line of an anchors log; a line that is not one is an error naming it."""
    anchors = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split("\t")
        if not line.strip():
            continue
        if len(parts) < 2 or not parts[0].isdigit() or len(parts[1]) != 64:
            raise ValueError(number)
        anchors.append((int(parts[0]), parts[1]))
    return anchors


def anchor_problems(con, anchors: list[tuple[int, str]]) -> list[Problem]:
    """Each recorded head must still be the hash of its block in the chain."""
    chain = dict(con.execute("select id, hash from trail_blocks").fetchall())
    return [Problem("trail_anchor_missing", {"block": block, "head": head})
            for block, head in anchors if chain.get(block) != head]


def head(con) -> str | None:
    """The hash of the last block: what the meeting pack prints, for the minutes to keep."""
    found = con.execute("select hash from trail_blocks order by id desc limit 1").fetchall()
    return found[0][0] if found else None
