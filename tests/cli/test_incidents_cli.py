"""``seabridge incidents ...`` and ``seabridge agreements ...`` end to end over two node
directories (jcg, ccg) that imported each other's bundle. Events are written with the serializer
of ``seabridge detect --format jsonl``; push bodies go from one ledger to the other directly
(delivery is ``seabridge serve``'s job)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import seabridge.cli.incidents as incidents_cli
from seabridge.cli import app
from seabridge.cli.detect import _write as write_events
from seabridge.clock import ManualClock
from seabridge.detect.model import Event, RulebookRef
from seabridge.detect.rulebook import load_rulebook
from seabridge.geo import load_zones
from seabridge.hotline.ledger import Ledger
from seabridge.node import export_bundle, import_bundle, init_node, load_node
from seabridge.node.runtime import open_ledger
from seabridge.packs import load_pack, load_parties

T0_MS = 1_777_593_600_000  # 2026-05-01T00:00:00Z
JCG_SHIP, CCG_SHIP, CN_FISHER = 431999101, 413999101, 412999003
SUMMARY_KEYS = {"events", "changes", "incidents", "sent", "pending", "warnings"}
INCIDENT_KEYS = {
    "id", "origin", "status", "level", "severity", "kind", "correlation_key", "vessels", "zone",
    "peers", "flagged", "closing_proposed", "start", "created", "updated", "rulebook",
}  # fmt: skip

runner = CliRunner()


def _rulebook() -> RulebookRef:
    pack = load_pack("ecs")
    parties = load_parties(pack)
    return load_rulebook(None, pack, zone_ids=load_zones(pack).ids, parties=parties).ref


RULEBOOK = _rulebook()


@dataclass
class Pair:
    root: Path
    clock: ManualClock

    def dir(self, party: str) -> str:
        return str(self.root / party)

    def ledger(self, party: str) -> Ledger:
        return open_ledger(load_node(self.root / party), self.clock)

    def deliver(self, sender: str) -> None:
        receiver = "ccg" if sender == "jcg" else "jcg"
        with self.ledger(sender) as out, self.ledger(receiver) as into:
            while (body := out.push_request(receiver)) is not None:
                out.accept_response(receiver, into.receive_push(body))


def _init(root: Path, party: str, clock: ManualClock) -> Any:
    port = 18443 if party == "jcg" else 19443
    return init_node(
        root / party, party, f"{party.upper()} node", f"127.0.0.1:{port}",
        f"127.0.0.1:{port + 1}", clock,
    )  # fmt: skip


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    clock = ManualClock(T0_MS)
    monkeypatch.setattr(incidents_cli, "CLOCK", clock)
    monkeypatch.delenv("SEABRIDGE_NODE", raising=False)
    return clock


@pytest.fixture
def pair(tmp_path: Path, clock: ManualClock) -> Iterator[Pair]:
    jcg, ccg = _init(tmp_path, "jcg", clock), _init(tmp_path, "ccg", clock)
    import_bundle(jcg, export_bundle(ccg, clock), clock)
    import_bundle(ccg, export_bundle(jcg, clock), clock)
    yield Pair(tmp_path, clock)


def event(
    event_id: str,
    vessels: tuple[int, ...] = (JCG_SHIP, CCG_SHIP),
    *,
    status: str = "open",
    level: int = 2,
    rulebook: RulebookRef = RULEBOOK,
) -> Event:
    return Event(
        id=event_id, rule_id="close-quarters", kind="close_quarters", rulebook=rulebook,
        level=level, status=status,  # type: ignore[arg-type]
        vessels=vessels, start_ms=T0_MS - 120_000, end_ms=None if status == "open" else T0_MS,
        lat=25.74, lon=123.47, zone=None, metrics={"cpa_m": 250.0, "tcpa_s": 300.0},
    )  # fmt: skip


def events_file(path: Path, events: list[Event]) -> str:
    """The events as ``seabridge detect --format jsonl`` writes them."""
    sink = io.StringIO()
    write_events(events, "jsonl", False, sink)
    path.write_text(sink.getvalue(), encoding="utf-8")
    return str(path)


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json"))


def one_line_error(text: str) -> str:
    assert text.startswith("error: ") and text.count("\n") == 1, text
    return text


# --- incidents ---------------------------------------------------------------------------


def test_from_events_opens_incidents_then_list_and_show_give_json(
    pair: Pair, tmp_path: Path
) -> None:
    path = events_file(
        tmp_path / "events.jsonl",
        [event("ev-1"), event("ev-2", (JCG_SHIP, CN_FISHER)), event("ev-3", level=1)],
    )
    summary = run_json("incidents", "from-events", "--node", pair.dir("jcg"), path)
    assert set(summary) == SUMMARY_KEYS
    assert summary["events"] == 3
    assert summary["changes"]["opened"] == 2  # level 1 stays below the mechanism's open_level
    assert (summary["sent"], summary["pending"]) == (2, 0)
    (warning,) = summary["warnings"]
    assert "not jointly agreed" in warning and RULEBOOK.sha256[:12] in warning

    again = run_json("incidents", "from-events", "--node", pair.dir("jcg"), path)
    assert again["changes"].get("opened", 0) == 0 and again["sent"] == 0

    rows = run_json("incidents", "list", "--node", pair.dir("jcg"))
    assert isinstance(rows, list) and len(rows) == 2
    assert all(set(row) == INCIDENT_KEYS for row in rows)
    assert [row["status"] for row in rows] == ["notified", "notified"]
    assert rows[0]["rulebook"]["agreed"] is False and rows[0]["rulebook"]["warning"]
    assert run_json("incidents", "list", "--node", pair.dir("jcg"), "--status", "closed") == []

    detail = run_json("incidents", "show", rows[0]["id"], "--node", pair.dir("jcg"))
    assert isinstance(detail, dict) and detail["id"] == rows[0]["id"]
    assert {"events", "thread", "deadlines", "timeline"} <= set(detail)
    assert [m["kind"] for m in detail["thread"]] == ["notification"]
    text = run("incidents", "show", rows[0]["id"], "--node", pair.dir("jcg"))
    assert "WARNING: rulebook ecs-standard" in text
    assert "2 incidents" in run("incidents", "list", "--node", pair.dir("jcg"))


def test_show_as_text_lists_vessels_with_statics_events_thread_and_deadlines(
    pair: Pair, tmp_path: Path
) -> None:
    from pyais.encode import encode_dict

    statics = tmp_path / "statics.nmea"
    lines = encode_dict(
        {
            "type": 5,
            "mmsi": JCG_SHIP,
            "shipname": "HATERUMA",
            "callsign": "JPTEST",
            "ship_type": 55,
        },
        talker_id="AI",
    )
    statics.write_text("\n".join(lines) + "\n")
    run("ingest", str(statics), "--node", pair.dir("jcg"), "--start", "2026-05-01T00:00:00Z")
    run(
        "incidents",
        "from-events",
        "--node",
        pair.dir("jcg"),
        events_file(tmp_path / "e.jsonl", [event("ev-1")]),
    )
    (row,) = run_json("incidents", "list", "--node", pair.dir("jcg"))

    text = run("incidents", "show", row["id"], "--node", pair.dir("jcg"))
    vessels = text[text.index("vessels:") : text.index("events (")]
    assert f"{JCG_SHIP}, name HATERUMA, callsign JPTEST, ship_type 55" in vessels
    assert f"{CCG_SHIP}" in vessels and "flag ccg" in vessels
    assert "events (1):" in text and "close_quarters level 2" in text
    assert "hotline thread (1):" in text
    assert "-> ccg notification level 1 [incident.close_quarters] (jcg/hotline/ccg#0)" in text
    assert "ccg level 1: armed (jcg/hotline/ccg#0)" in text[text.index("deadlines:") :]
    assert "timeline:" in text


def test_the_notification_reaches_the_peer_and_its_ack_acknowledges(
    pair: Pair, tmp_path: Path
) -> None:
    path = events_file(tmp_path / "events.jsonl", [event("ev-1")])
    run("incidents", "from-events", "--node", pair.dir("jcg"), path)
    pair.deliver("jcg")
    (reported,) = run_json("incidents", "list", "--node", pair.dir("ccg"))
    assert (reported["origin"], reported["status"]) == ("jcg", "notified")
    with pair.ledger("ccg") as ledger:
        from seabridge.hotline.entries import Entry, Ref

        origin = ledger.mirror_origin("jcg")
        leaf = Entry.from_bytes(ledger.entries(origin, 0, 1)[0][0]).leaf_hash()
        ledger.send("jcg", "ack", {}, refs=(Ref(origin, 0, leaf),), msg_id="ack.jcg.0")
    pair.deliver("ccg")
    (incident,) = run_json("incidents", "list", "--node", pair.dir("jcg"))
    assert incident["status"] == "acknowledged"


def test_ack_note_resolve_walk_the_lifecycle(pair: Pair, tmp_path: Path) -> None:
    node = pair.dir("jcg")
    run("incidents", "from-events", "--node", node, events_file(tmp_path / "e.jsonl", [event("a")]))
    (incident,) = run_json("incidents", "list", "--node", node)
    ident = incident["id"]
    (change,) = run_json("incidents", "ack", ident, "--node", node, "--user", "watch-1")
    assert (change["kind"], change["status"]) == ("acknowledged", "acknowledged")
    (change,) = run_json("incidents", "note", ident, "--node", node, "--text", "VHF 16 contact")
    assert change["kind"] == "noted"
    assert "resolved" in run("incidents", "resolve", ident, "--node", node, "--text", "apart")
    detail = run_json("incidents", "show", ident, "--node", node)
    assert detail["status"] == "resolved"
    actions = [(step["action"], step["actor"]) for step in detail["timeline"]]
    assert ("acknowledge", "watch-1") in actions and actions[-1][0] == "resolve"
    assert any(step["detail"].get("text") == "VHF 16 contact" for step in detail["timeline"])
    one_line_error(run("incidents", "ack", ident, "--node", node, code=2))


def test_errors_exit_2_with_one_line(pair: Pair, tmp_path: Path) -> None:
    assert "--node DIR" in one_line_error(run("incidents", "list", code=2))
    assert "no incident" in one_line_error(
        run("incidents", "show", "jcg-0000", "--node", pair.dir("jcg"), code=2)
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(event("a").as_json()) + '\n{"id": 1}\n', encoding="utf-8")
    text = run("incidents", "from-events", "--node", pair.dir("jcg"), str(bad), code=2)
    assert f"{bad}:2:" in one_line_error(text)
    missing = str(tmp_path / "none.jsonl")
    one_line_error(run("incidents", "from-events", "--node", pair.dir("jcg"), missing, code=2))
    one_line_error(run("incidents", "list", "--node", str(tmp_path / "nowhere"), code=2))


def test_the_node_can_come_from_the_environment(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEABRIDGE_NODE", pair.dir("ccg"))
    assert run_json("incidents", "list") == []


def test_a_node_with_no_peer_signs_notifications_and_delivers_them_after_peer_add(
    clock: ManualClock, tmp_path: Path
) -> None:
    jcg = _init(tmp_path, "jcg", clock)
    path = events_file(tmp_path / "events.jsonl", [event("ev-1")])
    summary = run_json("incidents", "from-events", "--node", str(tmp_path / "jcg"), path)
    assert (summary["changes"]["opened"], summary["sent"], summary["pending"]) == (1, 1, 0)
    (incident,) = run_json("incidents", "list", "--node", str(tmp_path / "jcg"))
    assert incident["status"] == "notified"
    pair = Pair(tmp_path, clock)
    with pair.ledger("jcg") as ledger:  # signed in the own log, waiting for the peer's keys
        assert ledger.size("jcg/hotline/ccg") == 1 and ledger.peers == {}

    ccg = _init(tmp_path, "ccg", clock)
    import_bundle(jcg, export_bundle(ccg, clock), clock)
    import_bundle(ccg, export_bundle(jcg, clock), clock)
    pair.deliver("jcg")
    (reported,) = run_json("incidents", "list", "--node", pair.dir("ccg"))
    assert (
        reported["origin"] == "jcg" and reported["correlation_key"] == incident["correlation_key"]
    )


# --- agreements --------------------------------------------------------------------------


def test_propose_countersign_list_and_the_warning_goes_away(pair: Pair, tmp_path: Path) -> None:
    for party in ("jcg", "ccg"):
        sent = run_json("agreements", "propose", "--node", pair.dir(party))
        assert {row["document"] for row in sent} == {
            "rulebook/ecs-standard/v1",
            "mechanism/ecs-mechanism/v1",
        }
        assert all(row["role"] == "proposal" for row in sent)
    pair.deliver("jcg")
    pair.deliver("ccg")
    for party in ("jcg", "ccg"):
        result = run_json("agreements", "countersign", "--node", pair.dir(party))
        assert len(result["signed"]) == 2 and result["refused"] == []
    pair.deliver("jcg")
    pair.deliver("ccg")
    for party in ("jcg", "ccg"):
        rows = run_json("agreements", "list", "--node", pair.dir(party))
        assert [(r["document"], r["agreed"]) for r in rows] == [
            ("mechanism/ecs-mechanism/v1", True),
            ("rulebook/ecs-standard/v1", True),
        ]
        assert rows[1]["sha256"] == RULEBOOK.sha256
    assert "yes" in run("agreements", "list", "--node", pair.dir("jcg"))
    path = events_file(tmp_path / "events.jsonl", [event("ev-1")])
    summary = run_json("incidents", "from-events", "--node", pair.dir("jcg"), path)
    assert summary["warnings"] == []
    (incident,) = run_json("incidents", "list", "--node", pair.dir("jcg"))
    assert incident["rulebook"]["agreed"] is True


def test_a_mismatching_proposal_is_refused_showing_both_hashes(pair: Pair) -> None:
    other = "0f" * 32
    with pair.ledger("jcg") as ledger:
        body = {"role": "proposal", "document": "rulebook/ecs-standard/v1", "sha256": other}
        ledger.send("ccg", "agreement", body)
    pair.deliver("jcg")
    text = run("agreements", "countersign", "--node", pair.dir("ccg"), code=1)
    assert other in text and RULEBOOK.sha256 in text and text.startswith("refused: jcg seq 0")
    rows = run_json("agreements", "list", "--node", pair.dir("ccg"))
    assert [(r["sha256"], r["agreed"], r["own"]) for r in rows] == [(other, False, False)]
    assert "not proposed yet" in run("agreements", "list", "--node", pair.dir("ccg"))
