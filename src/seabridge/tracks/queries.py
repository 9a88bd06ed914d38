"""The read side of the track store: positions by time, MMSI and area; latest; vessels; stats.

Every filter is a plain comparison on a stored column, so DuckDB pushes it into the scan and
skips row groups by their min/max (appends are not kept in order, but arrive roughly in data
time). Conventions: time windows are half-open, ``start_ms <= ts < end_ms``; a bounding box
``(west, south, east, north)`` in degrees includes its edges, and ``west > east`` means it
crosses the antimeridian. Results are Arrow tables in the record schemas, sorted on output.
:func:`stored_matches` is the read the store's de-duplication falls back to for reports older
than its in-memory window. This module only reads; it must not write the database.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from seabridge.ais.mid import flags_for_mmsis
from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA
from seabridge.errors import InputError
from seabridge.tracks.schema import VESSEL_SCHEMA, to_schema
from seabridge.units import ms_to_datetime

__all__ = [
    "BBox",
    "StoreStats",
    "check_bbox",
    "position_span",
    "select_latest",
    "select_positions",
    "select_vessels",
    "store_stats",
    "stored_matches",
]

#: ``(west, south, east, north)`` in degrees; ``west > east`` crosses the antimeridian.
BBox = tuple[float, float, float, float]

_COLUMNS = ", ".join(POSITION_SCHEMA.names)
_MMSI_RANGE = (1, 999_999_999)  # what a query may ask for: any nine-digit number
_PROBE_VIEW = "_seabridge_probe"
# Old reports are looked up in time clusters split at gaps longer than this, so one stray
# report does not widen the scanned range to every row between it and the rest; at most
# _PROBE_QUERIES clusters (the widest gaps split first).
_PROBE_GAP_MS = 3_600_000
_PROBE_QUERIES = 16
# Ties on (mmsi, ts) are ordered by the rest of the key, so output is deterministic.
_ORDER = {
    "mmsi": "mmsi, ts, msg_type, lat, lon",
    "ts": "ts, mmsi, msg_type, lat, lon",
}


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts and the data-time span of a store."""

    positions: int
    statics: int
    vessels: int
    first_ms: int | None
    last_ms: int | None


def check_bbox(bbox: BBox) -> BBox:
    """Validate a bounding box and return it as floats.

    Raises:
        InputError: a bound is not finite or out of range, or south is north of north.
    """
    west, south, east, north = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise InputError(f"bounding box {bbox} has a non-finite bound")
    if not (-180.0 <= west <= 180.0 and -180.0 <= east <= 180.0):
        raise InputError(f"bounding box {bbox}: west and east must be within [-180, 180] deg")
    if not -90.0 <= south <= north <= 90.0:
        raise InputError(f"bounding box {bbox}: need -90 <= south <= north <= 90 deg")
    return west, south, east, north


