"""Seeded random positions and statics for track-store tests, and a brute-force oracle.

Data is drawn so that every (mmsi, ts, lat, lon, msg_type) key is unique (unless a test adds
twins on purpose), times sit on a one-second grid (so window edges hit rows exactly), and
longitudes crowd the antimeridian. The oracle filters and sorts with numpy, independently of
DuckDB.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA, TS_TYPE

T0_MS = 1_714_521_600_000  # 2024-05-01T00:00:00Z
MMSIS = np.array([431_000_000 + 7 * i for i in range(40)], dtype=np.uint32)


def positions_table(n: int, seed: int, *, t0_ms: int = T0_MS, span_s: int = 3 * 86_400) -> Any:
    """``n`` positions with unique keys over ``span_s`` seconds from ``t0_ms``, shuffled."""
    rng = np.random.default_rng(seed)
    # Unique (mmsi, second) pairs make every key unique.
    slots = rng.choice(len(MMSIS) * span_s, size=n, replace=False)
    mmsi = MMSIS[slots % len(MMSIS)]
    ts_ms = t0_ms + (slots // len(MMSIS)).astype(np.int64) * 1000
    lon = np.where(rng.random(n) < 0.3, rng.uniform(170.0, 180.0, n), rng.uniform(-180.0, 180.0, n))
    lon = np.where(rng.random(n) < 0.15, -lon, lon)
    sog_kn = rng.uniform(0, 30, n).astype(np.float32)
    sog_kn[rng.random(n) < 0.1] = np.nan
    cog_deg = rng.uniform(0, 360, n).astype(np.float32)
    cog_deg[rng.random(n) < 0.1] = np.nan
    heading_deg = rng.integers(0, 360, n).astype(np.float32)
    heading_deg[rng.random(n) < 0.3] = np.nan
    source = np.array(["rx-a", "rx-b", "rx-c"], dtype=object)[rng.integers(0, 3, n)]
    columns = [
        pa.array(mmsi, pa.uint32()),
        pa.array(ts_ms, pa.int64()).cast(TS_TYPE),
        pa.array(np.round(rng.uniform(-89.0, 89.0, n), 6)),
        pa.array(np.round(lon, 6)),
        pa.array(sog_kn),
        pa.array(cog_deg),
        pa.array(heading_deg),
        pa.array(rng.integers(-1, 16, n).astype(np.int8)),
        pa.array(rng.choice(np.array([1, 2, 3, 18, 19], dtype=np.uint8), n)),
        pa.array(source, pa.string(), mask=rng.random(n) < 0.05),
    ]
    return pa.Table.from_arrays(columns, schema=POSITION_SCHEMA)


def statics_table(rows: list[dict[str, Any]]) -> Any:
    """A statics table from dicts holding some STATIC_SCHEMA columns (others null)."""
    columns = []
    for field in STATIC_SCHEMA:
        values = [row.get(field.name) for row in rows]
        if field.name == "ts":
            columns.append(pa.array(values, pa.int64()).cast(TS_TYPE))
        else:
            columns.append(pa.array(values, field.type))
    return pa.Table.from_arrays(columns, schema=STATIC_SCHEMA)


def columns(table: Any) -> dict[str, npt.NDArray[Any]]:
    """Every column as numpy (timestamps as int ms, strings as objects)."""
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        out[name] = column.to_numpy(zero_copy_only=False)
    return out


def oracle_positions(
    table: Any,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    mmsi: int | None = None,
) -> Any:
    """Brute force: the rows of ``table`` matching the filters, sorted by the store's order."""
    c = columns(table)
    keep = np.ones(table.num_rows, dtype=bool)
    if start_ms is not None:
        keep &= c["ts"] >= start_ms
    if end_ms is not None:
        keep &= c["ts"] < end_ms
    if mmsi is not None:
        keep &= c["mmsi"] == mmsi
    if bbox is not None:
        keep &= in_bbox(c["lat"], c["lon"], bbox)
    return sort_like_store(table.filter(pa.array(keep)))


def in_bbox(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], bbox: tuple[float, ...]
) -> npt.NDArray[np.bool_]:
    """Brute force bbox test: edges included, west > east crosses the antimeridian."""
    west, south, east, north = bbox
    inside_lat = (lat >= south) & (lat <= north)
    if west <= east:
        return inside_lat & (lon >= west) & (lon <= east)
    return inside_lat & ((lon >= west) | (lon <= east))


def sort_like_store(table: Any) -> Any:
    """Sort by (mmsi, ts, msg_type, lat, lon), the store's output order."""
    c = columns(table)
    order = np.lexsort((c["lon"], c["lat"], c["msg_type"], c["ts"], c["mmsi"]))
    return table.take(pa.array(order))


def assert_tables_equal(actual: Any, expected: Any) -> None:
    """Equal schemas and values, NaN equal to NaN, null equal to null."""
    assert actual.schema == expected.schema
    assert actual.num_rows == expected.num_rows
    for name in expected.column_names:
        a, e = actual.column(name), expected.column(name)
        assert a.is_null().to_pylist() == e.is_null().to_pylist(), name
        a_np = columns(actual.select([name]))[name]
        e_np = columns(expected.select([name]))[name]
        if a_np.dtype.kind == "f":
            np.testing.assert_array_equal(a_np, e_np, err_msg=name)
        else:
            assert a_np.tolist() == e_np.tolist(), name
