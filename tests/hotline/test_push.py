"""Push protocol between two ledgers (§5.6): receipts, replays, lost answers, 409, equivocation."""

from __future__ import annotations

import base64
import copy
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_kit import LedgerPair, ledger_pair, message

from seabridge.errors import (
    ConflictError,
    EquivocationError,
    MalformedError,
    UnknownPeerError,
    VerificationError,
)
from seabridge.hotline.entries import Entry, sign_entry
from seabridge.hotline.keys import KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.merkle import leaf_hash
from seabridge.hotline.notes import Checkpoint, sign_checkpoint, verify_cosignature


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[LedgerPair]:
    with ledger_pair(tmp_path) as made:
        yield made


def rows(path: Path) -> dict[str, int]:
    """Row counts of every ledger table, read by a second connection."""
    conn = sqlite3.connect(path)
    try:
        tables = ("log", "tree", "checkpoints", "cosigs", "evidence", "keys", "refs")
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_round_trip_cosigns_and_converges(pair: LedgerPair) -> None:
    for i in range(5):
        pair.jcg.send("ccg", "notification", message(f"jcg {i}"))
        pair.clock.advance(1)
    for i in range(3):
        pair.ccg.send("jcg", "note", message(f"ccg {i}"))
    body = pair.jcg.push_request("ccg")
    assert body is not None and body["old_size"] == 0 and len(body["entries"]) == 5
    answer = pair.ccg.receive_push(body)
    assert answer["size"] == 5
    checkpoint = Checkpoint("jcg/hotline/ccg", 5, pair.jcg._trees["jcg/hotline/ccg"].root())
    pair.jcg.accept_response("ccg", answer)
    verify_cosignature(checkpoint, answer["cosignature"], pair.jcg.peers["ccg"][1])
    assert pair.jcg.delivery_state("ccg").acked_size == 5
    assert pair.jcg.push_request("ccg") is None
    pair.sync()
    # R6: equal sizes and roots for every log on both nodes, latest checkpoints cosigned.
    for origin in ("jcg/hotline/ccg", "ccg/hotline/jcg"):
        assert pair.jcg.size(origin) == pair.ccg.size(origin)
        assert pair.jcg.checkpoint(origin)[0] == pair.ccg.checkpoint(origin)[0]
        assert pair.jcg.checkpoint(origin)[1] == pair.ccg.checkpoint(origin)[1]
        assert len(pair.jcg.checkpoint(origin)[1]) == 1
    assert pair.ccg.entries("jcg/hotline/ccg", 0, 100) == pair.jcg.entries("jcg/hotline/ccg", 0, 9)


def test_second_push_carries_a_consistency_proof(pair: LedgerPair) -> None:
    for i in range(3):
        pair.jcg.send("ccg", "note", message(f"a{i}"))
    pair.push("jcg")
    for i in range(4):
        pair.jcg.send("ccg", "note", message(f"b{i}"))
    body = pair.jcg.push_request("ccg")
    assert body is not None and body["old_size"] == 3 and body["proof"]
    bad = copy.deepcopy(body)
    bad["proof"][0] = base64.b64encode(leaf_hash(b"x")).decode()
    with pytest.raises(VerificationError):
        pair.ccg.receive_push(bad)
    assert pair.ccg.size("jcg/hotline/ccg") == 3
    assert pair.ccg.receive_push(body)["size"] == 7


def test_batches_are_capped(pair: LedgerPair) -> None:
    for i in range(300):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    first = pair.push("jcg")
    assert first is not None and first["size"] == 256
    second = pair.push("jcg")
    assert second is not None and second["size"] == 300
    assert pair.push("jcg") is None


def test_replaying_any_earlier_push_x100_adds_nothing(pair: LedgerPair) -> None:
    """S8: replay of any earlier push body: 0 new rows, identical cosignature."""
    bodies, answers = [], []
    for batch in range(3):
        for i in range(2):
            pair.jcg.send("ccg", "note", message(f"{batch}.{i}"))
        body = pair.jcg.push_request("ccg")
        assert body is not None
        answer = pair.ccg.receive_push(body)
        pair.jcg.accept_response("ccg", answer)
        bodies.append(body)
        answers.append(answer)
        pair.clock.advance(5)
    before = rows(pair.path("ccg"))
    for _ in range(100):
        for body, answer in zip(bodies, answers, strict=True):
            assert pair.ccg.receive_push(copy.deepcopy(body)) == answer
    assert rows(pair.path("ccg")) == before


