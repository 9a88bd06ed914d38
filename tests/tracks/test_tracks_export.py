"""Parquet archive export and query-result output (CSV, JSONL, GeoJSON, Parquet)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from tracks_fixtures import (
    T0_MS,
    assert_tables_equal,
    columns,
    positions_table,
    sort_like_store,
    statics_table,
)

from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA
from seabridge.errors import InputError
from seabridge.tracks import OUTPUT_COLUMNS, TrackStore, iso_times, write_table
from seabridge.tracks.geojson import split_at_antimeridian
from seabridge.units import ms_to_iso
from support import position_batch

DAY_MS = 86_400_000


def _store_with(tmp_path: Path, table: Any) -> TrackStore:
    store = TrackStore.open(tmp_path / "tracks.duckdb")
    store.append_positions(table)
    return store


def test_export_parquet_partitions_by_day_sorted_with_statistics(tmp_path: Path) -> None:
    table = positions_table(3_000, seed=30, span_s=3 * 86_400)
    out = tmp_path / "archive"
    with _store_with(tmp_path, table) as store:
        result = store.export_parquet(out)
    assert result.rows == 3_000
    parts = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert parts == [f"day=2024-05-0{d}/part-0.parquet" for d in (1, 2, 3)]
    assert sorted(result.files) == sorted(out / p for p in parts)
    for path in result.files:
        day_start = T0_MS + (int(path.parent.name[-2:]) - 1) * DAY_MS
        content = pq.read_table(path)
        assert content.schema == POSITION_SCHEMA
        c = columns(content)
        assert np.all((c["ts"] >= day_start) & (c["ts"] < day_start + DAY_MS))
        order = np.lexsort((c["ts"], c["mmsi"]))
        assert np.array_equal(order, np.arange(len(order)))  # sorted by (mmsi, ts)
        meta = pq.ParquetFile(path).metadata
        stats = meta.row_group(0).column(0).statistics
        assert stats is not None and stats.has_min_max
        assert [s.column_index for s in meta.row_group(0).sorting_columns] == [0, 1]
    dataset = ds.dataset(out, format="parquet", partitioning="hive")
    back = dataset.to_table().drop_columns(["day"])
    assert_tables_equal(sort_like_store(back), sort_like_store(table))


def test_export_parquet_time_range_and_empty_days(tmp_path: Path) -> None:
    table = positions_table(2_000, seed=31, span_s=3 * 86_400)
    ts = columns(table)["ts"]
    # Leave out the whole middle day: no partition for it.
    keep = (ts < T0_MS + DAY_MS) | (ts >= T0_MS + 2 * DAY_MS)
    table = table.filter(pa.array(keep))
    start_ms, end_ms = T0_MS + 12 * 3_600_000 + 1, T0_MS + 2 * DAY_MS + 3_600_000
    out = tmp_path / "archive"
    with _store_with(tmp_path, table) as store:
        result = store.export_parquet(out, start_ms, end_ms)
        expected = store.positions(start_ms=start_ms, end_ms=end_ms)
    assert [p.parent.name for p in result.files] == ["day=2024-05-01", "day=2024-05-03"]
    back = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert_tables_equal(sort_like_store(back.drop_columns(["day"])), expected)


def test_export_parquet_refuses_non_empty_dir_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    (out / "day=1999-01-01").mkdir(parents=True)
    (out / "day=1999-01-01" / "part-0.parquet").write_bytes(b"old")
    (out / "README").write_text("keep me")
    with _store_with(tmp_path, positions_table(100, seed=32, span_s=600)) as store:
        with pytest.raises(InputError, match="not empty"):
            store.export_parquet(out)
        result = store.export_parquet(out, overwrite=True)
        with pytest.raises(InputError, match="not a directory"):
            store.export_parquet(out / "README")
    assert not (out / "day=1999-01-01").exists()
    assert (out / "README").read_text() == "keep me"
    assert [p.parent.name for p in result.files] == ["day=2024-05-01"]


def test_export_parquet_keeps_the_static_reports_before_its_end(tmp_path: Path) -> None:
    reports = [
        {"mmsi": 431999101, "ts": T0_MS + 60_000, "msg_type": 5, "name": "HATERUMA",
         "ship_type": 55, "source": "a"},
        {"mmsi": 413999101, "ts": T0_MS - DAY_MS, "msg_type": 5, "name": "HAIXUN", "source": "a"},
        {"mmsi": 412000001, "ts": T0_MS + 2 * DAY_MS, "msg_type": 24, "callsign": "BXYZ",
         "source": "a"},
    ]  # fmt: skip
    with _store_with(tmp_path, positions_table(200, seed=34, span_s=86_400)) as store:
        store.append_statics(statics_table(reports))
        store.export_parquet(tmp_path / "all")
        store.export_parquet(tmp_path / "day1", None, T0_MS + DAY_MS)
        store.export_parquet(tmp_path / "day1", None, T0_MS + 30_000, overwrite=True)
    every = pq.read_table(tmp_path / "all" / "_statics.parquet")
    assert every.schema == STATIC_SCHEMA
    assert every.column("name").to_pylist() == ["HAIXUN", "HATERUMA", None]  # by (ts, mmsi)
    # Until the end: older days' reports count (a ship's type was sent before the window).
    # An --overwrite export replaces the file.
    assert pq.read_table(tmp_path / "day1" / "_statics.parquet").column("name").to_pylist() == [
        "HAIXUN"
    ]
    dataset = ds.dataset(tmp_path / "all", format="parquet", partitioning="hive")
    assert dataset.to_table().num_rows == 200  # readers of the positions skip _statics


def test_export_of_an_empty_store_writes_nothing(tmp_path: Path) -> None:
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        result = store.export_parquet(tmp_path / "archive")
    assert (result.rows, result.files) == (0, ())


def test_iso_times_match_units_ms_to_iso() -> None:
    rng = np.random.default_rng(33)
    ms = np.concatenate(
        [rng.integers(0, 4_102_444_800_000, 500), rng.integers(0, 10**9, 50) * 1000, [0, 999]]
    )
    text = iso_times(pa.array(ms, pa.int64()).cast(POSITION_SCHEMA.field("ts").type))
    assert text.to_pylist() == [ms_to_iso(int(v)) for v in ms]
    assert ms_to_iso(1_714_564_800_000) == "2024-05-01T12:00:00Z"


def _sample() -> Any:
    return position_batch(
        [
            (431000001, 1_714_564_800_000, 24.5, 123.25, 10.1, 359.9, float("nan"), 0, 1, "a"),
            (431000001, 1_714_564_801_123, 24.6, 123.5, float("nan"), 1.5, 90.0, -1, 1, "a"),
            (412000002, 1_714_564_802_000, -3.0, 179.5, 0.0, 0.0, 0.0, 15, 18, "b"),
        ]
    )


def test_csv_output(tmp_path: Path) -> None:
    with _store_with(tmp_path, _sample()) as store:
        result = store.positions()
    out = io.StringIO()
    write_table(result, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(OUTPUT_COLUMNS)
    assert [r["ts"] for r in rows] == [
        "2024-05-01T12:00:02Z",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:01.123Z",
    ]
    assert rows[0]["mmsi"] == "412000002"
    assert (rows[1]["sog_kn"], rows[1]["cog_deg"], rows[1]["heading_deg"]) == ("10.1", "359.9", "")
    assert (rows[2]["sog_kn"], rows[2]["nav_status"]) == ("", "")
    path = tmp_path / "out.csv"
    write_table(result, "csv", path)
    assert path.read_text(encoding="utf-8") == out.getvalue()


def test_jsonl_output(tmp_path: Path) -> None:
    with _store_with(tmp_path, _sample()) as store:
        result = store.positions()
        vessels = store.vessels()
    out = io.StringIO()
    write_table(result, "jsonl", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [list(line) for line in lines] == [list(OUTPUT_COLUMNS)] * 3
    assert lines[1] == {
        "mmsi": 431000001,
        "ts": "2024-05-01T12:00:00Z",
        "lat": 24.5,
        "lon": 123.25,
        "sog_kn": 10.1,
        "cog_deg": 359.9,
        "heading_deg": None,
        "nav_status": 0,
        "msg_type": 1,
    }
    assert lines[2]["ts"] == "2024-05-01T12:00:01.123Z"
    assert lines[2]["sog_kn"] is None and lines[2]["nav_status"] is None
    out = io.StringIO()
    write_table(vessels, "jsonl", out)
    first = json.loads(out.getvalue().splitlines()[0])
    assert first == {
        "mmsi": 412000002,
        "name": None,
        "callsign": None,
        "imo": None,
        "ship_type": None,
        "flag": "CN",  # no static report: the flag comes from the MMSI's MID
        "last_seen": "2024-05-01T12:00:02Z",
    }


def test_geojson_points_and_lines(tmp_path: Path) -> None:
    with _store_with(tmp_path, _sample()) as store:
        result = store.positions()
    out = io.StringIO()
    write_table(result, "geojson", out)
    points = json.loads(out.getvalue())
    assert points["type"] == "FeatureCollection"
    assert len(points["features"]) == 3
    first = points["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [179.5, -3.0]}
    assert first["properties"]["ts"] == "2024-05-01T12:00:02Z"
    assert first["properties"]["mmsi"] == 412000002
    path = tmp_path / "lines.geojson"
    # Shuffled input: lines are still drawn in time order.
    write_table(result.take(pa.array([2, 1, 0])), "geojson", path, geometry="lines")
    lines = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert [f["geometry"]["type"] for f in lines] == ["Point", "LineString"]
    assert lines[1]["geometry"]["coordinates"] == [[123.25, 24.5], [123.5, 24.6]]
    assert lines[1]["properties"] == {
        "mmsi": 431000001,
        "start": "2024-05-01T12:00:00Z",
        "end": "2024-05-01T12:00:01.123Z",
        "points": 2,
    }


def test_lines_are_cut_at_the_antimeridian() -> None:
    parts = split_at_antimeridian([[179.0, 10.0], [-179.0, 12.0], [-178.0, 12.0], [178.0, 8.0]])
    assert parts == [
        [[179.0, 10.0], [180.0, 11.0]],
        [[-180.0, 11.0], [-179.0, 12.0], [-178.0, 12.0], [-180.0, 10.0]],
        [[180.0, 10.0], [178.0, 8.0]],
    ]
    assert split_at_antimeridian([[1.0, 2.0], [3.0, 4.0]]) == [[[1.0, 2.0], [3.0, 4.0]]]


def test_parquet_output_and_bad_requests(tmp_path: Path) -> None:
    with _store_with(tmp_path, _sample()) as store:
        result = store.positions()
        vessels = store.vessels()
    path = tmp_path / "result.parquet"
    write_table(result, "parquet", path)
    assert_tables_equal(pq.read_table(path), result)
    with pytest.raises(InputError, match="binary"):
        write_table(result, "parquet", io.StringIO())
    with pytest.raises(InputError, match="unknown output format"):
        write_table(result, "xml", io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="lat and lon"):
        write_table(vessels, "geojson", io.StringIO())
