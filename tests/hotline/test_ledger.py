"""The ledger of one node: send, restart, rollback (S7), consume (R2), deadlines (R9), rotation,
backoff and alarms, the log view and the evidence export."""

from __future__ import annotations

import base64
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_kit import START_MS, LedgerPair, key_for, ledger_pair, message, open_ledger

from seabridge.errors import EquivocationError, LedgerError, VerificationError
from seabridge.hotline.entries import Entry, Ref
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import new_msg_id
from seabridge.hotline.merkle import leaf_hash, verify_inclusion
from seabridge.hotline.notes import Checkpoint, open_checkpoint, sign_checkpoint
from seabridge.hotline.views import EVIDENCE_FORMAT

OWN = "jcg/hotline/ccg"
MIRROR = "ccg/hotline/jcg"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[LedgerPair]:
    with ledger_pair(tmp_path) as made:
        yield made


def test_send_builds_a_chained_signed_entry(pair: LedgerPair) -> None:
    first = pair.jcg.send("ccg", "notification", message(), deadline_ms=START_MS + 60_000)
    second = pair.jcg.send("ccg", "note", message("2"), lang="ja")
    assert (first.seq, second.seq) == (0, 1)
    assert (first.log, first.deadline) == (OWN, "2026-09-21T14:14:20Z")
    assert second.prev_root == leaf_hash(first.to_bytes())
    assert first.created == "2026-09-21T14:13:20Z"
    note, cosigs = pair.jcg.checkpoint(OWN)
    checkpoint = open_checkpoint(note, [key_for("jcg/hotline", KEY_TYPE_NOTE).verifier])
    assert (checkpoint.size, cosigs) == (2, [])
    proof = pair.jcg.inclusion_proof(OWN, 0, 2)
    verify_inclusion(0, 2, first.leaf_hash(), proof, checkpoint.root)
    assert len(first.msg_id) == 26 and first.msg_id != second.msg_id


def test_send_is_idempotent_on_msg_id(pair: LedgerPair) -> None:
    sent = pair.jcg.send("ccg", "note", message(), msg_id="op-1")
    pair.clock.advance(10)
    again = pair.jcg.send("ccg", "note", message(), msg_id="op-1")
    assert again == sent and again.to_bytes() == sent.to_bytes()
    assert pair.jcg.size(OWN) == 1
    with pytest.raises(LedgerError, match="other content"):
        pair.jcg.send("ccg", "note", message("different"), msg_id="op-1")
    assert pair.jcg.size(OWN) == 1