class _Where:
    """Conjunctive SQL conditions with their parameter values."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.params: list[object] = []

    def add(self, term: str, *params: object) -> None:
        self.terms.append(term)
        self.params.extend(params)

    def time(self, start_ms: int | None, end_ms: int | None) -> None:
        if start_ms is not None:
            self.add("ts >= ?", ms_to_datetime(start_ms))
        if end_ms is not None:
            self.add("ts < ?", ms_to_datetime(end_ms))

    def bbox(self, bbox: BBox | None) -> None:
        if bbox is None:
            return
        west, south, east, north = check_bbox(bbox)
        self.add("lat BETWEEN ? AND ?", south, north)
        if west <= east:
            self.add("lon BETWEEN ? AND ?", west, east)
        else:
            self.add("(lon >= ? OR lon <= ?)", west, east)

    def mmsi(self, mmsi: int | Collection[int] | None) -> None:
        if mmsi is None:
            return
        if isinstance(mmsi, Integral):
            mmsi = [int(mmsi)]
        wanted = sorted({int(m) for m in mmsi})  # type: ignore[union-attr]
        low, high = _MMSI_RANGE
        outside = [m for m in wanted if not low <= m <= high]
        if outside:
            raise InputError(
                f"MMSI {outside[0]} is out of range: an MMSI is a number from {low} to {high}"
            )
        if len(wanted) == 1:
            self.add("mmsi = ?", wanted[0])
            return
        if not wanted:
            self.add("FALSE")
            return
        self.add(f"mmsi IN ({', '.join('?' * len(wanted))})", *wanted)

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.terms)}" if self.terms else ""


def position_span(
    con: duckdb.DuckDBPyConnection, start_ms: int | None, end_ms: int | None
) -> tuple[int, int] | None:
    """The first and last ``ts`` of the positions in ``[start_ms, end_ms)``; None if none."""
    where = _Where()
    where.time(start_ms, end_ms)
    sql = f"SELECT epoch_ms(min(ts)), epoch_ms(max(ts)) FROM positions{where.sql()}"
    first, last = con.sql(sql, params=where.params).fetchall()[0]
    return None if first is None else (int(first), int(last))


def select_positions(
    con: duckdb.DuckDBPyConnection,
    *,
    bbox: BBox | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    mmsi: int | Collection[int] | None = None,
    order: Literal["mmsi", "ts"] = "mmsi",
) -> pa.Table:
    """Positions matching every given filter, sorted by (mmsi, ts) or by ts."""
    sql, params = positions_query(bbox=bbox, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi)
    sql += f" ORDER BY {_ORDER[order]}"
    return to_schema(con.sql(sql, params=params).to_arrow_table(), POSITION_SCHEMA)


def positions_query(
    *,
    bbox: BBox | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    mmsi: int | Collection[int] | None = None,
) -> tuple[str, list[Any]]:
    """The SQL and parameters selecting the positions that match every given filter, in
    storage order."""
    where = _Where()
    where.time(start_ms, end_ms)
    where.mmsi(mmsi)
    where.bbox(bbox)
    return f"SELECT {_COLUMNS} FROM positions{where.sql()}", list(where.params)


def select_latest(
    con: duckdb.DuckDBPyConnection,
    *,
    at_ms: int | None = None,
    bbox: BBox | None = None,
    max_age_ms: int | None = None,
) -> pa.Table:
    """The latest position of each vessel at or before ``at_ms``, then kept if inside ``bbox``."""
    inner = _Where()
    if at_ms is not None:
        inner.add("ts <= ?", ms_to_datetime(at_ms))
    if max_age_ms is not None:
        if at_ms is None:
            raise InputError("max_age_ms needs at_ms: the age is counted back from that time")
        inner.add("ts >= ?", ms_to_datetime(at_ms - max_age_ms))
    outer = _Where()
    outer.bbox(bbox)
    # Newest ts per vessel first, then only the rows at that ts are ranked for ties: a window
    # function ordered on several keys over all rows is an order of magnitude slower.
    sql = (
        f"WITH newest AS (SELECT mmsi, max(ts) AS ts FROM positions{inner.sql()} GROUP BY mmsi) "
        f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM positions JOIN newest USING (mmsi, ts)"
        f"{inner.sql()} QUALIFY row_number() OVER (PARTITION BY mmsi "
        "ORDER BY msg_type DESC, lat DESC, lon DESC) = 1)"
        f"{outer.sql()} ORDER BY mmsi"
    )
    params = inner.params + inner.params + outer.params
    return to_schema(con.sql(sql, params=params).to_arrow_table(), POSITION_SCHEMA)


_LATEST_STATIC = ", ".join(
    f"arg_max({name}, ts) FILTER (WHERE {name} IS NOT NULL) AS {name}"
    for name in ("name", "callsign", "imo", "ship_type", "flag")
)


def select_statics(con: duckdb.DuckDBPyConnection, *, end_ms: int | None = None) -> pa.Table:
    """The static reports stored before ``end_ms`` (every one without it), sorted by
    (ts, mmsi): what the Parquet archive keeps beside the positions (``_statics.parquet``)."""
    where = _Where()
    where.time(None, end_ms)
    sql = f"SELECT {', '.join(STATIC_SCHEMA.names)} FROM statics{where.sql()} ORDER BY ts, mmsi"
    return to_schema(con.sql(sql, params=list(where.params)).to_arrow_table(), STATIC_SCHEMA)


def select_vessels(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every vessel seen: latest non-null static fields and last position or static time.

    ``flag`` is the latest static report's, else the MMSI's MID gives it, so vessels that sent
    no static report (and SAR aircraft, coast stations, AtoNs) still have their flag.
    """
    sql = f"""
        WITH s AS (SELECT mmsi, {_LATEST_STATIC}, max(ts) AS last_static
                   FROM statics GROUP BY mmsi),
             p AS (SELECT mmsi, max(ts) AS last_position FROM positions GROUP BY mmsi)
        SELECT coalesce(s.mmsi, p.mmsi) AS mmsi, s.name, s.callsign, s.imo, s.ship_type, s.flag,
               greatest(s.last_static, p.last_position) AS last_seen
        FROM s FULL OUTER JOIN p ON s.mmsi = p.mmsi
        ORDER BY mmsi
    """
    vessels = to_schema(con.sql(sql).to_arrow_table(), VESSEL_SCHEMA)
    from_mid = flags_for_mmsis(vessels.column("mmsi").to_numpy())
    index = vessels.schema.get_field_index("flag")
    flag = pc.coalesce(vessels.column("flag"), from_mid)
    return vessels.set_column(index, VESSEL_SCHEMA.field("flag"), flag)


