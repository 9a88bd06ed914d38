"""Every query checked against a brute-force numpy filter over the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tracks_fixtures import (
    T0_MS,
    assert_tables_equal,
    columns,
    in_bbox,
    oracle_positions,
    positions_table,
    statics_table,
)

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.errors import InputError
from seabridge.tracks import VESSEL_SCHEMA, TrackStore

SPAN_S = 3 * 86_400
ROWS = 4_000
BBoxT = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrackStore, Any]]:
    """A store holding ROWS positions appended in shuffled batches, and those rows."""
    table = positions_table(ROWS, seed=20, span_s=SPAN_S)
    path = tmp_path_factory.mktemp("queries") / "tracks.duckdb"
    with TrackStore.open(path) as store:
        for batch in table.to_batches(max_chunksize=700):
            assert store.append_positions(batch) == 0
        yield store, table


EDGE_CASES: list[dict[str, Any]] = [
    {},
    {"start_ms": T0_MS + 3_600_000, "end_ms": T0_MS + 7_200_000},
    {"start_ms": T0_MS + 86_400_000},
    {"end_ms": T0_MS + 1_000},
    {"start_ms": T0_MS + 5_000, "end_ms": T0_MS + 5_000},  # empty window
    {"bbox": (170.0, -30.0, -170.0, 30.0)},  # across the antimeridian
    {"bbox": (179.5, -90.0, -179.5, 90.0), "start_ms": T0_MS, "end_ms": T0_MS + 86_400_000},
    {"bbox": (-180.0, -90.0, 180.0, 90.0)},
    {"bbox": (100.0, 0.0, 140.0, 45.0), "mmsi": 431000007},
    {"mmsi": 431000014, "start_ms": T0_MS + 86_400_000, "end_ms": T0_MS + 2 * 86_400_000},
    {"mmsi": 999999999},
]


@pytest.mark.parametrize("case", EDGE_CASES)
def test_positions_match_brute_force(loaded: tuple[TrackStore, Any], case: dict[str, Any]) -> None:
    store, table = loaded
    assert_tables_equal(store.positions(**case), oracle_positions(table, **case))


def test_window_edges_are_half_open(loaded: tuple[TrackStore, Any]) -> None:
    store, table = loaded
    ts = columns(table)["ts"]
    edge = int(np.sort(ts)[ROWS // 2])
    at_edge = int((ts == edge).sum())
    assert at_edge >= 1
    assert store.positions(start_ms=edge, end_ms=edge + 1).num_rows == at_edge
    assert store.positions(start_ms=edge - 1, end_ms=edge).num_rows == 0
    assert store.positions(end_ms=edge).num_rows == int((ts < edge).sum())


def test_bbox_edges_are_included(loaded: tuple[TrackStore, Any]) -> None:
    store, table = loaded
    row = table.slice(17, 1).to_pylist()[0]
    lat, lon = row["lat"], row["lon"]
    got = store.positions(bbox=(lon, lat, lon, lat))
    assert (row["mmsi"], row["ts"]) in {(r["mmsi"], r["ts"]) for r in got.to_pylist()}


_times = st.one_of(
    st.none(),
    st.integers(-3_600, SPAN_S + 3_600).map(lambda s: T0_MS + s * 1000),
    st.integers(-3_600_000, (SPAN_S + 3_600) * 1000).map(lambda ms: T0_MS + ms),
)
_lons = st.floats(-180.0, 180.0)
_lats = st.floats(-90.0, 90.0)


@st.composite
def _bboxes(draw: st.DrawFn) -> BBoxT | None:
    if draw(st.booleans()):
        return None
    a, b = draw(_lats), draw(_lats)
    return (draw(_lons), min(a, b), draw(_lons), max(a, b))


@settings(max_examples=120, deadline=None, database=None)
@given(
    bbox=_bboxes(),
    start_ms=_times,
    end_ms=_times,
    mmsi=st.one_of(st.none(), st.sampled_from([431000000 + 7 * i for i in range(41)])),
)
def test_positions_match_brute_force_random(
    loaded: tuple[TrackStore, Any],
    bbox: BBoxT | None,
    start_ms: int | None,
    end_ms: int | None,
    mmsi: int | None,
) -> None:
    store, table = loaded
    got = store.positions(bbox=bbox, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi)
    expected = oracle_positions(table, bbox=bbox, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi)
    assert_tables_equal(got, expected)


def test_track_is_one_vessel_sorted_by_time(loaded: tuple[TrackStore, Any]) -> None:
    store, table = loaded
    got = store.track(431000021, T0_MS + 3_600_000, T0_MS + 50 * 3_600_000)
    expected = oracle_positions(
        table, mmsi=431000021, start_ms=T0_MS + 3_600_000, end_ms=T0_MS + 50 * 3_600_000
    )
    assert got.num_rows > 10
    assert_tables_equal(got, expected)
    assert np.all(np.diff(columns(got)["ts"]) > 0)


def test_positions_in_time_order_and_for_several_vessels(loaded: tuple[TrackStore, Any]) -> None:
    store, table = loaded
    wanted = [431000000, 431000070, 431000273]
    got = columns(store.positions(mmsi=wanted, order="ts"))
    assert np.all(np.diff(got["ts"]) >= 0)
    all_rows = columns(table)
    assert sorted(got["mmsi"].tolist()) == sorted(
        all_rows["mmsi"][np.isin(all_rows["mmsi"], wanted)].tolist()
    )
    assert store.positions(mmsi=[]).num_rows == 0


def _oracle_latest(
    table: Any, at_ms: int | None, bbox: BBoxT | None, max_age_ms: int | None
) -> Any:
    c = columns(table)
    keep = np.ones(table.num_rows, dtype=bool)
    if at_ms is not None:
        keep &= c["ts"] <= at_ms
        if max_age_ms is not None:
            keep &= c["ts"] >= at_ms - max_age_ms
    best: dict[int, int] = {}
    for i in np.flatnonzero(keep):
        m = int(c["mmsi"][i])
        rank = (c["ts"][i], c["msg_type"][i], c["lat"][i], c["lon"][i])
        j = best.get(m)
        if j is None or rank > (c["ts"][j], c["msg_type"][j], c["lat"][j], c["lon"][j]):
            best[m] = int(i)
    rows = [best[m] for m in sorted(best)]
    if bbox is not None:
        rows = [i for i in rows if in_bbox(c["lat"][i : i + 1], c["lon"][i : i + 1], bbox)[0]]
    return table.take(pa.array(rows, pa.int64()))


@pytest.mark.parametrize(
    ("at_ms", "bbox", "max_age_ms"),
    [
        (None, None, None),
        (T0_MS + 86_400_000, None, None),
        (T0_MS + 86_400_000, (150.0, -60.0, -150.0, 60.0), None),
        (T0_MS + 86_400_000, None, 3_600_000),
        (T0_MS - 1, None, None),
        (T0_MS + 2 * 86_400_000 + 123, (-180.0, 0.0, 180.0, 90.0), 6 * 3_600_000),
    ],
)
def test_latest_matches_brute_force(
    loaded: tuple[TrackStore, Any],
    at_ms: int | None,
    bbox: BBoxT | None,
    max_age_ms: int | None,
) -> None:
    store, table = loaded
    got = store.latest(at_ms, bbox, max_age_ms=max_age_ms)
    assert_tables_equal(got, _oracle_latest(table, at_ms, bbox, max_age_ms))


def test_latest_at_a_row_time_includes_that_row(loaded: tuple[TrackStore, Any]) -> None:
    store, table = loaded
    row = table.slice(5, 1).to_pylist()[0]
    at_ms = int(row["ts"].timestamp() * 1000)
    latest = {r["mmsi"]: r for r in store.latest(at_ms).to_pylist()}
    assert latest[row["mmsi"]]["ts"] == row["ts"]


def test_invalid_arguments_are_input_errors(loaded: tuple[TrackStore, Any]) -> None:
    store, _ = loaded
    for bbox in [(0.0, 10.0, 5.0, 5.0), (0.0, -91.0, 5.0, 5.0), (-181.0, 0.0, 5.0, 5.0)]:
        with pytest.raises(InputError, match="bounding box"):
            store.positions(bbox=bbox)
    with pytest.raises(InputError, match="non-finite"):
        store.latest(bbox=(float("nan"), 0.0, 1.0, 1.0))
    with pytest.raises(InputError, match="max_age_ms needs at_ms"):
        store.latest(max_age_ms=1_000)


def test_stats_count_everything(loaded: tuple[TrackStore, Any]) -> None:
    store, table = loaded
    stats = store.stats()
    c = columns(table)
    assert stats.positions == ROWS
    assert stats.statics == 0
    assert stats.vessels == len(np.unique(c["mmsi"]))
    assert (stats.first_ms, stats.last_ms) == (int(c["ts"].min()), int(c["ts"].max()))


def test_vessels_take_latest_non_null_static_fields(tmp_path: Path) -> None:
    statics = statics_table(
        [
            # Type 5 first, then 24A (name only) and 24B (callsign, type) that carry None
            # for the fields they lack: those None must not hide older values.
            {"mmsi": 1001, "ts": T0_MS, "msg_type": 5, "imo": 9000001, "callsign": "OLD",
             "name": "OLD NAME", "ship_type": 30, "flag": "JP", "source": "a"},
            {"mmsi": 1001, "ts": T0_MS + 60_000, "msg_type": 24, "name": "NEW NAME",
             "flag": "JP", "source": "a"},
            {"mmsi": 1001, "ts": T0_MS + 120_000, "msg_type": 24, "callsign": "NEW",
             "ship_type": 52, "flag": "JP", "source": "a"},
            # Appended out of order: an older report must not win.
            {"mmsi": 1001, "ts": T0_MS - 60_000, "msg_type": 5, "imo": 9000002,
             "callsign": "OLDEST", "name": "OLDEST", "ship_type": 1, "flag": "CN",
             "source": "b"},
            {"mmsi": 1002, "ts": T0_MS + 5_000, "msg_type": 24, "name": "ONLY STATIC",
             "source": "a"},
        ]
    )  # fmt: skip
    positions = positions_table(3, seed=21, span_s=10)
    mmsi_index = positions.schema.get_field_index("mmsi")
    positions = positions.set_column(
        mmsi_index, POSITION_SCHEMA.field("mmsi"), pa.array([1001, 1003, 1003], pa.uint32())
    )
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        store.append_statics(statics)
        store.append_positions(positions)
        vessels = store.vessels()
    assert vessels.schema == VESSEL_SCHEMA
    rows = {r["mmsi"]: r for r in vessels.to_pylist()}
    assert sorted(rows) == [1001, 1002, 1003]
    one = rows[1001]
    assert (one["name"], one["callsign"], one["imo"], one["ship_type"], one["flag"]) == (
        "NEW NAME",
        "NEW",
        9000001,
        52,
        "JP",
    )
    p = columns(positions)
    last_position_1001 = int(p["ts"][p["mmsi"] == 1001].max())
    assert int(one["last_seen"].timestamp() * 1000) == max(last_position_1001, T0_MS + 120_000)
    assert int(rows[1002]["last_seen"].timestamp() * 1000) == T0_MS + 5_000
    assert rows[1003]["name"] is None
    assert int(rows[1003]["last_seen"].timestamp() * 1000) == int(p["ts"][p["mmsi"] == 1003].max())


def test_vessels_without_a_static_flag_get_it_from_the_mmsi(tmp_path: Path) -> None:
    mmsis = [431000001, 111431001, 2190064, 992351001, 970123456, 412000001, 413000001]
    positions = positions_table(len(mmsis), seed=22, span_s=60)
    positions = positions.set_column(
        positions.schema.get_field_index("mmsi"),
        POSITION_SCHEMA.field("mmsi"),
        pa.array(mmsis, pa.uint32()),
    )
    statics = statics_table(
        [
            # A static report whose flag is null (a store written before flags were kept).
            {"mmsi": 412000001, "ts": T0_MS, "msg_type": 5, "name": "NO FLAG"},
            # A static report's own flag wins over the MID.
            {"mmsi": 413000001, "ts": T0_MS, "msg_type": 5, "flag": "HK"},
        ]
    )
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        store.append_positions(positions)
        store.append_statics(statics)
        vessels = store.vessels()
    assert vessels.schema == VESSEL_SCHEMA
    flags = dict(zip(vessels["mmsi"].to_pylist(), vessels["flag"].to_pylist(), strict=True))
    assert flags == {
        2190064: "DK",  # coast station 002190064
        111431001: "JP",  # SAR aircraft 111MIDxxx
        412000001: "CN",
        413000001: "HK",
        431000001: "JP",
        970123456: None,  # AIS-SART: no MID
        992351001: "GB",  # AtoN 99MIDxxxx
    }


@pytest.mark.parametrize("mmsi", [0, -5, 1_000_000_000, 2**40, [431000007, 0]])
def test_mmsi_outside_the_nine_digits_is_an_input_error(
    loaded: tuple[TrackStore, Any], mmsi: Any
) -> None:
    store, _ = loaded
    with pytest.raises(InputError, match=r"MMSI -?\d+ is out of range.*1 to 999999999"):
        store.positions(mmsi=mmsi)