def test_read_entries_pages_through_the_log_from_start(
    pair: LedgerPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("seabridge.hotline.ledger.MAX_PULL", 2)  # pages of two
    sent = [pair.jcg.send("ccg", "note", message(str(n))) for n in range(5)]
    assert len(pair.jcg.entries(OWN, 0, 5)) == 2
    assert list(pair.jcg.read_entries(OWN, 1)) == sent[1:]
    assert list(pair.jcg.read_entries(OWN)) == sent
    assert list(pair.jcg.read_entries(OWN, 5)) == []


def test_msg_ids_are_unique_and_sortable() -> None:
    ids = [new_msg_id(START_MS + i) for i in range(100)]
    assert len(set(ids)) == 100
    assert ids[0][:10] < ids[-1][:10]


def test_restart_reloads_the_trees(pair: LedgerPair) -> None:
    for i in range(20):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    pair.sync()
    root = pair.jcg.checkpoint(OWN)[0]
    pair.reopen("jcg")
    pair.reopen("ccg")
    assert pair.jcg.checkpoint(OWN)[0] == root
    assert pair.jcg.send("ccg", "note", message("after")).seq == 20
    pair.sync()
    assert pair.ccg.size(OWN) == 21


def test_rollback_refused_at_start_up(pair: LedgerPair, tmp_path: Path) -> None:
    """S7: a restored older state.sqlite plus a newer checkpoint: the node refuses to start."""
    for i in range(3):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    pair.jcg.close()
    backup = tmp_path / "backup.sqlite"
    shutil.copy(pair.path("jcg"), backup)
    pair.ledgers["jcg"] = open_ledger(tmp_path / "jcg", "jcg", pair.clock)
    pair.jcg.send("ccg", "note", message("m3"))
    newer = pair.jcg.checkpoint(OWN)[0]
    pair.jcg.close()
    shutil.copy(backup, pair.path("jcg"))
    conn = sqlite3.connect(pair.path("jcg"))
    root = open_checkpoint(newer, [key_for("jcg/hotline", KEY_TYPE_NOTE).verifier]).root
    with conn:
        conn.execute("INSERT INTO checkpoints VALUES (?, 4, ?, ?)", (OWN, root, newer))
    conn.close()
    with pytest.raises(EquivocationError, match="rolled back"):
        open_ledger(tmp_path / "jcg", "jcg", pair.clock)
    del pair.ledgers["jcg"]


def test_rolled_back_node_is_rejected_by_its_peer(pair: LedgerPair, tmp_path: Path) -> None:
    """S7, forced: an old backup restored whole sends a different entry for a seq the peer
    holds: the peer refuses (equivocation, evidence kept), and a 409 beyond our size is refused."""
    pair.jcg.send("ccg", "note", message("m0"))
    pair.push("jcg")
    pair.jcg.close()
    backup = tmp_path / "backup.sqlite"
    shutil.copy(pair.path("jcg"), backup)
    pair.ledgers["jcg"] = open_ledger(tmp_path / "jcg", "jcg", pair.clock)
    for i in range(1, 3):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    pair.push("jcg")
    pair.jcg.close()
    shutil.copy(backup, pair.path("jcg"))
    pair.ledgers["jcg"] = open_ledger(tmp_path / "jcg", "jcg", pair.clock)
    with pytest.raises(LedgerError, match="rolled back"):
        pair.jcg.accept_conflict("ccg", 3)
    pair.clock.advance(1)
    pair.jcg.send("ccg", "note", message("rewritten history"))
    with pytest.raises(EquivocationError, match="seq 1"):
        pair.push("jcg")  # old_size 1, entry seq 1 differs from what ccg holds
    assert [e["kind"] for e in pair.ccg.evidence()][-1] == "entry-conflict"
    assert pair.ccg.size(OWN) == 3


def test_never_signs_a_smaller_checkpoint(pair: LedgerPair) -> None:
    pair.jcg.send("ccg", "note", message())
    key = key_for("jcg/hotline", KEY_TYPE_NOTE)
    with pytest.raises(EquivocationError, match="refusing to sign"), pair.jcg._write() as conn:
        pair.jcg._issue_checkpoint(conn, OWN, pair.jcg._trees[OWN])
    assert open_checkpoint(pair.jcg.checkpoint(OWN)[0], [key.verifier]).size == 1


def test_consume_is_exactly_once_with_a_failing_handler(pair: LedgerPair) -> None:
    """R2 small: effects and cursor commit together; a failure rolls back that entry only."""
    for i in range(10):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    pair.sync()
    ccg = pair.ccg
    ccg._store.conn.execute("CREATE TABLE effects (origin TEXT, seq INTEGER)")
    failed: list[int] = []

    def handler(conn: sqlite3.Connection, entry: Entry) -> None:
        conn.execute("INSERT INTO effects VALUES (?, ?)", (entry.log, entry.seq))
        if entry.seq == 4 and not failed:
            failed.append(entry.seq)
            raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError):
        ccg.consume(OWN, handler)
    assert ccg.consume(OWN, handler, limit=2) == 2
    pair.reopen("ccg")
    assert pair.ccg.consume(OWN, handler) == 4
    assert pair.ccg.consume(OWN, handler) == 0
    effects = pair.ccg._store.conn.execute("SELECT seq FROM effects ORDER BY seq").fetchall()
    assert [seq for (seq,) in effects] == list(range(10))


def test_deadlines_exactly_one_missed_per_unanswered(pair: LedgerPair) -> None:
    """R9 at CI size: 100 notifications with deadlines, 50 acked in time: exactly 50 missed."""
    deadline = START_MS + 600_000
    sent = [
        pair.jcg.send("ccg", "notification", message(f"n{i}"), deadline_ms=deadline + i * 1000)
        for i in range(100)
    ]
    pair.sync()
    for entry in sent[::2]:
        ref = Ref(entry.log, entry.seq, entry.leaf_hash())
        pair.ccg.send("jcg", "ack", {"text": "received"}, refs=(ref,))
    pair.sync()
    assert pair.jcg.check_deadlines(deadline - 1) == []
    missed: list[Entry] = []
    for _ in range(100):
        pair.clock.advance(1)
        missed += pair.jcg.check_deadlines(pair.clock.now_ms() + 600_000)
    assert len(missed) == 50
    assert sorted(m.refs[0].seq for m in missed) == [e.seq for e in sent[1::2]]
    assert all(
        m.kind == "deadline-missed" and m.refs[0].leaf == sent[m.refs[0].seq].leaf_hash()
        for m in missed
    )
    pair.reopen("jcg")
    assert pair.jcg.check_deadlines(pair.clock.now_ms() + 10**9) == []
    assert pair.jcg.size(OWN) == 150
    view = pair.jcg.log_view("ccg")
    acknowledged = [row for row in view if row["origin"] == OWN and row["acknowledged"]]
    assert len(acknowledged) == 50


