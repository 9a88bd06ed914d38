"""The ``open_deadlines`` table answers exactly what the history scans answered (§5.7, §5.9).

Oracle: the queries ``delivery_state.alarm`` and ``delivery_state.missed_deadlines`` ran over
``log`` and ``refs`` before the table existed, copied below unchanged. Seeded random histories
of two ledgers (sends with and without deadlines, acks and replies with right and wrong leaf
hashes or to entries not sent yet, acks of the wrong log, hand-written and watched
``deadline-missed`` entries, pushes, clock advances, restarts, and files taken back to schema
version 2 and migrated again) compare the table with the oracle after every step, at several
probe times; the table must also hold no row the oracle does not count as open.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from ledger_kit import START_MS, cosigner_key, log_key, message

from seabridge import statedb
from seabridge.clock import ManualClock
from seabridge.errors import LedgerError
from seabridge.hotline import delivery_state, open_deadlines
from seabridge.hotline.entries import Entry, Ref, format_timestamp
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.store import MIGRATIONS, SCHEMA_VERSION

PEER = {"jcg": "ccg", "ccg": "jcg"}
EXTRA = {"jcg": ("mof",), "ccg": ()}
"""jcg also has a channel whose peer keys are not configured (its own log, never answered)."""
HEARTBEAT_S = 60.0


# --- the oracle: the scans of delivery_state before open_deadlines, unchanged ---------------


def oracle_alarm(
    conn: sqlite3.Connection,
    peer: str,
    origin: str,
    mirror: str,
    now_ms: int,
    heartbeat_interval_s: float,
) -> str | None:
    """``delivery_state.alarm`` counting with :func:`oracle_unacknowledged` instead of the
    table (its "not delivered" half did not change: the real one runs)."""
    with mock.patch.object(
        open_deadlines,
        "unacknowledged",
        lambda conn, origin, now_ms: oracle_unacknowledged(conn, origin, mirror, now_ms),
    ):
        return delivery_state.alarm(conn, peer, origin, now_ms, heartbeat_interval_s)


def oracle_unacknowledged(
    conn: sqlite3.Connection, origin: str, mirror: str, now_ms: int
) -> tuple[int, int | None]:
    """The "delivered but not acknowledged" scan of ``delivery_state.alarm``."""
    row = conn.execute(
        "SELECT count(*), min(l.seq) FROM log l WHERE l.origin = ? "
        "AND l.deadline_ms <= ? AND EXISTS (SELECT 1 FROM cosigs c WHERE c.origin = "
        "l.origin AND c.size > l.seq) AND NOT EXISTS (SELECT 1 FROM refs r WHERE "
        "r.origin = ? AND r.ref_log = l.origin AND r.ref_seq = l.seq AND r.kind IN "
        "('ack', 'reply'))",
        (origin, now_ms, mirror),
    ).fetchone()
    return row[0], row[1]


def oracle_missed(
    conn: sqlite3.Connection, origin: str, mirror: str, now_ms: int
) -> list[tuple[int, bytes, int]]:
    rows = conn.execute(
        "SELECT seq, leaf, deadline_ms FROM log l WHERE origin = ? "
        "AND deadline_ms IS NOT NULL AND deadline_ms <= ? "
        "AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.origin = ? AND r.ref_log = "
        "l.origin AND r.ref_seq = l.seq AND r.ref_leaf = l.leaf AND r.kind IN "
        "('ack', 'reply')) AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.origin = "
        "l.origin AND r.ref_log = l.origin AND r.ref_seq = l.seq AND r.kind = "
        "'deadline-missed') ORDER BY seq",
        (origin, now_ms, mirror),
    ).fetchall()
    return [(int(seq), bytes(leaf), int(deadline_ms)) for seq, leaf, deadline_ms in rows]


def oracle_open_seqs(conn: sqlite3.Connection, origin: str, mirror: str) -> list[int]:
    """Entries with a deadline either scan could still count, at some time."""
    rows = conn.execute(
        "SELECT seq FROM log l WHERE origin = ? AND deadline_ms IS NOT NULL AND ("
        "NOT EXISTS (SELECT 1 FROM refs r WHERE r.origin = ? AND r.ref_log = l.origin "
        "AND r.ref_seq = l.seq AND r.kind IN ('ack', 'reply')) "
        "OR (NOT EXISTS (SELECT 1 FROM refs r WHERE r.origin = ? AND r.ref_log = l.origin "
        "AND r.ref_seq = l.seq AND r.ref_leaf = l.leaf AND r.kind IN ('ack', 'reply')) "
        "AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.origin = l.origin AND r.ref_log = "
        "l.origin AND r.ref_seq = l.seq AND r.kind = 'deadline-missed'))) ORDER BY seq",
        (origin, mirror, mirror),
    )
    return [seq for (seq,) in rows]


# --- two ledgers and a random history ------------------------------------------------------


def open_party(root: Path, party: str, clock: ManualClock) -> Ledger:
    peer = PEER[party]
    (root / party).mkdir(parents=True, exist_ok=True)
    return Ledger(
        root / party / "state.sqlite",
        party,
        log_key(party),
        cosigner_key(party),
        {peer: (log_key(peer).verifier, cosigner_key(peer).verifier)},
        clock,
        backoff_cap_s=2.0,
        rng=random.Random(0),
        heartbeat_interval_s=HEARTBEAT_S,
        channels=EXTRA[party],
    )


def downgrade_to_version_2(path: Path) -> None:
    """Make ``path`` what Seabridge wrote before ``open_deadlines`` (schema version 2)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE open_deadlines")
    conn.execute("DELETE FROM schema_version WHERE version > 2")
    conn.close()


def schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [tuple(row) for row in rows]


class History:
    """Two ledgers, jcg and ccg, driven by seeded random steps; :meth:`check` after each."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root, self.rng = root, random.Random(seed)
        self.clock = ManualClock(START_MS)
        self.ledgers = {party: open_party(root, party, self.clock) for party in PEER}
        self.steps: list[str] = []

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()

    def origins(self, party: str) -> list[tuple[str, str, str]]:
        """(peer, own origin, mirror origin) of every channel of ``party``."""
        return [
            (peer, f"{party}/hotline/{peer}", f"{peer}/hotline/{party}")
            for peer in (PEER[party], *EXTRA[party])
        ]

    def entries(self, party: str, origin: str) -> list[Entry]:
        ledger = self.ledgers[party]
        return list(ledger.read_entries(origin)) if ledger.size(origin) else []

    def ref(self, party: str, origin: str) -> Ref:
        """A ref to an entry of ``origin`` as ``party`` holds it: mostly right, sometimes with
        another leaf hash or to a seq not stored (yet)."""
        stored = self.entries(party, origin)
        roll = self.rng.random()
        if not stored or roll < 0.1:
            return Ref(origin, len(stored) + self.rng.randrange(3), self.rng.randbytes(32))
        target = self.rng.choice(stored)
        leaf = self.rng.randbytes(32) if roll < 0.25 else target.leaf_hash()
        return Ref(origin, target.seq, leaf)

    def deadline_ms(self) -> int | None:
        if self.rng.random() < 0.3:
            return None
        return self.clock.now_ms() + self.rng.randrange(-60_000, 300_000)

    def step(self) -> None:
        rng, party = self.rng, self.rng.choice(("jcg", "ccg"))
        ledger, peer = self.ledgers[party], PEER[party]
        own, mirror = f"{party}/hotline/{peer}", f"{peer}/hotline/{party}"
        action = rng.choices(
            ["send", "extra", "answer", "wrong-log", "self-ack", "missed-by-hand", "watch",
             "push", "sync", "advance", "reopen", "downgrade"],
            weights=[20, 4, 18, 3, 3, 3, 8, 10, 4, 12, 3, 2],
        )[0]  # fmt: skip
        self.steps.append(f"{party} {action}")
        if action == "send":
            ledger.send(peer, "notification", message(), deadline_ms=self.deadline_ms())
        elif action == "extra" and EXTRA[party]:
            extra = EXTRA[party][0]
            ledger.send(extra, "notification", message(), deadline_ms=self.deadline_ms())
        elif action == "answer":  # an ack or a reply (itself with a deadline, sometimes)
            refs = [self.ref(party, mirror) for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.5:
                ledger.send(peer, "ack", {"text": "ack", "text_en": "ack"}, refs=refs)
            else:
                deadline = self.deadline_ms()
                ledger.send(peer, "reply", message(), refs=refs, deadline_ms=deadline)
        elif action == "wrong-log" and party == "ccg":  # an ack of jcg's log to mof
            ref = self.ref("jcg", "jcg/hotline/mof")
            ledger.send(peer, "ack", {"text": "ack", "text_en": "ack"}, refs=[ref])
        elif action == "self-ack":  # an ack in the own log of the own entries counts for none
            ledger.send(peer, "ack", {"text": "ack", "text_en": "ack"}, refs=[self.ref(party, own)])
        elif action == "missed-by-hand":  # any leaf, any entry (with a deadline or not)
            missed = {"deadline": format_timestamp(self.clock.now_ms())}
            ledger.send(peer, "deadline-missed", missed, refs=[self.ref(party, own)])
        elif action == "watch":
            self.check_deadlines(party)
        elif action == "push":
            push = ledger.push_request(peer, heartbeat=rng.random() < 0.2)
            if push is not None:
                ledger.accept_response(peer, self.ledgers[peer].receive_push(push))
        elif action == "sync":
            self.sync()
        elif action == "advance":
            self.clock.advance(rng.choice((0.5, 5, 30, 61, 200)))
        elif action in ("reopen", "downgrade"):
            ledger.close()
            if action == "downgrade":
                downgrade_to_version_2(self.root / party / "state.sqlite")
            self.ledgers[party] = open_party(self.root, party, self.clock)

    def sync(self) -> None:
        """Push both ways until both logs are delivered."""
        for _ in range(100):
            moved = False
            for sender, receiver in PEER.items():
                body = self.ledgers[sender].push_request(receiver)
                if body is not None:
                    answer = self.ledgers[receiver].receive_push(body)
                    self.ledgers[sender].accept_response(receiver, answer)
                    moved = True
            if not moved:
                return
        raise AssertionError("the ledgers did not converge")

    def check_deadlines(self, party: str) -> None:
        """``check_deadlines`` appends one deadline-missed per entry the oracle reports."""
        ledger, now = self.ledgers[party], self.clock.now_ms()
        conn = ledger._store.conn
        expected = [
            (origin, seq, leaf)
            for _, origin, mirror in self.origins(party)
            for seq, leaf, _ in oracle_missed(conn, origin, mirror, now)
        ]
        created = ledger.check_deadlines(now)
        assert [(e.log, e.refs[0].seq, e.refs[0].leaf) for e in created] == expected

    def check(self) -> None:
        now = self.clock.now_ms()
        probes = [now, now - 60_000, now + 30_000, now + 10**9, START_MS - 10**9]
        probes.append(now + self.rng.randrange(-400_000, 400_000))
        for party, ledger in self.ledgers.items():
            conn = ledger._store.conn
            # rows only for own logs: a received entry never opens a deadline here
            own = {origin for _, origin, _ in self.origins(party)}
            tracked = {origin for (origin,) in conn.execute("SELECT origin FROM open_deadlines")}
            assert tracked <= own
            for peer, origin, mirror in self.origins(party):
                rows = conn.execute(
                    "SELECT seq FROM open_deadlines WHERE origin = ? ORDER BY seq", (origin,)
                )
                assert [seq for (seq,) in rows] == oracle_open_seqs(conn, origin, mirror)
                for at in probes:
                    assert open_deadlines.missed(conn, origin, at) == oracle_missed(
                        conn, origin, mirror, at
                    )
                    assert open_deadlines.unacknowledged(conn, origin, at) == oracle_unacknowledged(
                        conn, origin, mirror, at
                    )
                    if peer in ledger.peers:
                        assert ledger.alarm(peer, at, HEARTBEAT_S) == oracle_alarm(
                            conn, peer, origin, mirror, at, HEARTBEAT_S
                        )


@pytest.fixture
def history(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[History]:
    made = History(tmp_path, request.param)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("history", range(6), indirect=True, ids=lambda s: f"seed{s}")
def test_open_deadlines_equal_the_history_scans_at_every_step(history: History) -> None:
    history.check()
    for _ in range(120):
        history.step()
        try:
            history.check()
        except AssertionError as exc:
            steps = "; ".join(history.steps)
            raise AssertionError(f"after {len(history.steps)} steps ({steps}): {exc}") from exc
    kinds = {step.split(" ", 1)[1] for step in history.steps}
    assert {"send", "answer", "watch", "push", "advance", "reopen"} <= kinds


@pytest.mark.parametrize("history", [99], indirect=True, ids=lambda s: f"seed{s}")
def test_a_version_2_file_is_migrated_and_filled_from_its_history(
    history: History, tmp_path: Path
) -> None:
    """A state.sqlite written before the table existed opens, and the table is built from it."""
    for _ in range(80):
        history.step()
    jcg = history.ledgers["jcg"]
    now = history.clock.now_ms()
    sent = jcg.send("ccg", "notification", message("open"), deadline_ms=now - 1)
    before = {
        origin: oracle_missed(jcg._store.conn, origin, mirror, now + 10**9)
        for _, origin, mirror in history.origins("jcg")
    }
    assert (sent.seq, sent.leaf_hash(), now - 1) in before["jcg/hotline/ccg"]
    jcg.close()
    path = tmp_path / "jcg" / "state.sqlite"
    downgrade_to_version_2(path)
    conn = sqlite3.connect(path, isolation_level=None)
    version_2 = sqlite3.connect(":memory:", isolation_level=None)
    statedb.migrate(version_2, "schema_version", MIGRATIONS[:2], LedgerError, "v2")
    assert schema(conn) == schema(version_2)  # the file is a version 2 file
    conn.close()
    jcg = history.ledgers["jcg"] = open_party(tmp_path, "jcg", history.clock)
    conn = jcg._store.conn
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 3
    assert SCHEMA_VERSION == 3
    for _, origin, _ in history.origins("jcg"):
        assert open_deadlines.missed(conn, origin, now + 10**9) == before[origin]
    history.check()
    assert len(jcg.check_deadlines(now + 10**9)) == sum(map(len, before.values()))
    history.check()


@pytest.mark.parametrize("history", [0], indirect=True, ids=lambda s: f"seed{s}")
def test_the_table_keeps_only_open_deadlines(history: History) -> None:
    """Answered entries leave the table: its size follows the open deadlines, not the log."""
    jcg, ccg = history.ledgers["jcg"], history.ledgers["ccg"]
    now = history.clock.now_ms()
    sent = [
        jcg.send("ccg", "notification", message(f"n{i}"), deadline_ms=now + 1000) for i in range(20)
    ]
    jcg.send("ccg", "note", message("no deadline"))
    count = "SELECT count(*) FROM open_deadlines"
    assert jcg._store.conn.execute(count).fetchone()[0] == 20
    refs = [Ref(e.log, e.seq, e.leaf_hash()) for e in sent[:15]]
    ccg.send("jcg", "ack", {"text": "ack", "text_en": "ack"}, refs=refs[:8])
    ccg.send("jcg", "reply", message("answer"), refs=refs[8:])
    history.sync()
    assert jcg._store.conn.execute(count).fetchone()[0] == 5
    missed = jcg.check_deadlines(now + 1000)
    assert [m.refs[0].seq for m in missed] == [e.seq for e in sent[15:]]
    # missed but not acknowledged: still counted by the alarm, no longer by the watcher
    assert jcg._store.conn.execute(count).fetchone()[0] == 5
    assert jcg.check_deadlines(now + 10**9) == []
    wrong = [Ref(e.log, e.seq, bytes(32)) for e in sent[15:]]
    ccg.send("jcg", "ack", {"text": "late", "text_en": "late"}, refs=wrong)
    history.sync()
    assert jcg._store.conn.execute(count).fetchone()[0] == 0
    history.check()


@pytest.mark.parametrize("history", [3], indirect=True, ids=lambda s: f"seed{s}")
def test_verify_and_the_export_do_not_read_the_table(history: History) -> None:
    """Derived, not signed: emptying or filling ``open_deadlines`` changes no export byte."""
    for _ in range(60):
        history.step()
    jcg = history.ledgers["jcg"]
    exported = jcg.export_evidence()
    conn = jcg._store.conn
    conn.execute("DELETE FROM open_deadlines")
    conn.execute("INSERT INTO open_deadlines VALUES ('jcg/hotline/ccg', 999, x'00', 0)")
    assert jcg.export_evidence() == exported
