"""The incidents of two nodes (jcg, ccg) wired to their ledgers by node.incidents.

Two node directories made with ``init_node`` that imported each other's bundle; push bodies are
handed from one ledger to the other directly (what ``seabridge serve`` does over mutual TLS),
and every clock is one ManualClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from node_builders import fixed_clock, make_node, make_pair

from seabridge.clock import ManualClock
from seabridge.detect.model import Event, RulebookRef
from seabridge.errors import UnknownPeerError
from seabridge.hotline.entries import Entry, parse_timestamp
from seabridge.hotline.ledger import Ledger
from seabridge.incidents import Change
from seabridge.node import NodeConfig, export_bundle, import_bundle
from seabridge.node.events import event_from_json
from seabridge.node.incidents import IncidentsService, ServedIncidents
from seabridge.node.runtime import open_ledger

JCG_SHIP, CCG_SHIP = 431999101, 413999101  # fleets of the ecs pack's parties.toml
OWN, MIRROR = "jcg/hotline/ccg", "ccg/hotline/jcg"


@dataclass
class Side:
    node: NodeConfig
    ledger: Ledger
    service: IncidentsService

    def entries(self, origin: str) -> list[Entry]:
        size = self.ledger.size(origin)
        return [Entry.from_bytes(e) for e, _ in self.ledger.entries(origin, 0, size)]


@dataclass
class Pair:
    clock: ManualClock
    jcg: Side
    ccg: Side

    def side(self, party: str) -> Side:
        return self.jcg if party == "jcg" else self.ccg

    def deliver(self, sender: str) -> None:
        """Push everything ``sender`` has to the other node, which then consumes it."""
        receiver = "ccg" if sender == "jcg" else "jcg"
        out, into = self.side(sender), self.side(receiver)
        while (body := out.ledger.push_request(receiver)) is not None:
            out.ledger.accept_response(receiver, into.ledger.receive_push(body))

    def exchange(self) -> list[Change]:
        """Deliver both ways; both sides consume."""
        self.deliver("jcg")
        self.deliver("ccg")
        return self.jcg.service.consume() + self.ccg.service.consume()


def _side(node: NodeConfig, clock: ManualClock) -> Side:
    ledger = open_ledger(node, clock)
    service = IncidentsService(node, ledger, clock)
    service.start()
    return Side(node, ledger, service)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    clock = fixed_clock()
    jcg, ccg = make_pair(tmp_path, clock)
    sides = Pair(clock, _side(jcg, clock), _side(ccg, clock))
    yield sides
    for side in (sides.jcg, sides.ccg):
        side.service.close()
        side.ledger.close()


def close_quarters(pair: Pair, event_id: str = "ev-cq-1", *, sha256: str | None = None) -> Event:
    rulebook = pair.jcg.service.rulebooks[0]
    return Event(
        id=event_id,
        rule_id="close-quarters",
        kind="close_quarters",
        rulebook=RulebookRef(rulebook.id, rulebook.version, sha256 or rulebook.sha256),
        level=2,
        status="open",
        vessels=(JCG_SHIP, CCG_SHIP),
        start_ms=pair.clock.now_ms() - 60_000,
        end_ms=None,
        lat=25.74,
        lon=123.47,
        zone=None,
        metrics={"cpa_m": 250.0, "tcpa_s": 300.0},
    )


def kinds(changes: list[Change]) -> list[str]:
    return [change.kind for change in changes]


# --- notification, delivery, acknowledgement -----------------------------------------------


def test_a_notification_is_signed_with_the_key_and_opens_a_reported_incident_at_the_peer(
    pair: Pair,
) -> None:
    changes = pair.jcg.service.apply_events([close_quarters(pair)])
    assert kinds(changes) == ["opened", "notified", "sent"]
    (incident,) = pair.jcg.service.manager.list()
    assert incident["status"] == "notified" and incident["peers"] == ["ccg"]
    (entry,) = pair.jcg.entries(OWN)
    assert entry.kind == "notification" and entry.msg_id == f"{incident['id']}.L1.ccg"
    assert entry.body["incident"] == incident["correlation_key"]
    assert entry.body["template"] == "incident.close_quarters"
    assert entry.body["marker"] == "WARNING"
    assert entry.lang == "en"  # jcg's level-1 counterpart works in en, ja (mechanism.yaml)
    assert str(entry.body["text_en"]).startswith("WARNING. Close-quarters situation.")
    assert entry.deadline is not None
    assert parse_timestamp(entry.deadline) == pair.clock.now_ms() + 15 * 60_000

    pair.deliver("jcg")
    changes = pair.ccg.service.consume()
    assert kinds(changes) == ["opened", "notified"]
    (reported,) = pair.ccg.service.manager.list()
    assert reported["origin"] == "jcg" and reported["status"] == "notified"
    assert reported["correlation_key"] == incident["correlation_key"]
    assert pair.ccg.service.consume() == []  # exactly once


def test_the_peers_ack_acknowledges_the_incident_and_stops_its_timer(pair: Pair) -> None:
    pair.jcg.service.apply_events([close_quarters(pair)])
    pair.deliver("jcg")
    pair.ccg.service.consume()
    notification = pair.ccg.service.ref(OWN, 0)  # jcg's log, as mirrored at ccg
    pair.ccg.ledger.send("jcg", "ack", {}, refs=(notification,), msg_id="ack.jcg.0")
    pair.deliver("ccg")
    changes = pair.jcg.service.consume()
    assert "acknowledged" in kinds(changes)
    (incident,) = pair.jcg.service.manager.list()
    assert incident["status"] == "acknowledged"
    detail = pair.jcg.service.manager.get(incident["id"])
    assert [d["state"] for d in detail["deadlines"]] == ["acked"]
    pair.clock.advance(3600_000)
    assert pair.jcg.ledger.check_deadlines(pair.clock.now_ms()) == []


def test_the_same_situation_detected_by_both_joins_one_incident_on_each_side(
    pair: Pair,
) -> None:
    event = close_quarters(pair)
    pair.jcg.service.apply_events([event])
    assert kinds(pair.ccg.service.apply_events([event]))[:2] == ["opened", "notified"]
    changes = pair.exchange()
    assert kinds(changes).count("joined") == 2 and "opened" not in kinds(changes)
    for side in (pair.jcg, pair.ccg):
        (incident,) = side.service.manager.list()
        assert incident["origin"] == side.node.party
        thread = side.service.manager.get(incident["id"])["thread"]
        assert sorted(m["direction"] for m in thread) == ["in", "out"]


# --- deadlines -----------------------------------------------------------------------------


def test_a_missed_deadline_escalates_exactly_once_to_level_2(pair: Pair) -> None:
    pair.jcg.service.apply_events([close_quarters(pair)])
    pair.clock.advance(15 * 60_000 + 1)
    missed = pair.jcg.ledger.check_deadlines(pair.clock.now_ms())
    assert [e.kind for e in missed] == ["deadline-missed"]
    changes = pair.jcg.service.deadline_missed(missed)
    assert kinds(changes) == ["escalated", "sent"]
    assert pair.jcg.service.deadline_missed(missed) == []
    assert pair.jcg.ledger.check_deadlines(pair.clock.now_ms()) == []
    escalations = [e for e in pair.jcg.entries(OWN) if e.kind == "escalation"]
    (escalation,) = escalations
    assert escalation.body["level"] == 2
    assert escalation.body["template"] == "request.acknowledge"
    assert escalation.lang == "ja"  # jcg's level-2 counterpart works in ja, en
    assert [(r.log, r.seq) for r in escalation.refs] == [(OWN, 0)]
    (incident,) = pair.jcg.service.manager.list()
    assert (incident["status"], incident["level"]) == ("escalated", 2)

    # a restart hands every deadline-missed entry to the manager again: nothing more happens
    pair.jcg.service.close()
    pair.jcg.service = IncidentsService(pair.jcg.node, pair.jcg.ledger, pair.clock)
    assert "escalated" not in kinds(pair.jcg.service.start())
    assert len([e for e in pair.jcg.entries(OWN) if e.kind == "escalation"]) == 1

    # the peer sees the escalation join the incident its notification opened
    pair.deliver("jcg")
    changes = pair.ccg.service.consume()
    assert kinds(changes).count("opened") == 1 and "joined" in kinds(changes)
    (reported,) = pair.ccg.service.manager.list()
    assert reported["origin"] == "jcg"


# --- agreements ----------------------------------------------------------------------------


def test_both_propose_and_countersign_and_the_versions_are_jointly_agreed(pair: Pair) -> None:
    for side in (pair.jcg, pair.ccg):
        assert not any(row["agreed"] for row in side.service.agreements())
        sent = side.service.propose()
        assert {row["document"] for row in sent} == {
            "rulebook/ecs-standard/v1",
            "mechanism/ecs-mechanism/v1",
        }
        assert side.service.propose() == sent  # idempotent
    pair.exchange()
    for side in (pair.jcg, pair.ccg):
        review = side.service.countersign()
        assert len(review.signed) == 2 and review.refused == []
        assert side.service.countersign().signed == []
    pair.exchange()
    rulebook = pair.jcg.service.rulebooks[0]
    for side in (pair.jcg, pair.ccg):
        rows = side.service.agreements()
        assert {(r["document"], r["agreed"], r["own"]) for r in rows} == {
            ("rulebook/ecs-standard/v1", True, True),
            ("mechanism/ecs-mechanism/v1", True, True),
        }
        assert all(r["countersigned_by"] == ["ccg", "jcg"] for r in rows)
        assert side.service.book.is_agreed(rulebook.sha256)
        assert side.service.rulebook_warning(rulebook.ref) is None

    pair.jcg.service.apply_events([close_quarters(pair)])
    (incident,) = pair.jcg.service.manager.list()
    assert incident["rulebook"]["agreed"] is True and incident["rulebook"]["warning"] is None

    # a restart rebuilds the book from both logs
    pair.jcg.service.close()
    pair.jcg.service = IncidentsService(pair.jcg.node, pair.jcg.ledger, pair.clock)
    pair.jcg.service.start()
    assert pair.jcg.service.book.is_agreed(rulebook.sha256)


def test_a_mismatching_rulebook_hash_is_refused_and_incidents_carry_the_warning(
    pair: Pair,
) -> None:
    other = "0f" * 32
    pair.jcg.ledger.send(
        "ccg",
        "agreement",
        {"role": "proposal", "document": "rulebook/ecs-standard/v1", "sha256": other},
    )
    pair.exchange()
    review = pair.ccg.service.countersign()
    (refused,) = review.refused
    own = pair.ccg.service.rulebooks[0].sha256
    assert (refused["sha256"], refused["own_sha256"]) == (other, own)
    assert other in refused["reason"] and own in refused["reason"]
    assert review.signed == []
    pair.exchange()
    assert not pair.jcg.service.book.is_agreed(other)
    assert [r["agreed"] for r in pair.jcg.service.agreements()] == [False]

    pair.jcg.service.apply_events([close_quarters(pair, sha256=other)])
    (incident,) = pair.jcg.service.manager.list()
    assert incident["rulebook"]["agreed"] is False
    assert "not jointly agreed" in incident["rulebook"]["warning"]
    warning = pair.jcg.service.rulebook_warning(close_quarters(pair, sha256=other).rulebook)
    assert warning is not None and other[:12] in warning


# --- no peer yet, events JSONL --------------------------------------------------------------


def test_a_node_with_no_peer_signs_its_notification_and_delivers_it_after_peer_add(
    tmp_path: Path,
) -> None:
    clock = fixed_clock()
    jcg = make_node(tmp_path, "jcg", clock)
    with open_ledger(jcg, clock) as ledger, IncidentsService(jcg, ledger, clock) as service:
        service.start()
        assert (ledger.channels, ledger.peers) == (("ccg",), {})
        rulebook = service.rulebooks[0]
        event = Event(
            "ev-1", "close-quarters", "close_quarters", rulebook.ref, 2, "open",
            (JCG_SHIP, CCG_SHIP), clock.now_ms(), None, 25.7, 123.4, None, {"cpa_m": 200.0},
        )  # fmt: skip
        changes = service.apply_events([event])
        assert kinds(changes) == ["opened", "notified", "sent"]
        assert service.pending() == 0 and ledger.size(OWN) == 1
        (entry,) = Side(jcg, ledger, service).entries(OWN)
        assert entry.kind == "notification"
        assert str(entry.body["incident"]).startswith("close_quarters|")
        with pytest.raises(UnknownPeerError, match="not configured yet: seabridge peer add"):
            ledger.push_request("ccg")
    ccg = make_node(tmp_path, "ccg", clock)
    jcg = import_bundle(jcg, export_bundle(ccg, clock), clock)
    ccg = import_bundle(ccg, export_bundle(jcg, clock), clock)
    with open_ledger(jcg, clock) as ledger, IncidentsService(jcg, ledger, clock) as service:
        assert kinds(service.start()) == []  # nothing was pending
        with open_ledger(ccg, clock) as peer, IncidentsService(ccg, peer, clock) as other:
            other.start()
            while (body := ledger.push_request("ccg")) is not None:
                ledger.accept_response("ccg", peer.receive_push(body))
            assert kinds(other.consume()) == ["opened", "notified"]
            (incident,) = other.manager.list()
            assert incident["origin"] == "jcg" and incident["status"] == "notified"
        assert ledger.delivery_state("ccg").acked_size == 1


def test_event_json_round_trips() -> None:
    clock = fixed_clock()
    event = Event(
        "ev-9", "close-quarters", "close_quarters", RulebookRef("ecs-standard", 1, "ab" * 32),
        3, "closed", (JCG_SHIP, CCG_SHIP), clock.now_ms(), clock.now_ms() + 60_000, 25.7,
        123.4, "zone-a", {"cpa_m": 200.0, "tcpa_s": float("nan")},
    )  # fmt: skip
    back = event_from_json(event.as_json())
    assert back.as_json() == event.as_json()
    with pytest.raises(ValueError, match="missing"):
        event_from_json({"id": "x"})


# --- under seabridge serve -------------------------------------------------------------------


def test_served_incidents_escalate_from_the_callback_or_the_round_once(pair: Pair) -> None:
    pair.jcg.service.close()
    served = ServedIncidents(pair.jcg.node, pair.jcg.ledger, pair.clock)
    assert served.service is not None
    pair.jcg.service = served.service
    event = close_quarters(pair)
    served.service.apply_events([event])
    pair.clock.advance(15 * 60_000 + 1)
    served.on_deadline_missed(pair.jcg.ledger.check_deadlines(pair.clock.now_ms()))
    assert [e.body.get("level") for e in pair.jcg.entries(OWN)] == [None, None, 2]

    # the next miss is appended but the callback never runs (a crash): the round escalates
    pair.clock.advance(30 * 60_000 + 1)
    assert len(pair.jcg.ledger.check_deadlines(pair.clock.now_ms())) == 1
    pair.ccg.service.apply_events([event])  # ccg saw it too: its notification joins ours
    pair.deliver("ccg")
    stop = asyncio.Event()
    rounds = []

    async def wait(seconds: float) -> None:
        rounds.append(seconds)
        stop.set()

    served = ServedIncidents(pair.jcg.node, pair.jcg.ledger, pair.clock, wait=wait)
    assert served.service is not None
    asyncio.run(served.run(stop))
    assert rounds == [1.0]
    levels = [e.body.get("level") for e in pair.jcg.entries(OWN) if e.kind == "escalation"]
    assert levels == [2, 3]
    (incident,) = served.service.manager.list()
    assert incident["level"] == 3 and "ccg" in incident["peers"]
    served.close()