def test_key_rotation_accepted_and_old_key_refused_after(pair: LedgerPair) -> None:
    pair.jcg.send("ccg", "note", message("before"))
    new = SigningKey.from_seed("jcg/hotline", KEY_TYPE_NOTE, b"\x07" * 32)
    rotations = pair.jcg.rotate_key("log", new)
    assert [e.kind for e in rotations] == ["key-rotation"]
    assert rotations[0].body["from_seq"] == 2
    after = pair.jcg.send("ccg", "note", message("after"))
    pair.sync()
    assert pair.ccg.size(OWN) == 3
    checkpoint = open_checkpoint(pair.ccg.checkpoint(OWN)[0], [new.verifier])
    assert checkpoint.size == 3
    # Restart needs the new key; the old one is refused.
    with pytest.raises(LedgerError, match="not the current one"):
        pair.reopen("jcg")
    pair.ledgers["jcg"] = open_ledger(pair.root / "jcg", "jcg", pair.clock, log=new)
    # An entry signed by the old key after the rotation is rejected by the peer.
    old = key_for("jcg/hotline", KEY_TYPE_NOTE)
    pair.jcg._own_keys[new.verifier.vkey()] = old  # force the old key to sign seq 3
    pair.jcg.send("ccg", "note", message("forged with the old key"))
    body = pair.jcg.push_request("ccg")
    assert body is not None
    with pytest.raises(VerificationError):
        pair.ccg.receive_push(body)
    assert pair.ccg.size(OWN) == 3
    assert after.seq == 2


def test_cosigner_rotation_is_used_by_the_peer(pair: LedgerPair) -> None:
    new = SigningKey.from_seed("ccg/hotline/cosigner", KEY_TYPE_COSIGNATURE, b"\x09" * 32)
    pair.ccg.rotate_key("cosigner", new)
    pair.push("ccg")  # the announcement reaches jcg first
    pair.jcg.send("ccg", "note", message())
    answer = pair.push("jcg")
    assert answer is not None
    sig = base64.b64decode(answer["cosignature"].split(" ")[-1])
    assert sig[:4] == new.verifier.key_id


def test_backoff_is_exponential_capped_and_persisted(pair: LedgerPair) -> None:
    now = pair.clock.now_ms()
    delays = [pair.jcg.record_failure("ccg", "connection refused", now) - now for _ in range(8)]
    assert 400 <= delays[0] <= 700 and 800 <= delays[1] <= 1400
    assert all(d <= 2000 for d in delays) and delays[-1] == 2000
    state = pair.jcg.delivery_state("ccg")
    assert (state.attempts, state.last_error) == (8, "connection refused")
    pair.reopen("jcg")
    assert pair.jcg.delivery_state("ccg").attempts == 8
    assert not pair.jcg.heartbeat_due("ccg", now + 1000, 60)
    pair.jcg.record_success("ccg")
    state = pair.jcg.delivery_state("ccg")
    assert (state.attempts, state.next_attempt_ms, state.last_error) == (0, 0, None)


def test_alarms_distinguish_not_delivered_from_not_acknowledged(pair: LedgerPair) -> None:
    interval = 60.0
    assert pair.jcg.alarm("ccg", pair.clock.now_ms(), interval) is None
    pair.jcg.send("ccg", "notification", message(), deadline_ms=START_MS + 30_000)
    pair.clock.advance(181)
    alarm = pair.jcg.alarm("ccg", pair.clock.now_ms(), interval)
    assert alarm is not None and alarm.startswith("not delivered")
    assert pair.jcg.heartbeat_due("ccg", pair.clock.now_ms(), interval)
    pair.push("jcg")
    alarm = pair.jcg.alarm("ccg", pair.clock.now_ms(), interval)
    assert alarm is not None and alarm.startswith("delivered but not acknowledged")
    assert not pair.jcg.heartbeat_due("ccg", pair.clock.now_ms(), interval)


