"""R10 (``domain/hotline-protocol.md`` §7): one node's clock an hour off changes no ordering and
no acceptance, and ``verify`` flags the skew.

Each node has its own :class:`ManualClock`; both advance together, one ahead of or behind the
other by 3,600 s. The same conversation (sends, pushes, cosignatures, acks, heartbeats, two
missed deadlines) runs with and without skew, and what the ledgers hold is compared: sizes,
entry order, kinds, refs, cosigned sizes, push cursors, deadline-missed entries, alarms, and
equal roots on both nodes. Timestamps differ by design (each author writes its own clock).

The verifier compares each entry's ``created`` (author's clock) with its first receipt (the
peer's cosignature time): an hour apart is beyond the 600 s threshold, so the skewed run warns
"clock skew" on both logs while ``ok`` stays True; the unskewed run does not warn.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from ledger_kit import PARTIES, START_MS, LedgerPair, message, open_ledger

from seabridge.clock import ManualClock
from seabridge.hotline.entries import Entry, Ref
from seabridge.hotline.evidence import parse_evidence
from seabridge.hotline.findings import Report
from seabridge.hotline.verify import verify_evidence

HOUR_S = 3600
DEADLINE_S = 1800
HEARTBEAT_S = 60.0


class SkewedPair:
    """Two ledgers with a clock each; ``advance`` moves both, so the offset stays fixed."""

    def __init__(self, root: Path, skewed: str, skew_s: int) -> None:
        self.clocks = {
            party: ManualClock(START_MS + (skew_s * 1000 if party == skewed else 0))
            for party in PARTIES
        }
        self.pair = LedgerPair(root, self.clocks["jcg"])
        for party in PARTIES:
            self.pair.ledgers[party] = open_ledger(root / party, party, self.clocks[party])

    def advance(self, seconds: float) -> None:
        for clock in self.clocks.values():
            clock.advance(seconds)

    def now_ms(self, party: str) -> int:
        return self.clocks[party].now_ms()

    def ref(self, author: str, seq: int) -> Ref:
        """A reference to ``author``'s entry ``seq`` as its peer has mirrored it."""
        reader = "ccg" if author == "jcg" else "jcg"
        ledger = self.pair.ledgers[reader]
        origin = ledger.mirror_origin(author)
        data, _ = ledger.entries(origin, seq, seq + 1)[0]
        return Ref(origin, seq, Entry.from_bytes(data).leaf_hash())


def converse(pair: SkewedPair) -> dict[str, Any]:
    """The conversation; returns what each step returned that does not carry a time."""
    jcg, ccg = pair.pair.jcg, pair.pair.ccg
    steps: dict[str, Any] = {}

    def deadline(party: str) -> int:  # each sender sets deadlines by its own clock
        return pair.now_ms(party) + DEADLINE_S * 1000

    jcg.send("ccg", "notification", message("j1"), deadline_ms=deadline("jcg"), msg_id="j1")
    jcg.send("ccg", "notification", message("j2"), deadline_ms=deadline("jcg"), msg_id="j2")
    pair.advance(2)
    steps["push_jcg"] = pair.pair.push("jcg") is not None
    ccg.send("jcg", "notification", message("c1"), deadline_ms=deadline("ccg"), msg_id="c1")
    ccg.send("jcg", "notification", message("c2"), deadline_ms=deadline("ccg"), msg_id="c2")
    pair.advance(3)
    steps["push_ccg"] = pair.pair.push("ccg") is not None
    pair.advance(60)
    ccg.send(
        "jcg",
        "ack",
        {"text": "受領", "text_en": "Received"},
        refs=[pair.ref("jcg", 0)],
        msg_id="c-ack",
    )
    jcg.send(
        "ccg", "reply", message("answer", "ANSWER"), refs=[pair.ref("ccg", 0)], msg_id="j-reply"
    )
    jcg.send("ccg", "note", message("note"), msg_id="j-note")
    pair.advance(2)
    pair.pair.sync()
    steps["early_deadlines"] = {
        party: [e.msg_id for e in pair.pair.ledgers[party].check_deadlines(pair.now_ms(party))]
        for party in PARTIES
    }
    pair.advance(DEADLINE_S)
    steps["deadlines"] = {
        party: [
            (e.seq, e.refs[0].seq, e.body["deadline"] == pair_deadline(pair, party, e.refs[0]))
            for e in pair.pair.ledgers[party].check_deadlines(pair.now_ms(party))
        ]
        for party in PARTIES
    }
    pair.advance(2)
    pair.pair.sync()
    pair.advance(HEARTBEAT_S)
    steps["heartbeats"] = [pair.pair.push(p, heartbeat=True) is not None for p in PARTIES]
    steps["alarms"] = {
        party: pair.pair.ledgers[party].alarm(
            "ccg" if party == "jcg" else "jcg", pair.now_ms(party), HEARTBEAT_S
        )
        for party in PARTIES
    }
    return steps