def test_lost_response_retry_gets_the_stored_cosignature(pair: LedgerPair) -> None:
    """R4 at small size: the receiver committed, the sender never saw the answer."""
    for i in range(50):
        pair.jcg.send("ccg", "note", message(f"m{i}"), msg_id=f"m{i}")
        body = pair.jcg.push_request("ccg")
        assert body is not None
        answer = pair.ccg.receive_push(body)
        if i % 2 == 0:  # answer lost: the sender retries the same body later
            pair.clock.advance(3)
            retried = pair.ccg.receive_push(body)
            assert retried == answer
            answer = retried
        pair.jcg.accept_response("ccg", answer)
    # The sender also resends with more entries after a lost answer: 409, then from the size.
    pair.jcg.send("ccg", "note", message("x"))
    body = pair.jcg.push_request("ccg")
    assert body is not None
    pair.ccg.receive_push(body)  # answer lost
    pair.jcg.send("ccg", "note", message("y"))
    with pytest.raises(ConflictError) as conflict:
        pair.push("jcg")
    assert conflict.value.size == 51
    pair.jcg.accept_conflict("ccg", conflict.value.size)
    pair.sync()
    assert pair.ccg.size("jcg/hotline/ccg") == pair.jcg.size("jcg/hotline/ccg") == 52
    msg_ids = [Entry.from_bytes(e).msg_id for e, _ in pair.ccg.entries("jcg/hotline/ccg", 0, 99)]
    assert len(msg_ids) == len(set(msg_ids)) == 52


def test_push_from_a_wrong_old_size_is_409(pair: LedgerPair) -> None:
    pair.jcg.send("ccg", "note", message())
    pair.push("jcg")
    pair.jcg.send("ccg", "note", message("2"))
    body = pair.jcg.push_request("ccg")
    assert body is not None
    body_ahead = copy.deepcopy(body)
    body_ahead["old_size"] = 5
    with pytest.raises((ConflictError, MalformedError)):
        pair.ccg.receive_push(body_ahead)
    # The sender lost its cursor (acked 0): 409 with 1, then it resends from 1.
    pair.jcg._store.conn.execute("UPDATE delivery SET acked_size = 0")
    with pytest.raises(ConflictError) as conflict:
        pair.push("jcg")
    assert conflict.value.size == 1
    pair.jcg.accept_conflict("ccg", 1)
    assert pair.push("jcg") == {
        "cosignature": pair.ccg.checkpoint("jcg/hotline/ccg")[1][0],
        "size": 2,
    }


def test_unknown_origin_and_malformed_bodies(pair: LedgerPair) -> None:
    pair.jcg.send("ccg", "note", message())
    body = pair.jcg.push_request("ccg")
    assert body is not None
    with pytest.raises(UnknownPeerError):
        pair.ccg.receive_push({**body, "origin": "xyz/hotline/ccg"})
    with pytest.raises(UnknownPeerError):
        pair.jcg.receive_push(body)  # its own log is not a peer's
    broken: object
    for broken in (
        [],
        {**body, "old_size": -1},
        {**body, "entries": "x"},
        {**body, "entries": [{"entry": "!!", "sig": ""}]},
        {**body, "proof": [1]},
        {**body, "extra": 1},
        {**body, "checkpoint": "not a note"},
    ):
        with pytest.raises(MalformedError):
            pair.ccg.receive_push(broken)
    assert rows(pair.path("ccg"))["log"] == 0


def test_checkpoint_without_a_valid_author_signature_is_refused(pair: LedgerPair) -> None:
    pair.jcg.send("ccg", "note", message())
    body = pair.jcg.push_request("ccg")
    assert body is not None
    stranger = SigningKey.generate("jcg/hotline", KEY_TYPE_NOTE)
    checkpoint = Checkpoint("jcg/hotline/ccg", 1, pair.jcg._trees["jcg/hotline/ccg"].root())
    with pytest.raises(VerificationError, match="no signature by a known key"):
        pair.ccg.receive_push({**body, "checkpoint": sign_checkpoint(checkpoint, stranger)})
    assert rows(pair.path("ccg"))["log"] == 0


def test_bad_entry_signature_stores_nothing(pair: LedgerPair) -> None:
    """Part of S9: a valid channel but a bad entry signature: refused, 0 rows stored."""
    for i in range(3):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    body = pair.jcg.push_request("ccg")
    assert body is not None
    before = rows(pair.path("ccg"))
    for index in range(3):
        bad = copy.deepcopy(body)
        sig = bytearray(base64.b64decode(bad["entries"][index]["sig"]))
        sig[5] ^= 1
        bad["entries"][index]["sig"] = base64.b64encode(bytes(sig)).decode()
        with pytest.raises(VerificationError):
            pair.ccg.receive_push(bad)
        assert rows(pair.path("ccg")) == before
    assert pair.ccg.receive_push(body)["size"] == 3


def forged_entry(pair: LedgerPair, seq: int, text: str) -> tuple[bytes, bytes]:
    """jcg's own key signs a different entry for ``seq`` (what an equivocating author does)."""
    tree = pair.jcg._trees["jcg/hotline/ccg"]
    entry = Entry(
        log="jcg/hotline/ccg",
        seq=seq,
        prev_root=tree.root(seq),
        msg_id=f"forged-{seq}",
        kind="note",
        created="2026-09-21T00:00:00Z",
        lang="en",
        body=message(text),
    )
    key = next(iter(pair.jcg._own_keys.values()))
    return entry.to_bytes(), sign_entry(entry.to_bytes(), key)


