"""The incident manager over a fake SendFn and a ManualClock: opening, joining, notifying per
policy, acknowledgements, one escalation per missed deadline, restarts, closing."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from incident_kit import (
    CCG_SHIP,
    CN_FISHER,
    JCG_SHIP,
    JP_FISHER,
    OWN_LOG,
    PEER_LOG,
    T0,
    FakeHotline,
    ack,
    event,
    manager,
)

from seabridge.clock import ManualClock
from seabridge.errors import IncidentError
from seabridge.incidents.manager import IncidentManager
from seabridge.incidents.model import Change, PeerMessage

MINUTE = 60.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def hotline() -> FakeHotline:
    return FakeHotline()


@pytest.fixture
def jcg(tmp_path: Path, clock: ManualClock, hotline: FakeHotline) -> Iterator[IncidentManager]:
    m = manager(tmp_path / "state.sqlite", clock, hotline)
    yield m
    m.close()


def kinds(changes: list[Change]) -> list[str]:
    return [c.kind for c in changes]


def test_a_caution_between_the_fleets_opens_and_notifies_at_level_one(
    jcg: IncidentManager, hotline: FakeHotline
) -> None:
    changes = jcg.apply_events([event("e1")])
    assert kinds(changes) == ["opened", "notified", "sent"]
    [call] = hotline.calls
    assert (call.peer, call.kind, call.template_id, call.level) == (
        "ccg",
        "notification",
        "incident.close_quarters",
        1,
    )
    assert call.deadline_ms == T0 + 15 * 60_000
    assert call.incident_key == f"close_quarters|{CCG_SHIP}+{JCG_SHIP}|-|2026-01-01T00:00:00Z"
    assert call.params["vessel_a"] == str(JCG_SHIP) and call.params["cpa_m"] == "250"
    assert call.params["incident"] == "jcg-000001" and "n/a" not in call.params.values()
    record = jcg.get("jcg-000001")
    assert record["status"] == "notified" and record["level"] == 1
    assert record["deadlines"][0]["state"] == "armed"
    assert record["counterparts"][0]["counterpart"]["unit"]["en"] == "CCG vessel on scene"
    assert [v["party"] for v in record["vessels"]] == ["ccg", "jcg"]
    assert record["extent"] == {
        "min_lat": 25.74,
        "min_lon": 123.47,
        "max_lat": 25.74,
        "max_lon": 123.47,
    }
    assert record["thread"][0]["direction"] == "out"
    assert (
        record["rulebook"]["agreed"] is False
        and "not jointly agreed" in record["rulebook"]["warning"]
    )
    assert [t["action"] for t in record["timeline"]] == ["open", "notify"]
    assert record["timeline"][1]["cause"] == "rule"
    json.dumps(record)  # JSON-able


def test_notify_policy_fleet_or_flag_of_the_other_party(
    jcg: IncidentManager, hotline: FakeHotline
) -> None:
    jcg.apply_events([event("flag", (JP_FISHER, CN_FISHER))])  # flags only: notified
    jcg.apply_events([event("ours", (JCG_SHIP, JP_FISHER))])  # our own vessels only
    jcg.apply_events([event("dq", (CN_FISHER,), kind="data_quality")])  # no notice template
    assert [c.msg_id for c in hotline.calls] == ["jcg-000001.L1.ccg"]
    assert [i["status"] for i in jcg.list()] == ["notified", "open", "open"]


def test_levels_below_the_threshold_and_unknown_closings_are_ignored(jcg: IncidentManager) -> None:
    assert jcg.apply_events([event("low", level=1), event("gone", status="closed")]) == []
    assert jcg.list() == []


def test_joining_updating_and_closing(
    jcg: IncidentManager, hotline: FakeHotline, clock: ManualClock
) -> None:
    jcg.apply_events([event("e1", (JCG_SHIP, CCG_SHIP))])
    changes = jcg.apply_events([
        event("e2", (CCG_SHIP, JCG_SHIP), kind="encounter", start_ms=T0 + 3_600_000),
        event("e1", (JCG_SHIP, CCG_SHIP), status="update", level=3),
    ])  # fmt: skip
    assert kinds(changes) == ["joined", "updated"]
    record = jcg.get("jcg-000001")
    assert len(record["events"]) == 2 and record["severity"] == 3
    assert len(hotline.calls) == 1  # joining does not notify again
    clock.advance(5 * MINUTE)
    jcg.on_peer_message(None, ack(0, hotline.calls[0].ref))
    changes = jcg.apply_events([event("e1", status="closed")])
    assert kinds(changes) == ["updated"]  # e2 still open
    changes = jcg.apply_events([event("e2", (CCG_SHIP, JCG_SHIP), kind="encounter", status="closed",
                                      start_ms=T0 + 3_600_000)])  # fmt: skip
    assert kinds(changes) == ["updated", "cleared", "closing_proposed"]
    proposal = changes[-1]
    assert proposal.detail["template"] == "information.incident_closed"
    assert proposal.detail["peers"] == ["ccg"]
    assert jcg.propose_closing("jcg-000001").detail == proposal.detail
    assert len(hotline.calls) == 1  # proposed, not sent
    changes = jcg.confirm_closing("jcg-000001", "operator-1", "situation over")
    assert kinds(changes) == ["resolved", "closed", "sent"]
    assert hotline.calls[-1].template_id == "information.incident_closed"
    assert hotline.calls[-1].deadline_ms is None
    record = jcg.get("jcg-000001")
    assert [t["to"] for t in record["timeline"]] == [
        "open", "notified", "acknowledged", "de-escalating", "resolved", "closed",
    ]  # fmt: skip
    assert (
        record["timeline"][2]["cause"] == "peer" and record["timeline"][4]["actor"] == "operator-1"
    )
    # a new event of the same vessels after clearing opens a new incident
    jcg.apply_events([event("e3", start_ms=T0 + 7_200_000)])
    assert [i["id"] for i in jcg.list()] == ["jcg-000001", "jcg-000002"]


def test_all_events_retracted_retracts_the_incident(jcg: IncidentManager) -> None:
    jcg.apply_events([event("e1"), event("e2", kind="encounter")])
    changes = jcg.apply_events(
        [event("e1", status="retracted"), event("e2", kind="encounter", status="retracted")]
    )
    assert kinds(changes)[-1] == "retracted"
    record = jcg.get("jcg-000001")
    assert record["status"] == "retracted"
    assert record["deadlines"][0]["state"] == "cancelled"


def test_100_incidents_50_acknowledged_in_time_give_exactly_50_escalations(
    jcg: IncidentManager, hotline: FakeHotline, clock: ManualClock
) -> None:
    events = [event(f"e{i}", (431999100 + i, 413999100 + i)) for i in range(100)]
    jcg.apply_events(events)
    notices = hotline.of_kind("notification")
    assert len(notices) == 100
    clock.advance(10 * MINUTE)
    for i, call in enumerate(notices[::2]):
        changes = jcg.on_peer_message(None, ack(i, call.ref, "ack" if i % 2 else "reply"))
        assert kinds(changes) == ["message", "acknowledged"]
    clock.advance(6 * MINUTE)  # past the 15 min deadline
    assert len([c for c in jcg.check_timers() if c.kind == "overdue"]) == 50
    # the hotline's deadline watcher would report the 50 unanswered; give it all 100 twice
    escalations = []
    for _ in range(2):
        for call in notices:
            escalations += [c for c in jcg.on_deadline_missed(call.ref) if c.kind == "escalated"]
    assert len(escalations) == 50
    assert len(hotline.of_kind("escalation")) == 50
    acked = {f"jcg-{i + 1:06d}" for i in range(0, 100, 2)}
    assert not acked & {c.incident_id for c in escalations}
    statuses = {i["id"]: i["status"] for i in jcg.list()}
    assert {statuses[i] for i in acked} == {"acknowledged"}
    assert sorted(set(statuses.values())) == ["acknowledged", "escalated"]
    for call in hotline.of_kind("escalation"):
        assert call.template_id == "request.acknowledge" and call.level == 2
        assert call.refs == [(OWN_LOG, call.refs[0][1])]
        assert call.deadline_ms == clock.now_ms() + 30 * 60_000


def test_a_restart_in_the_middle_of_a_deadline_loses_nothing(
    tmp_path: Path, hotline: FakeHotline, clock: ManualClock
) -> None:
    path = tmp_path / "state.sqlite"
    first = manager(path, clock, hotline)
    first.apply_events([event(f"e{i}", (431999100 + i, 413999100 + i)) for i in range(10)])
    notices = list(hotline.calls)
    clock.advance(7 * MINUTE)
    for i, call in enumerate(notices[:5]):
        first.on_peer_message(None, ack(i, call.ref))
    before = [first.get(i["id"]) for i in first.list()]
    first.close()

    second = manager(path, clock, hotline)
    assert [second.get(i["id"]) for i in second.list()] == before
    assert second.check_timers() == []  # nothing due yet, nothing resent
    assert len(hotline.calls) == 10
    clock.advance(10 * MINUTE)
    assert len(second.check_timers()) == 5
    escalated = [
        c for call in notices for c in second.on_deadline_missed(call.ref) if c.kind == "escalated"
    ]
    assert len(escalated) == 5
    second.close()

    third = manager(path, clock, hotline)
    assert [c for call in notices for c in third.on_deadline_missed(call.ref)] == []
    assert third.check_timers(escalate=True) == []
    assert len(hotline.of_kind("escalation")) == 5
    armed = [
        d for i in third.list() for d in third.get(i["id"])["deadlines"] if d["state"] == "armed"
    ]
    assert len(armed) == 5 and {d["level"] for d in armed} == {2}
    third.close()


def test_a_crash_between_decision_and_send_sends_once_after_restart(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "state.sqlite"
    hotline = FakeHotline(fail=1)
    first = manager(path, clock, hotline)
    changes = first.apply_events([event("e1")])
    assert kinds(changes) == ["opened", "notified", "send_failed"]
    assert first.get("jcg-000001")["pending"] == ["jcg-000001.L1.ccg"]
    first.close()
    second = manager(path, clock, hotline)
    assert kinds(second.check_timers()) == ["sent"]
    assert kinds(second.check_timers()) == []
    assert len(hotline.calls) == 1
    record = second.get("jcg-000001")
    assert record["pending"] == [] and record["deadlines"][0]["state"] == "armed"
    second.close()


def test_missed_deadlines_climb_to_the_top_and_flag(
    jcg: IncidentManager, hotline: FakeHotline, clock: ManualClock
) -> None:
    jcg.apply_events([event("e1")])
    for level in (2, 3, 4):
        clock.advance(200 * MINUTE)
        changes = jcg.check_timers(escalate=True)
        assert [(c.kind, c.level) for c in changes if c.kind == "escalated"] == [
            ("escalated", level)
        ]
    clock.advance(200 * MINUTE)
    assert kinds(jcg.check_timers(escalate=True)) == ["flagged"]
    assert kinds(jcg.check_timers(escalate=True)) == []
    record = jcg.get("jcg-000001")
    assert record["status"] == "escalated" and record["flagged"] and record["level"] == 4
    assert [c["counterpart"]["level"] for c in record["counterparts"]] == [1, 2, 3, 4]
    assert [c.level for c in hotline.calls] == [1, 2, 3, 4]
    assert record["timeline"][-1]["action"] == "flag"


def test_peer_notifications_join_by_correlation_key(tmp_path: Path, clock: ManualClock) -> None:
    jcg_line, ccg_line = FakeHotline(), FakeHotline()
    jcg = manager(tmp_path / "jcg.sqlite", clock, jcg_line)
    ccg = manager(tmp_path / "ccg.sqlite", clock, ccg_line, party="ccg")
    jcg.apply_events([event("e1")])
    [call] = jcg_line.calls
    notice = PeerMessage(OWN_LOG, call.ref.seq, call.msg_id, "notification",
                         {"incident": call.incident_key, "template": call.template_id},
                         created_ms=clock.now_ms(), deadline_ms=call.deadline_ms)  # fmt: skip
    assert notice.party == "jcg"
    changes = ccg.on_peer_message(None, notice)
    assert kinds(changes) == ["opened", "notified"]
    [reported] = ccg.list()
    assert reported["origin"] == "jcg" and reported["status"] == "notified"
    assert reported["correlation_key"] == call.incident_key
    # ccg's own detection of the same situation joins the reported incident, no second notice
    assert kinds(ccg.apply_events([event("e1")])) == ["joined"]
    assert ccg_line.calls == [] and len(ccg.list()) == 1
    assert ccg.on_peer_message(None, notice) == []  # idempotent on (origin, seq)
    # a ccg notification with the same key joins jcg's incident instead of opening a second
    theirs = PeerMessage(PEER_LOG, 0, "ccg-1", "notification", {"incident": call.incident_key})
    assert kinds(jcg.on_peer_message(None, theirs)) == ["joined"]
    assert len(jcg.list()) == 1 and len(jcg.get("jcg-000001")["thread"]) == 2
    # a note referring to a thread message attaches; an unrelated one is ignored
    note = PeerMessage(PEER_LOG, 1, "ccg-2", "note", {"text": "x"}, ((PEER_LOG, 0),))
    assert kinds(jcg.on_peer_message(None, note)) == ["message"]
    assert jcg.on_peer_message(None, PeerMessage(PEER_LOG, 2, "ccg-3", "note", {})) == []
    assert jcg.on_peer_message(None, PeerMessage(PEER_LOG, 3, "hb", "heartbeat", {})) == []
    jcg.close()
    ccg.close()


def test_on_peer_message_writes_in_the_callers_transaction(
    tmp_path: Path, hotline: FakeHotline
) -> None:
    path = tmp_path / "state.sqlite"
    clock = ManualClock(T0)
    conn = sqlite3.connect(path, isolation_level=None)
    jcg = manager(conn, clock, hotline)  # type: ignore[arg-type]
    jcg.apply_events([event("e1")])
    message = ack(0, hotline.calls[0].ref)
    conn.execute("BEGIN IMMEDIATE")
    assert kinds(jcg.on_peer_message(conn, message)) == ["message", "acknowledged"]
    conn.execute("ROLLBACK")  # the ledger's consume() failed: nothing of it stays
    assert jcg.get("jcg-000001")["status"] == "notified"
    conn.execute("BEGIN IMMEDIATE")
    jcg.on_peer_message(conn, message)
    conn.execute("COMMIT")
    assert jcg.get("jcg-000001")["status"] == "acknowledged"
    jcg.close()
    conn.execute("SELECT 1")  # the caller's connection stays open
    conn.close()


def test_operator_steps_are_checked_against_the_table(
    jcg: IncidentManager, hotline: FakeHotline
) -> None:
    jcg.apply_events([event("mine", (JCG_SHIP, JP_FISHER))])  # not notified: open
    with pytest.raises(IncidentError, match="'open' cannot take the action 'acknowledge'"):
        jcg.operator_ack("jcg-000001", "op")
    with pytest.raises(IncidentError, match="no incident 'jcg-9'"):
        jcg.get("jcg-9")
    with pytest.raises(IncidentError, match="closing message is proposed only"):
        jcg.propose_closing("jcg-000001")
    assert kinds(jcg.operator_note("jcg-000001", "op", "watching")) == ["noted"]
    jcg.apply_events([event("e2")])
    assert kinds(jcg.operator_ack("jcg-000002", "op", "confirmed by VHF")) == ["acknowledged"]
    assert jcg.get("jcg-000002")["deadlines"][0]["state"] == "acked"
    assert kinds(jcg.operator_resolve("jcg-000002", "op")) == ["resolved"]
    assert kinds(jcg.confirm_closing("jcg-000002", "op")) == ["closed", "sent"]
    with pytest.raises(IncidentError, match="'closed' cannot take the action 'resolve'"):
        jcg.operator_resolve("jcg-000002", "op")
    timeline = jcg.get("jcg-000001")["timeline"]
    assert timeline[-1] == timeline[-1] | {
        "action": "note",
        "from": "open",
        "to": "open",
        "cause": "operator",
    }


def test_agreed_rulebooks_carry_no_warning(
    tmp_path: Path, clock: ManualClock, hotline: FakeHotline
) -> None:
    agreed = manager(tmp_path / "s.sqlite", clock, hotline, agreed=lambda sha: sha == "ab" * 32,
                     statics=lambda mmsi: {"name": f"SHIP {mmsi}"})  # fmt: skip
    agreed.apply_events([event("e1")])
    record = agreed.get("jcg-000001")
    assert record["rulebook"]["agreed"] is True and record["rulebook"]["warning"] is None
    assert record["vessels"][0]["static"] == {"name": f"SHIP {CCG_SHIP}"}
    agreed.close()


def test_a_party_outside_the_mechanism_is_refused(
    tmp_path: Path, clock: ManualClock, hotline: FakeHotline
) -> None:
    with pytest.raises(IncidentError, match="party 'kcg' is not in the mechanism"):
        manager(tmp_path / "s.sqlite", clock, hotline, party="kcg")


def test_the_timeline_and_thread_are_append_only(jcg: IncidentManager) -> None:
    jcg.apply_events([event("e1")])
    for table in ("incident_transitions", "incident_messages"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            jcg.store.conn.execute(f"DELETE FROM {table}")
    assert dataclasses.asdict(jcg.mechanism.ladder[0])["level"] == 1
