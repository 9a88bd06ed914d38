"""Batch detection over the track store: the same events as feeding the engine directly,
whatever the chunk size; windows; statics from the store; final states."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pytest
from framekit import MIN, T0, fixes_table, moved, track

from seabridge.ais.records import STATIC_SCHEMA
from seabridge.detect import Engine, Event, final_events, parse_rulebook, run_store
from seabridge.geo import load_zones
from seabridge.packs import load_pack, load_parties
from seabridge.tracks import TrackStore

PACK = load_pack("ecs")
ZONES = load_zones(PACK)
PARTIES = load_parties(PACK)
LAT, LON = 26.6, 124.6
CCG, FISHER, CARGO = 413999101, 412000001, 412000002

BOOK = """\
id: batch-test
version: 1
title: close quarters, and close quarters of vessels not fishing
parties: [jcg, ccg]
effective: 2026-01-01
rules:
  - id: cq
    kind: close_quarters
    applies: {underway_only: true}
    level: 1
    grades: [{level: 3, when: {cpa_m: {below: 0.2 nm}}, fleets: any}]
  - id: cq-not-fishing
    kind: close_quarters
    applies: {ship_types: ["0-29", "31-255"]}
    level: 1
"""


def engine() -> Engine:
    rulebook = parse_rulebook(BOOK, "batch.yaml", zone_ids=ZONES.ids, parties=PARTIES)
    return Engine(rulebook, ZONES, PARTIES)


def positions() -> pa.Table:
    """CCG and FISHER pass 150 m apart around minute 15; CARGO and FISHER around minute 45."""
    north = moved(LAT, LON, 0.0, 5 * 1852.0)
    fixes = track(FISHER, T0, 360, 10.0, LAT, LON, 10.0, 0.0)
    fixes += track(CCG, T0, 120, 10.0, *moved(*north, 90.0, 150.0), 10.0, 180.0)
    far_north = moved(LAT, LON, 0.0, 15 * 1852.0)
    fixes += track(CARGO, T0 + 30 * MIN, 120, 10.0, *moved(*far_north, 90.0, 300.0), 10.0, 180.0)
    return fixes_table(fixes)


def statics() -> pa.Table:
    rows = {name: pa.nulls(1, STATIC_SCHEMA.field(name).type) for name in STATIC_SCHEMA.names}
    rows["mmsi"] = pa.array([FISHER], pa.uint32())
    rows["ts"] = pa.array([T0], pa.int64()).cast(STATIC_SCHEMA.field("ts").type)
    rows["msg_type"] = pa.array([5], pa.uint8())
    rows["ship_type"] = pa.array([30], pa.uint8())
    return pa.table(rows, schema=STATIC_SCHEMA)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "tracks.duckdb"
    with TrackStore.open(path) as store:
        store.append_positions(positions())
        store.append_statics(statics())
    return path


def direct() -> list[Event]:
    live = engine()
    live.feed_statics(statics())
    return live.feed_positions(positions()) + live.finish()


@pytest.mark.parametrize("chunk_ms", [None, 37_000, 10 * MIN, 60 * MIN])
def test_the_store_gives_what_feeding_the_engine_gives(
    store_path: Path, chunk_ms: int | None
) -> None:
    with TrackStore.open(store_path, read_only=True) as store:
        events = list(run_store(store, engine(), chunk_ms=chunk_ms))
    assert [e.as_json() for e in events] == [e.as_json() for e in direct()]
    final = final_events(events)
    assert {(e.rule_id, e.vessels, e.level) for e in final} == {
        ("cq", (FISHER, CCG), 3),
        ("cq", (FISHER, CARGO), 1),
        # FISHER is a fishing vessel by its static data in the store (without it, its ship
        # type would be 0, not available): no cq-not-fishing event.
    }


def test_progress_and_windows(store_path: Path) -> None:
    seen: list[int] = []
    with TrackStore.open(store_path, read_only=True) as store:
        first = final_events(
            run_store(store, engine(), T0, T0 + 30 * MIN, progress=lambda at, a, b: seen.append(at))
        )
        assert seen[-1] == T0 + 30 * MIN and seen == sorted(seen)
        assert {e.vessels for e in first} == {(FISHER, CCG)}
        assert list(run_store(store, engine(), T0 + 90 * MIN, T0 + 99 * MIN)) == []
        assert list(run_store(store, engine(), T0 + 10 * MIN, T0)) == []


def test_an_empty_store_yields_nothing(tmp_path: Path) -> None:
    with TrackStore.open(tmp_path / "empty.duckdb") as store:
        assert list(run_store(store, engine())) == []


def test_final_events_keep_the_last_state_of_each_event() -> None:
    [event] = [e for e in direct() if e.status == "open"][:1]
    update = dataclasses.replace(event, status="update", level=2)
    closed = dataclasses.replace(event, status="closed", end_ms=event.start_ms + MIN)
    other = dataclasses.replace(event, id="other", status="update")
    retracted = dataclasses.replace(event, id="gone", status="retracted", reason="late")
    final = final_events([event, other, update, retracted])
    assert [(e.id, e.status, e.level) for e in final] == [
        (event.id, "open", 2),  # an update is an open event's latest state
        ("other", "open", event.level),
        ("gone", "retracted", event.level),
    ]
    assert final_events([event, update, closed])[0].status == "closed"
