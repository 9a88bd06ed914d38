"""The running node: start/stop as asyncio tasks, the hub, the event log, node.toml sources,
zones as GeoJSON. Nothing sleeps: waits are on hub messages, the clock is a ManualClock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from node_builders import fixed_clock, make_node, make_pair

from seabridge.detect.model import Event, RulebookRef
from seabridge.errors import ConfigError
from seabridge.node import load_node
from seabridge.node.eventlog import EventLog
from seabridge.node.hub import Hub
from seabridge.node.service import Node
from seabridge.node.sources import SourceConfig

REF = RulebookRef("ecs-standard", 1, "ab" * 32)


def _event(n: int, kind: str = "zone_entry", level: int = 1, status: str = "open") -> Event:
    return Event(
        id=f"e{n}",
        rule_id="r",
        kind=kind,
        rulebook=REF,
        level=level,
        status=status,  # type: ignore[arg-type]
        vessels=(431999101,),
        start_ms=n * 60_000,
        end_ms=None,
        lat=26.0,
        lon=123.5,
        zone=None,
    )


class Wall:
    """A monotonic wall clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_hub_drops_the_oldest_for_a_slow_consumer_and_throttles_positions() -> None:
    wall = Wall()
    hub = Hub(interval_s=1.0, monotonic=wall)
    slow = hub.subscribe({"events"}, maxsize=2)
    for n in range(5):
        hub.publish("events", {"n": n})
    assert [m["data"]["n"] for m in slow.drain()] == [3, 4] and slow.dropped == 3
    assert not hub.wants("positions")
    positions = hub.subscribe({"positions"})
    assert hub.wants("positions") and not hub.wants("hotline")
    hub.offer_positions([{"mmsi": 1, "ts_ms": 10}])  # the first goes at once
    hub.offer_positions([{"mmsi": 1, "ts_ms": 20}, {"mmsi": 2, "ts_ms": 5}])
    wall.now_s += 0.999  # however far data time ran meanwhile
    hub.offer_positions([{"mmsi": 1, "ts_ms": 15}])  # older than the pending one: ignored
    assert [m["data"]["positions"] for m in positions.drain()] == [[{"mmsi": 1, "ts_ms": 10}]]
    wall.now_s += 0.001
    assert hub.flush_positions()
    sent = [m["data"]["positions"] for m in positions.drain()]
    assert sent == [[{"mmsi": 1, "ts_ms": 20}, {"mmsi": 2, "ts_ms": 5}]]
    assert not hub.flush_positions(force=True)  # nothing pending
    with pytest.raises(ValueError, match="unknown topic"):
        hub.subscribe({"nope"})
    slow.close()
    assert hub.subscribers == 1


def test_hub_subscription_is_an_async_iterator_fed_from_threads() -> None:
    hub = Hub()

    async def main() -> list[int]:
        sub = hub.subscribe({"incidents"})

        def publish() -> None:
            for n in range(3):
                hub.publish("incidents", {"n": n})

        publisher = asyncio.create_task(asyncio.to_thread(publish))
        got = []
        async for message in sub:
            got.append(message["data"]["n"])
            if len(got) == 3:
                sub.close()
        await publisher
        return got

    assert asyncio.run(main()) == [0, 1, 2]


def test_event_log_persists_and_filters(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    log.append([_event(1), _event(2, "close_quarters", 3), _event(3, level=2)])
    log.close()
    with (tmp_path / "events.jsonl").open("a") as handle:
        handle.write('{"cut short')
    again = EventLog(tmp_path / "events.jsonl")
    assert [e["id"] for e in again.query()] == ["e1", "e2", "e3"]
    assert [e["id"] for e in again.query(kind="zone_entry", min_level=2)] == ["e3"]
    assert [e["id"] for e in again.query(since_ms=120_000, until_ms=180_000)] == ["e2"]
    assert [e["id"] for e in again.query(limit=1)] == ["e3"]


def test_node_toml_sources(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    text = node.dir.toml.read_text()
    node.dir.toml.write_text(
        text + '\n[[source]]\nurl = "tcp://127.0.0.1:10110"\nsilent_after = 30\n'
        '\n[[source]]\nsimulator = "ecs-mini"\nspeed = 0\nduration = 60\n'
        '\n[[source]]\nurl = "feeds"\nname = "files"\n'
    )
    sources = load_node(node.dir.root).sources
    assert [(s.name, s.kind, s.silent_after_s) for s in sources] == [
        ("tcp://127.0.0.1:10110", "tcp", 30.0),
        ("simulator:ecs-mini", "simulator", 600.0),
        ("files", "file", 600.0),
    ]
    assert (sources[1].speed, sources[1].duration_s) == (0.0, 60.0)
    for bad, message in (
        ('url = "a"\nsimulator = "ecs-mini"', "exactly one of url"),
        ('url = "a"\nspeed = 2', "for simulator sources"),
        ('url = "a"\ncolour = "red"', "unknown key 'colour'"),
        ('url = "tcp://nohost"', "missing port"),
    ):
        node.dir.toml.write_text(text + f"\n[[source]]\n{bad}\n")
        with pytest.raises(ConfigError, match=message):
            load_node(node.dir.root)


def test_zones_geojson_names_every_feature_in_all_languages(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    node = Node.open(jcg.dir.root, clock, sources=[])
    try:
        collection = node.zones_geojson("zh")
    finally:
        node.close()
    features = collection["features"]
    zones = [f for f in features if f["properties"]["layer"] == "zone"]
    points = [f for f in features if f["properties"]["layer"] == "feature"]
    assert zones and points
    assert all(z["properties"]["declared_by"] and z["properties"]["kind"] for z in zones)
    for item in features:
        props = item["properties"]
        assert {"en", "ja", "zh"} <= set(props["names"])
        assert props["name"] == props["names"]["zh"]
        assert props["all_names"].startswith(props["names"]["en"])


def test_start_and_stop_run_the_pipeline_as_tasks(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, _ = make_pair(tmp_path, clock)
    source = SourceConfig("sim", simulator="ecs-mini", speed=0, duration_s=300, silent_after_s=0)
    node = Node.open(jcg.dir.root, clock, sources=[source])

    async def main() -> None:
        sub = node.hub.subscribe({"events"})
        await node.start(wait=lambda _s: asyncio.sleep(0))
        await node.start()  # a second start changes nothing
        first = await asyncio.wait_for(sub.__anext__(), timeout=60)
        assert first["topic"] == "events"
        await node.stop()
        await node.stop()  # idempotent

    asyncio.run(main())
    assert node.tracks.store.path.exists()
    again = Node.open(jcg.dir.root, clock, sources=[source])  # the files were closed
    again.close()
