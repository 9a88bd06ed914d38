"""The live pipeline of a node fed by the simulator (ecs-mini), driven step by step.

One ManualClock drives the replay (speed 60: one clock second is a minute of data); nothing
sleeps. A jcg node with its ccg peer configured, so incidents sign notifications to ccg.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from node_builders import fixed_clock, make_node, make_pair

from seabridge.clock import ManualClock
from seabridge.hotline.entries import Entry
from seabridge.node.service import Node
from seabridge.node.sources import SourceConfig

SIM = SourceConfig("sim", simulator="ecs-mini", speed=60.0, silent_after_s=0, duration_s=300)
_SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$|^.*Inf$')


@dataclass
class Run:
    node: Node
    clock: ManualClock
    messages: list[dict[str, object]]
    changes: list[str]
    lines: int


def _run(node: Node, clock: ManualClock, seconds: int) -> tuple[list[str], int]:
    changes: list[str] = []
    lines = 0
    for _ in range(seconds):
        clock.advance(1)
        result = node.step()
        changes += [change.kind for change in result.changes]
        lines += result.lines
    return changes, lines


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path_factory.mktemp("pipeline"), clock)
    node = Node.open(jcg.dir.root, clock, sources=[SIM])
    ticks = itertools.count()
    node.hub.monotonic = lambda: float(next(ticks))  # a wall second passes per call
    sub = node.hub.subscribe({"positions", "events", "incidents", "hotline"}, maxsize=100_000)
    changes, lines = _run(node, clock, 6)
    yield Run(node, clock, sub.drain(), changes, lines)
    node.close()


def test_positions_reach_the_track_store(run: Run) -> None:
    stats = run.node.tracks.stats()
    assert stats["positions"] > 5_000
    assert stats["first"].startswith("2010-09-07T00:0")
    latest = run.node.tracks.latest(bbox=(123.0, 25.0, 124.5, 26.5))
    assert latest and all(123.0 <= row["lon"] <= 124.5 for row in latest)
    patrol = next(row for row in run.node.tracks.latest() if row["mmsi"] == 413999101)
    assert (patrol["party"], patrol["flag"], patrol["name"]) == ("ccg", "CN", "HAIAN PATROL 101")
    assert run.node.tracks.vessel(431999101)["party"] == "jcg"  # type: ignore[index]
    assert run.node.tracks.track(413999101)


def test_events_are_logged_and_queryable(run: Run) -> None:
    events = run.node.events.query(kind="zone_entry")
    assert events and {e["rulebook"]["id"] for e in events} == {"ecs-standard"}
    assert all(e["kind"] == "zone_entry" for e in events)
    assert run.node.events.query(min_level=5) == []
    lines = (run.node.config.dir.root / "events.jsonl").read_text().splitlines()
    assert len(lines) >= len(run.node.events.query(limit=100_000))


def test_incidents_open_and_a_notification_is_signed(run: Run) -> None:
    assert "opened" in run.changes and "sent" in run.changes
    ledger = run.node.ledger
    origin = ledger.own_origin("ccg")
    entries = [Entry.from_bytes(data) for data, _ in ledger.entries(origin, 0, ledger.size(origin))]
    assert "notification" in [entry.kind for entry in entries]


def test_hub_messages_are_in_order(run: Run) -> None:
    seqs = [int(m["seq"]) for m in run.messages]  # type: ignore[call-overload]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    topics = {m["topic"] for m in run.messages}
    assert topics == {"positions", "events", "incidents", "hotline"}
    seen_events: set[str] = set()
    for message in run.messages:
        data = message["data"]
        assert isinstance(data, dict)
        if message["topic"] == "events":
            seen_events.add(data["id"])
        elif message["topic"] == "incidents" and data["kind"] == "opened":
            assert data["detail"]["event"] in seen_events  # the event came first
    hotline = [m["data"] for m in run.messages if m["topic"] == "hotline"]
    assert any(h["kind"] == "notification" and h["direction"] == "out" for h in hotline)  # type: ignore[index]


def test_live_positions_carry_the_vessels_static_properties(run: Run) -> None:
    live: dict[int, dict[str, object]] = {}
    for message in run.messages:
        if message["topic"] == "positions":
            live.update((row["mmsi"], row) for row in message["data"]["positions"])  # type: ignore[index]
    stored = {row["mmsi"]: row for row in run.node.tracks.latest()}  # as /api/vessels
    assert set(live) == set(stored)
    named = 0
    for mmsi, row in stored.items():
        assert (live[mmsi]["party"], live[mmsi]["flag"]) == (row["party"], row["flag"])
        if live[mmsi]["name"] is not None:  # else its static came after its last position
            named += 1
            assert (live[mmsi]["name"], live[mmsi]["ship_type"]) == (row["name"], row["ship_type"])
    assert named >= 0.8 * sum(row["name"] is not None for row in stored.values())
    assert (live[413999101]["name"], live[413999101]["party"]) == ("HAIAN PATROL 101", "ccg")
    assert {row["party"] for row in stored.values()} >= {"jcg", "ccg"}


def test_the_statics_cache_is_seeded_from_the_store_on_restart(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    node = Node.open(jcg.dir.root, clock, sources=[SIM])
    _run(node, clock, 2)
    node.close()
    again = Node.open(jcg.dir.root, clock, sources=[])
    try:
        vessels = [v for v in again.tracks.vessels() if v["name"] is not None]
        assert vessels
        assert again.pipeline.statics.of(vessels[0]["mmsi"])["name"] is None  # not started
        again.step()
        for vessel in vessels:
            known = again.pipeline.statics.of(vessel["mmsi"])
            assert known == {k: vessel[k] for k in ("name", "ship_type", "flag", "party")}
    finally:
        again.close()


def test_hotline_entries_on_a_channel_without_a_peer_reach_the_hub(tmp_path: Path) -> None:
    clock = fixed_clock()
    alone = make_node(tmp_path, "jcg", clock)  # ccg is a party of the pack, not a peer yet
    node = Node.open(alone.dir.root, clock, sources=[])
    try:
        assert node.ledger.peers == {} and "ccg" in node.ledger.channels
        sub = node.hub.subscribe({"hotline"})
        node.step()
        body = {"text": "hello", "text_en": "hello", "marker": "INFORMATION"}
        node.ledger.send("ccg", "notification", body, msg_id="n.1")  # e.g. signed by incidents
        node.pipeline.scan_hotline()
        node.send(lambda ledger: ledger.send("ccg", "notification", body, msg_id="n.2"))
        node.pipeline.scan_hotline()  # nothing new: each entry is published once
        got = [(m["data"]["msg_id"], m["data"]["direction"]) for m in sub.drain()]
        assert got == [("n.1", "out"), ("n.2", "out")]
        text = node.metrics.prometheus_text()
        assert 'seabridge_hotline_queue_depth{peer="ccg"} 2' in text
    finally:
        node.close()


def test_metrics_text_parses(run: Run) -> None:
    text = run.node.metrics.prometheus_text()
    for line in text.splitlines():
        assert line.startswith("# ") or _SAMPLE.match(line), line
    assert re.search(r"^seabridge_messages_total [1-9]", text, re.M)
    assert 'seabridge_events_total{kind="zone_entry"}' in text
    assert 'seabridge_hotline_queue_depth{peer="ccg"}' in text
    assert 'seabridge_source_up{source="sim"} 1' in text
    run.node.pipeline.on_receipt("ccg", 1)
    assert "seabridge_hotline_receipt_latency_seconds_count 1" in run.node.metrics.prometheus_text()


def test_restart_resumes_without_reingesting(tmp_path: Path, run: Run) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    node = Node.open(jcg.dir.root, clock, sources=[SIM])
    _, first = _run(node, clock, 2)
    node.close()
    node.close()  # idempotent
    again = Node.open(jcg.dir.root, clock, sources=[SIM])
    try:
        _, second = _run(again, clock, 6)
        assert first > 0 and second > 0
        assert first + second == run.lines  # every line once across the restart
        assert again.tracks.stats()["positions"] == run.node.tracks.stats()["positions"]
    finally:
        again.close()


def test_a_silent_source_raises_a_feed_health_event(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    feed = tmp_path / "feed.nmea"
    feed.write_text("")
    source = SourceConfig("rx", url=str(feed), silent_after_s=5)
    node = Node.open(jcg.dir.root, clock, sources=[source])
    try:
        node.step()
        clock.advance(6)
        opened = node.step().events
        assert [(e.kind, e.rule_id, e.status) for e in opened] == [
            ("data_quality", "feed_health", "open")
        ]
        assert opened[0].metrics["silent_s"] == 6
        assert 'seabridge_source_up{source="rx"} 0' in node.metrics.prometheus_text()
        feed.write_text("!AIVDM,1,1,,A,any line ends the silence,0*00\n")
        closed = node.step().events
        assert [(e.id, e.status) for e in closed] == [(opened[0].id, "closed")]
        assert node.events.query(kind="data_quality")[-1]["status"] == "closed"
    finally:
        node.close()


def test_a_high_quarantine_rate_raises_a_feed_health_event(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    feed = tmp_path / "feed.nmea"
    feed.write_text("")
    node = Node.open(jcg.dir.root, clock, sources=[SourceConfig("rx", url=str(feed))])
    try:
        node.step()
        feed.write_text("!AIVDM,1,1,,A,garbage,0*00\n" * 150)
        clock.advance(61)
        events = node.step().events
        assert [(e.rule_id, e.status, e.metrics["rate"]) for e in events] == [
            ("feed_health", "open", 1.0)
        ]
        assert 'seabridge_rejected_total{reason="bad_checksum"} 150' in (
            node.metrics.prometheus_text()
        )
    finally:
        node.close()


def test_trackview_reads_while_the_pipeline_writes(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    node = Node.open(jcg.dir.root, clock, sources=[SIM])
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                node.tracks.latest(bbox=(120.0, 24.0, 128.0, 33.0))
                node.tracks.stats()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        _run(node, clock, 3)
    finally:
        done.set()
        reader.join()
        node.close()
    assert errors == []
