"""Channels to parties whose keys are not configured yet (a node with no peer).

jcg's ledger has a channel to ccg from the start (ccg is a party of the pack) but no ccg keys:
it signs and stores at once, refuses to push, receive or mirror with a clear error, and once
it is opened again with ccg's keys the waiting entries are pushed as usual.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_kit import (
    BACKOFF_CAP_S,
    START_MS,
    cosigner_key,
    log_key,
    message,
    open_ledger,
)

from seabridge.clock import ManualClock
from seabridge.errors import LedgerError, UnknownPeerError
from seabridge.hotline.entries import Ref
from seabridge.hotline.evidence import parse_evidence
from seabridge.hotline.keys import KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.notes import open_checkpoint
from seabridge.hotline.verify import verify_evidence

OWN = "jcg/hotline/ccg"
MIRROR = "ccg/hotline/jcg"
NOT_YET = "peer ccg is not configured yet: seabridge peer add"


def unpeered(path: Path, clock: ManualClock, *, log: SigningKey | None = None) -> Ledger:
    """jcg's ledger with a channel to ccg but no ccg keys (what open_ledger gives before
    ``seabridge peer add``)."""
    path.mkdir(parents=True, exist_ok=True)
    return Ledger(
        path / "state.sqlite",
        "jcg",
        log or log_key("jcg"),
        cosigner_key("jcg"),
        {},
        clock,
        backoff_cap_s=BACKOFF_CAP_S,
        rng=random.Random(0),
        channels=("ccg",),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
def jcg(tmp_path: Path, clock: ManualClock) -> Iterator[Ledger]:
    with unpeered(tmp_path / "jcg", clock) as ledger:
        yield ledger


def deliver(sender: Ledger, receiver: Ledger, peer: str) -> int:
    """Push everything ``sender`` has for ``peer``; return how many pushes were answered."""
    pushes = 0
    while (body := sender.push_request(peer)) is not None:
        sender.accept_response(peer, receiver.receive_push(body))
        pushes += 1
    return pushes


def test_send_before_the_peer_keys_signs_and_checkpoints_the_own_log(jcg: Ledger) -> None:
    assert (jcg.channels, jcg.peers) == (("ccg",), {})
    assert jcg.own_origin("ccg") == OWN
    first = jcg.send("ccg", "notification", message(), deadline_ms=START_MS + 60_000)
    second = jcg.send("ccg", "note", message("2"), msg_id="op-1")
    assert (first.log, first.seq, second.seq, first.peers) == (OWN, 0, 1, {})
    assert jcg.send("ccg", "note", message("2"), msg_id="op-1") == second  # idempotent
    note, cosigs = jcg.checkpoint(OWN)
    assert (open_checkpoint(note, [log_key("jcg").verifier]).size, cosigs) == (2, [])
    assert jcg.delivery_state("ccg").acked_size == 0
    assert [row["seq"] for row in jcg.log_view("ccg")] == [0, 1]


def test_push_receive_and_mirror_are_refused_until_the_keys_are_configured(
    jcg: Ledger, tmp_path: Path, clock: ManualClock
) -> None:
    jcg.send("ccg", "note", message())
    for refused in (
        lambda: jcg.push_request("ccg"),
        lambda: jcg.push_request("ccg", heartbeat=True),
        lambda: jcg.accept_response("ccg", {"cosignature": "x", "size": 1}),
        lambda: jcg.accept_conflict("ccg", 0),
        lambda: jcg.record_failure("ccg", "down", START_MS),
        lambda: jcg.record_success("ccg"),
        lambda: jcg.mirror_origin("ccg"),
    ):
        with pytest.raises(UnknownPeerError, match=NOT_YET):
            refused()
    # ccg knows jcg already and pushes: jcg cannot check ccg's signatures yet
    with open_ledger(tmp_path / "ccg", "ccg", clock) as ccg:
        ccg.send("jcg", "note", message("from ccg"))
        body = ccg.push_request("jcg")
        assert body is not None
        with pytest.raises(UnknownPeerError, match=NOT_YET):
            jcg.receive_push(body)
        with pytest.raises(UnknownPeerError, match=NOT_YET):
            jcg.apply_pulled(MIRROR, [], body["checkpoint"])
    # a party that is neither configured nor a channel stays unknown
    with pytest.raises(UnknownPeerError, match="neither configured nor a party"):
        jcg.send("xcg", "note", message())


def test_a_channel_to_itself_is_refused(tmp_path: Path, clock: ManualClock) -> None:
    with pytest.raises(LedgerError, match="channel to itself"):
        Ledger(
            tmp_path / "state.sqlite",
            "jcg",
            log_key("jcg"),
            cosigner_key("jcg"),
            {},
            clock,
            channels=("jcg", "ccg"),
        )


def test_opened_again_with_the_keys_the_waiting_entries_are_delivered(
    tmp_path: Path, clock: ManualClock
) -> None:
    with unpeered(tmp_path / "jcg", clock) as jcg:
        sent = [jcg.send("ccg", "note", message(f"m{i}")) for i in range(3)]
    clock.advance(1000)
    # `seabridge peer add`: the next open has ccg's keys; they are stored as initial keys
    with (
        open_ledger(tmp_path / "jcg", "jcg", clock) as jcg,
        open_ledger(tmp_path / "ccg", "ccg", clock) as ccg,
    ):
        assert jcg.peers.keys() == {"ccg"} and jcg.mirror_origin("ccg") == MIRROR
        assert deliver(jcg, ccg, "ccg") == 1
        assert jcg.delivery_state("ccg").acked_size == 3
        got = ccg.entries(OWN, 0, 3)
        assert [entry for entry, _ in got] == [entry.to_bytes() for entry in sent]
        assert [row["receipted"] for row in jcg.log_view("ccg")] == [True] * 3
        # and the channel works both ways from now on
        reply = ccg.send("jcg", "note", message("seen"))
        assert deliver(ccg, jcg, "jcg") == 1
        assert jcg.size(MIRROR) == 1
        assert jcg.send("ccg", "note", message("m3")).peers == {MIRROR: (1, reply.leaf_hash())}


def test_the_evidence_verifies_before_and_after_the_keys(
    tmp_path: Path, clock: ManualClock
) -> None:
    with unpeered(tmp_path / "jcg", clock) as jcg:
        sent = jcg.send("ccg", "notification", message(), deadline_ms=START_MS + 60_000)
        report = verify_evidence(parse_evidence(jcg.export_evidence()))
        assert report.ok, report.problems
        trusted = [log_key("jcg").verifier, cosigner_key("jcg").verifier]
        assert verify_evidence(parse_evidence(jcg.export_evidence()), trusted).ok
    with (
        open_ledger(tmp_path / "jcg", "jcg", clock) as jcg,
        open_ledger(tmp_path / "ccg", "ccg", clock) as ccg,
    ):
        deliver(jcg, ccg, "ccg")
        ccg.send("jcg", "ack", {}, refs=(Ref(OWN, 0, sent.leaf_hash()),))
        deliver(ccg, jcg, "jcg")
        for ledger in (jcg, ccg):
            report = verify_evidence(parse_evidence(ledger.export_evidence()))
            assert report.ok, report.problems


def test_a_key_rotated_before_the_peer_keys_is_accepted_by_the_peer(
    tmp_path: Path, clock: ManualClock
) -> None:
    new = SigningKey.from_seed("jcg/hotline", KEY_TYPE_NOTE, b"\x07" * 32)
    with unpeered(tmp_path / "jcg", clock) as jcg:
        jcg.send("ccg", "note", message("before"))
        (rotation,) = jcg.rotate_key("log", new)
        assert (rotation.log, rotation.seq) == (OWN, 1)
        jcg.send("ccg", "note", message("after"))
    with (
        open_ledger(tmp_path / "jcg", "jcg", clock, log=new) as jcg,
        open_ledger(tmp_path / "ccg", "ccg", clock) as ccg,
    ):
        deliver(jcg, ccg, "ccg")
        assert ccg.size(OWN) == 3
        report = verify_evidence(parse_evidence(ccg.export_evidence()))
        assert report.ok, report.problems


def test_deadlines_on_a_channel_without_keys_are_missed_as_on_any_other(jcg: Ledger) -> None:
    sent = jcg.send("ccg", "notification", message(), deadline_ms=START_MS + 60_000)
    (missed,) = jcg.check_deadlines(START_MS + 60_000)
    assert (missed.kind, missed.refs[0].seq, missed.log) == ("deadline-missed", sent.seq, OWN)
    assert jcg.check_deadlines(START_MS + 120_000) == []