def test_log_view_shows_receipts_and_acks(pair: LedgerPair) -> None:
    sent = pair.jcg.send("ccg", "notification", message("hello"), deadline_ms=START_MS + 60_000)
    pair.clock.advance(2)
    pair.push("jcg")
    pair.clock.advance(2)
    pair.ccg.send("jcg", "ack", {"text": "seen"}, refs=(Ref(OWN, 0, sent.leaf_hash()),))
    pair.jcg.send("ccg", "note", message("unsent"))
    view = pair.jcg.log_view("ccg")
    assert [(r["origin"], r["seq"]) for r in view] == [(OWN, 0), (OWN, 1)]
    first = view[0]
    assert (first["receipted"], first["receipt_time"]) == (True, "2026-09-21T14:13:22Z")
    assert first["acknowledged"] is False  # the ack is not in jcg's mirror yet
    assert view[1]["receipted"] is False and view[1]["receipt_time"] is None
    pair.sync()
    view = pair.jcg.log_view("ccg")
    assert [(r["origin"], r["seq"]) for r in view] == [(OWN, 0), (MIRROR, 0), (OWN, 1)]
    assert view[0]["acknowledged"] and view[0]["text"] == "hello"
    assert view[1]["kind"] == "ack" and view[1]["receipted"]  # jcg cosigned ccg's ack
    assert pair.ccg.log_view("jcg")[0]["acknowledged"]


def test_export_evidence_format(pair: LedgerPair) -> None:
    for i in range(3):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    pair.ccg.send("jcg", "note", message("c"))
    pair.sync()
    key = key_for("jcg/hotline", KEY_TYPE_NOTE)
    other = sign_checkpoint(Checkpoint(OWN, 3, leaf_hash(b"fork")), key)
    beat = pair.jcg.push_request("ccg", heartbeat=True)
    assert beat is not None
    with pytest.raises(EquivocationError):
        pair.ccg.receive_push({**beat, "checkpoint": other})
    exported = pair.ccg.export_evidence()
    assert exported["format"] == EVIDENCE_FORMAT and exported["exported_by"] == "ccg"
    assert {(k["origin"], k["role"]) for k in exported["keys"]} == {
        (OWN, "log"),
        (OWN, "cosigner"),
        (MIRROR, "log"),
        (MIRROR, "cosigner"),
    }
    assert all(k["from_seq"] == 0 for k in exported["keys"])
    cosigners = {k["origin"]: k["vkey"] for k in exported["keys"] if k["role"] == "cosigner"}
    assert cosigners[OWN].startswith("ccg/hotline/cosigner+")  # listed with the log it cosigns
    logs = {log["origin"]: log for log in exported["logs"]}
    assert [e["seq"] for e in logs[OWN]["entries"]] == [0, 1, 2]
    assert base64.b64decode(logs[OWN]["entries"][0]["entry"]) == pair.jcg.entries(OWN, 0, 1)[0][0]
    assert len(logs[MIRROR]["checkpoints"]) == 2  # sizes 0 and 1
    assert logs[OWN]["cosignatures"][-1]["cosigner"] == "ccg/hotline/cosigner"
    assert set(logs[OWN]["cosignatures"][-1]) == {"size", "cosigner", "time", "line"}
    assert exported["evidence"][0]["kind"] == "checkpoint-conflict"
    assert base64.b64decode(exported["evidence"][0]["blobs"][1]).decode() == other


def test_a_receipt_is_owed_while_the_newest_checkpoint_is_not_cosigned(pair: LedgerPair) -> None:
    assert pair.jcg.receipt_owed("ccg")  # the empty log's checkpoint is not cosigned yet
    pair.push("jcg", heartbeat=True)
    assert not pair.jcg.receipt_owed("ccg")
    pair.jcg.send("ccg", "notification", message())
    assert pair.jcg.receipt_owed("ccg")
    pair.push("jcg")
    assert not pair.jcg.receipt_owed("ccg")
    pair.jcg.send("ccg", "notification", message("again"))
    assert pair.jcg.receipt_owed("ccg")  # the older cosignature does not cover it
