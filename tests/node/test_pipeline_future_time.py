"""One line stamped a year ahead, through a node's pipeline: quarantined, and no tick storm.

Without the bound, the live engine ran every 10 s tick from the data time it had reached to
the bad line's (``Engine.feed_positions``): 3.15 million ticks for a year, about 20 minutes of
one core for seven vessels, while the node answered nothing; and every true report after it was
hours "late". Here the engine's ticks are capped: a storm fails the test at once instead of
hanging it. The node's clock is a ManualClock at T0; the data is stamped around it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from node_builders import T0_MS, fixed_clock, make_node

from seabridge.clock import ManualClock
from seabridge.detect import Engine
from seabridge.node.service import Node
from seabridge.node.sources import SourceConfig
from support import tagged_position

T0_S = T0_MS // 1000
YEAR_S = 365 * 86_400
TICK_CAP = 2_000  # far more than these tests need, far fewer than a storm


def _line(time_s: int, mmsi: int) -> bytes:
    return tagged_position(time_s, mmsi, station="rx-naha")


@pytest.fixture(autouse=True)
def tick_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine may fire at most TICK_CAP ticks per test: a storm fails, it does not hang."""
    fire: Callable[[Engine, int], None] = Engine._fire
    fired = [0]

    def capped(engine: Engine, tick_ms: int) -> None:
        fired[0] += 1
        if fired[0] > TICK_CAP:
            raise AssertionError(f"tick storm: more than {TICK_CAP} ticks")
        fire(engine, tick_ms)

    monkeypatch.setattr(Engine, "_fire", capped)


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    return tmp_path / "receiver.nmea"


@pytest.fixture
def clock() -> ManualClock:
    return fixed_clock()


@contextmanager
def _open(tmp_path: Path, clock: ManualClock, feed: Path, settings: str = "") -> Iterator[Node]:
    """A begun jcg node tailing ``feed``, with ``settings`` lines in its node.toml."""
    config = make_node(tmp_path, "jcg", clock)
    if settings:
        with config.dir.toml.open("a", encoding="utf-8") as handle:
            handle.write(f"\n[settings]\n{settings}\n")
    feed.touch()
    node = Node.open(config.dir.root, clock, sources=[SourceConfig("naha", url=str(feed))])
    try:
        node.begin()
        yield node
    finally:
        node.close()


@pytest.fixture
def node(tmp_path: Path, clock: ManualClock, feed: Path) -> Iterator[Node]:
    with _open(tmp_path, clock, feed) as opened:
        yield opened


def _append(feed: Path, lines: list[bytes]) -> None:
    with feed.open("ab") as handle:
        handle.write(b"\n".join(lines) + b"\n")


def _quarantined(node: Node) -> list[dict[str, object]]:
    path = node.config.dir.root / "quarantine" / "live.jsonl"
    node.pipeline.quarantine.close()  # flushed; reopened on the next rejection
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_line_a_year_ahead_is_quarantined_and_fires_no_tick_storm(
    node: Node, clock: ManualClock, feed: Path
) -> None:
    lines = [_line(T0_S - 60 + 10 * i, 431000001 + i) for i in range(5)]
    lines.append(_line(T0_S + 30, 431000006))  # a receiver 30 s ahead: drift, not an error
    bad = _line(T0_S + YEAR_S, 431000099)
    _append(feed, [*lines, bad])
    result = node.step()
    engine = node.pipeline.parts.engine
    assert result.positions == 6
    assert engine.stats.ticks < 20
    assert _quarantined(node) == [
        {"source": str(feed), "line": 7, "reason": "future_time", "raw": bad.decode()}
    ]
    assert node.metrics.value("seabridge_rejected_total", reason="future_time") == 1
    # What comes after it is on time: stored, applied, not "late".
    clock.advance(60)
    _append(feed, [_line(T0_S + 40 + 5 * i, 431000001 + i) for i in range(5)])
    result = node.step()
    assert result.positions == 5
    assert (engine.stats.late, engine.stats.too_late) == (0, 0)
    assert engine.stats.ticks < 20
    assert node.tracks.stats()["positions"] == 11


def test_the_node_setting_turns_the_bound_off(
    tmp_path: Path, clock: ManualClock, feed: Path
) -> None:
    with _open(tmp_path, clock, feed, '"ingest.future_horizon_min" = 0') as node:
        # Two hours ahead (the default bound is one): accepted, and the engine runs up to it.
        _append(feed, [_line(T0_S, 431000001), _line(T0_S + 7200, 431000002)])
        result = node.step()
        assert result.positions == 2
        assert _quarantined(node) == []
        assert node.pipeline.parts.engine.stats.ticks >= 7200 // 10


def test_an_upload_is_bounded_on_the_node_clock(node: Node, tmp_path: Path) -> None:
    upload = tmp_path / "archive.nmea"
    bad = _line(T0_S + YEAR_S, 431000002)
    upload.write_bytes(b"\n".join([_line(T0_S - 600, 431000001), bad]) + b"\n")
    summary = node.ingest_file(upload, name="archive.nmea")
    assert (summary.positions, dict(summary.rejected)) == (1, {"future_time": 1})
    rejected = node.config.dir.quarantine / "upload.jsonl"
    assert [json.loads(line) for line in rejected.read_text().splitlines()] == [
        {"source": "archive.nmea", "line": 2, "reason": "future_time", "raw": bad.decode()}
    ]


class DataClock(ManualClock):
    """A clock that follows the data, as the node replay benchmark's: after each step it is
    set to the newest data time the node has ingested."""

    def follow(self, node: Node) -> None:
        newest_ms = round(node.metrics.value("seabridge_data_time_seconds") * 1000)
        self.set(max(self.now_ms(), newest_ms))


@pytest.mark.slow
def test_a_replay_on_a_clock_that_follows_the_data_rejects_nothing(tmp_path: Path) -> None:
    """Half an hour of ecs-mini as fast as the node polls (50,000 lines a step, about 20
    minutes of its data): each step runs ahead of the clock, within the default horizon."""
    from seabridge.sim import load_scenario

    start_ms = load_scenario("ecs-mini").spec.start
    clock = DataClock(start_ms)
    config = make_node(tmp_path, "jcg", fixed_clock())  # certificates dated T0, as usual
    replay = SourceConfig("sim", simulator="ecs-mini", speed=0, silent_after_s=0, duration_s=1800)
    node = Node.open(config.dir.root, clock, sources=[replay])
    try:
        node.begin()
        steps = positions = 0
        while (result := node.step()).lines:
            clock.follow(node)
            steps += 1
            positions += result.positions
        assert steps > 1
        assert positions > 10_000
        assert "future_time" not in node.pipeline.quarantine.counts
    finally:
        node.close()