def pair_deadline(pair: SkewedPair, party: str, ref: Ref) -> str | None:
    """The deadline of ``party``'s own entry ``ref``, as it stored it."""
    data, _ = pair.pair.ledgers[party].entries(ref.log, ref.seq, ref.seq + 1)[0]
    return Entry.from_bytes(data).deadline


def structure(pair: SkewedPair, steps: dict[str, Any]) -> dict[str, Any]:
    """Everything the ledgers hold that does not carry a timestamp."""
    shape: dict[str, Any] = {"steps": steps}
    for party, ledger in pair.pair.ledgers.items():
        peer = "ccg" if party == "jcg" else "jcg"
        exported = ledger.export_evidence()
        shape[party] = {
            "acked": ledger.delivery_state(peer).acked_size,
            "logs": {
                log["origin"]: {
                    "entries": [shape_of(item["entry"]) for item in log["entries"]],
                    "checkpoint_sizes": len(log["checkpoints"]),
                    "cosigned_sizes": sorted({c["size"] for c in log["cosignatures"]}),
                }
                for log in exported["logs"]
            },
        }
    return shape


def shape_of(encoded: str) -> tuple[int, str, str, list[tuple[str, int]]]:
    """An entry without its times: seq, kind, msg_id, refs by position."""
    entry = Entry.from_bytes(base64.b64decode(encoded))
    return entry.seq, entry.kind, entry.msg_id, [(ref.log, ref.seq) for ref in entry.refs]


def run(root: Path, skewed: str, skew_s: int) -> tuple[dict[str, Any], Report, SkewedPair]:
    pair = SkewedPair(root, skewed, skew_s)
    steps = converse(pair)
    report = verify_evidence(parse_evidence(pair.pair.jcg.export_evidence()))
    return structure(pair, steps), report, pair


def unacknowledged(party: str) -> str:
    """The alarm for the one unanswered notification (seq 1) of ``party``'s log."""
    peer = "ccg" if party == "jcg" else "jcg"
    return (
        f"delivered but not acknowledged: 1 entries cosigned by {peer} have no ack past their "
        f"deadline (first: {party}/hotline/{peer} seq 1)"
    )


@pytest.mark.parametrize("skew_s", [HOUR_S, -HOUR_S], ids=["ahead", "behind"])
@pytest.mark.parametrize("skewed", PARTIES)
def test_an_hour_of_skew_changes_nothing_but_is_flagged(
    tmp_path: Path, skewed: str, skew_s: int
) -> None:
    base_shape, base_report, base = run(tmp_path / "base", skewed, 0)
    shape, report, pair = run(tmp_path / "skewed", skewed, skew_s)
    try:
        # the conversation itself did what it should (a broken run must not compare equal)
        assert base_shape["steps"] == {
            "push_jcg": True,
            "push_ccg": True,
            "early_deadlines": {"jcg": [], "ccg": []},
            "deadlines": {"jcg": [(4, 1, True)], "ccg": [(3, 1, True)]},
            "heartbeats": [True, True],
            "alarms": {party: unacknowledged(party) for party in PARTIES},
        }
        assert shape == base_shape
        for party in PARTIES:
            for origin, size in (("jcg/hotline/ccg", 5), ("ccg/hotline/jcg", 4)):
                assert pair.pair.ledgers[party].size(origin) == size
        for origin in ("jcg/hotline/ccg", "ccg/hotline/jcg"):
            assert pair.pair.jcg.checkpoint(origin)[0] == pair.pair.ccg.checkpoint(origin)[0]

        assert base_report.ok, base_report.problems
        assert report.ok, report.problems
        assert not [w for w in base_report.warnings if w.check == "clock skew"]
        skew = [w for w in report.warnings if w.check == "clock skew"]
        assert sorted(w.origin for w in skew) == ["ccg/hotline/jcg", "jcg/hotline/ccg"]
        assert all("600 s" in w.detail for w in skew)
        others = [(w.origin, w.seq, w.check) for w in report.warnings if w.check != "clock skew"]
        assert others == [(w.origin, w.seq, w.check) for w in base_report.warnings]
    finally:
        base.pair.close()
        pair.pair.close()