def test_second_entry_for_an_existing_seq_is_equivocation(pair: LedgerPair) -> None:
    """S6: a different author-signed entry for a stored seq: refused, both kept as evidence."""
    for i in range(3):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    original = pair.jcg.push_request("ccg")
    assert original is not None
    pair.ccg.receive_push(original)
    forged = copy.deepcopy(original)
    data, sig = forged_entry(pair, 1, "something else")
    forged["entries"][1] = {
        "entry": base64.b64encode(data).decode(),
        "sig": base64.b64encode(sig).decode(),
    }
    stored = [
        (base64.b64decode(e["entry"]), base64.b64decode(e["sig"])) for e in original["entries"]
    ]
    with pytest.raises(EquivocationError, match="seq 1"):
        pair.ccg.receive_push(forged)
    with pytest.raises(EquivocationError):  # again: still refused, evidence not duplicated
        pair.ccg.receive_push(forged)
    evidence = pair.ccg.evidence()
    assert len(evidence) == 1 and evidence[0]["kind"] == "entry-conflict"
    blobs = [json.loads(base64.b64decode(b)) for b in evidence[0]["blobs"]]
    pairs = [(base64.b64decode(b["entry"]), base64.b64decode(b["sig"])) for b in blobs]
    assert pairs == [stored[1], (data, sig)]
    assert pair.ccg.entries("jcg/hotline/ccg", 0, 3) == stored  # never overwritten


def test_second_checkpoint_of_a_size_is_equivocation(pair: LedgerPair) -> None:
    """S6: two author-signed checkpoints of one size with different roots."""
    for i in range(2):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    pair.push("jcg")
    key = next(iter(pair.jcg._own_keys.values()))
    other = sign_checkpoint(Checkpoint("jcg/hotline/ccg", 2, leaf_hash(b"split view")), key)
    heartbeat = pair.jcg.push_request("ccg", heartbeat=True)
    assert heartbeat is not None and heartbeat["entries"] == []
    with pytest.raises(EquivocationError, match="two checkpoints of size 2"):
        pair.ccg.receive_push({**heartbeat, "checkpoint": other})
    evidence = pair.ccg.evidence()
    assert [e["kind"] for e in evidence] == ["checkpoint-conflict"]
    notes = [base64.b64decode(b).decode() for b in evidence[0]["blobs"]]
    assert notes == [heartbeat["checkpoint"], other]
    assert pair.ccg.checkpoint("jcg/hotline/ccg")[0] == heartbeat["checkpoint"]


def test_heartbeat_gets_a_fresh_cosignature(pair: LedgerPair) -> None:
    """§5.3: re-submitting the same checkpoint returns a fresh timestamped cosignature."""
    first = pair.push("jcg", heartbeat=True)  # empty log: size 0
    assert first is not None and first["size"] == 0
    pair.jcg.send("ccg", "note", message())
    pair.push("jcg")
    pair.clock.advance(60)
    beat = pair.jcg.push_request("ccg", heartbeat=True)
    assert beat is not None and beat["entries"] == [] and beat["old_size"] == 1
    answer = pair.ccg.receive_push(beat)
    pair.jcg.accept_response("ccg", answer)
    checkpoint = Checkpoint("jcg/hotline/ccg", 1, pair.jcg._trees["jcg/hotline/ccg"].root())
    time_s = verify_cosignature(checkpoint, answer["cosignature"], pair.jcg.peers["ccg"][1])
    assert time_s == pair.clock.now_ms() // 1000
    assert pair.jcg.last_cosignature_ms("ccg") == pair.clock.now_ms()
    assert len(pair.jcg.checkpoint("jcg/hotline/ccg")[1]) == 2


def test_pull_side_and_apply_pulled(pair: LedgerPair) -> None:
    for i in range(6):
        pair.jcg.send("ccg", "note", message(f"m{i}"))
    origin = "jcg/hotline/ccg"
    note, _ = pair.jcg.checkpoint(origin)
    assert pair.ccg.apply_pulled(origin, pair.jcg.entries(origin, 0, 6), note) == 6
    assert pair.ccg.checkpoint(origin) == (note, [])  # no cosignature for a pull
    assert pair.ccg.apply_pulled(origin, pair.jcg.entries(origin, 2, 6), note) == 6  # replay
    proof = pair.ccg.inclusion_proof(origin, 3, 6)
    assert proof == pair.jcg.inclusion_proof(origin, 3, 6)
    assert pair.ccg.consistency_proof(origin, 2, 6) == pair.jcg.consistency_proof(origin, 2, 6)
    with pytest.raises(MalformedError):
        pair.ccg.inclusion_proof(origin, 6, 6)
    with pytest.raises(UnknownPeerError):
        pair.ccg.checkpoint("nobody/hotline/ccg")
    # A later push from the sender's cursor is a replay of pulled entries: cosigned.
    answer = pair.push("jcg")
    assert answer is not None and answer["size"] == 6