def _time_clusters(ts_ms: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """``[first, last]`` of runs of times with no gap over ``_PROBE_GAP_MS`` (capped in number)."""
    times = np.unique(ts_ms)
    gaps = np.diff(times)
    cuts = np.flatnonzero(gaps > _PROBE_GAP_MS)
    if len(cuts) >= _PROBE_QUERIES:
        cuts = np.sort(cuts[np.argsort(gaps[cuts], kind="stable")[-(_PROBE_QUERIES - 1) :]])
    firsts = np.concatenate(([0], cuts + 1))
    lasts = np.concatenate((cuts, [len(times) - 1]))
    return [(int(times[a]), int(times[b])) for a, b in zip(firsts, lasts, strict=True)]


def stored_matches(
    con: duckdb.DuckDBPyConnection, table_name: str, probe: pa.Table, key: Sequence[str]
) -> npt.NDArray[np.bool_]:
    """For each row of ``probe``, whether ``table_name`` holds a row equal to it on ``key``.

    Nulls compare equal. ``probe`` has the stored table's schema (at least ``key``, ``ts`` and
    ``mmsi``). Stored rows are read only within the probe's time clusters and MMSI range,
    plain comparisons that DuckDB prunes by row-group min/max, so the cost follows the traffic
    of those hours, not the size of the store.
    """
    found = np.zeros(probe.num_rows, dtype=np.bool_)
    if not probe.num_rows:
        return found
    ts_ms = probe.column("ts").cast(pa.int64()).to_numpy()
    columns = ", ".join(key)
    on = " AND ".join(
        f"p.{name} {'IS NOT DISTINCT FROM' if probe.schema.field(name).nullable else '='} b.{name}"
        for name in key
    )
    for first, last in _time_clusters(ts_ms):
        rows = np.flatnonzero((ts_ms >= first) & (ts_ms <= last))
        part = probe.take(pa.array(rows)).select(list(key))
        part = part.append_column("probe_row", pa.array(rows, pa.int64()))
        mmsi = part.column("mmsi")
        where = _Where()
        where.time(first, last + 1)
        where.add("mmsi BETWEEN ? AND ?", pc.min(mmsi).as_py(), pc.max(mmsi).as_py())
        sql = (
            f"SELECT b.probe_row FROM {_PROBE_VIEW} b SEMI JOIN "
            f"(SELECT {columns} FROM {table_name}{where.sql()}) p ON {on}"
        )
        con.register(_PROBE_VIEW, part)
        try:
            hits = con.sql(sql, params=where.params).fetchnumpy()["probe_row"]
        finally:
            con.unregister(_PROBE_VIEW)
        found[np.asarray(hits, dtype=np.int64)] = True
    return found


def _epoch_ms(value: Any) -> int | None:
    return None if value is None else int(value)


def store_stats(con: duckdb.DuckDBPyConnection) -> StoreStats:
    """Row counts, distinct vessels and the first and last data time in the store."""
    row = con.sql(
        """
        SELECT (SELECT count(*) FROM positions), (SELECT count(*) FROM statics),
               (SELECT count(*) FROM (SELECT mmsi FROM positions UNION SELECT mmsi FROM statics)),
               epoch_ms(least((SELECT min(ts) FROM positions), (SELECT min(ts) FROM statics))),
               epoch_ms(greatest((SELECT max(ts) FROM positions), (SELECT max(ts) FROM statics)))
        """
    ).fetchall()[0]
    return StoreStats(int(row[0]), int(row[1]), int(row[2]), _epoch_ms(row[3]), _epoch_ms(row[4]))
