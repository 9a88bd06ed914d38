"""Machinery the rule modules share: keyed state tables, pair runs, distances, frame rows.

Rules keep per-vessel (or per-pair) memory as a *table*: a dict of equal-length numpy
columns with a sorted int64 ``key`` column (an MMSI, or ``a << 32 | b`` for a pair with
``a < b``), so a frame's rows map onto it with one ``searchsorted`` and every update is
vectorized. A table is plain data, so ``copy.deepcopy`` (what :meth:`Rule.snapshot` does)
is a correct snapshot.

Distances on the short scales rules care about (metres to tens of kilometres) use each
pair's own local plane with the WGS-84 radii of curvature at the pair's mid latitude, the
same construction as :mod:`seabridge.detect.cpa` (well within 0.1 % of the geodesic below
50 km; a test checks it against pyproj). Private to ``seabridge.detect.rules``: no I/O, no
clock, no rule logic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from seabridge.detect.model import VesselFrame
from seabridge.detect.rule import RuleContext
from seabridge.errors import PackError
from seabridge.geo.geodesy import meridional_radius_m, prime_vertical_radius_m
from seabridge.units import MPS_PER_KN

F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]
Bools = np.ndarray[Any, np.dtype[np.bool_]]
Table = dict[str, np.ndarray[Any, Any]]
# column name -> (dtype, value a new row starts with)
Schema = Mapping[str, tuple[type[np.generic], float | int | bool]]

_DEG = math.pi / 180.0
_SPHERE_M = 6_371_008.8  # mean Earth radius (IUGG), only for the KD-tree's screen
NEVER_MS = -(2**62)  # "no time yet": older than any data time, and no int64 overflow


def empty_table(schema: Schema) -> Table:
    """A table with no rows: a sorted int64 ``key`` column and the schema's columns."""
    table: Table = {"key": np.empty(0, np.int64)}
    for name, (dtype, _fill) in schema.items():
        table[name] = np.empty(0, dtype)
    return table


def locate(table: Table, keys: I64) -> tuple[np.ndarray[Any, np.dtype[np.intp]], Bools]:
    """(row of each key, whether it is there); the row is meaningless where it is not
    (index columns with ``rows[found]``: an empty table has no row at all)."""
    stored = table["key"]
    rows = np.searchsorted(stored, keys)
    if stored.size == 0:
        return rows, np.zeros(keys.shape, dtype=bool)
    clipped = np.minimum(rows, stored.size - 1)
    return clipped, stored[clipped] == keys


def ensure(table: Table, schema: Schema, keys: I64) -> np.ndarray[Any, np.dtype[np.intp]]:
    """The row of each key, inserting missing keys with the schema's starting values."""
    rows, found = locate(table, keys)
    if found.all():
        return rows
    new = keys[~found]
    if not (new.size < 2 or bool(np.all(new[1:] > new[:-1]))):  # already sorted and unique
        new = np.unique(new)
    placed = np.searchsorted(table["key"], new) + np.arange(new.size)  # rows after the merge
    old = np.ones(table["key"].size + new.size, dtype=bool)
    old[placed] = False
    for name, column in list(table.items()):
        merged = np.empty(old.size, dtype=column.dtype)
        merged[old] = column
        merged[placed] = new if name == "key" else schema[name][1]
        table[name] = merged
    rows, _ = locate(table, keys)
    return rows


def keep(table: Table, mask: Bools) -> None:
    """Drop the rows where ``mask`` is False."""
    if mask.all():
        return
    for name in table:
        table[name] = table[name][mask]


def pair_keys(mmsi_a: I64, mmsi_b: I64) -> I64:
    """One int64 per unordered pair: ``low << 32 | high`` (MMSIs are below 2**30)."""
    low, high = np.minimum(mmsi_a, mmsi_b), np.maximum(mmsi_a, mmsi_b)
    keys: I64 = (low << 32) | high
    return keys


def split_pair_key(key: int) -> tuple[int, int]:
    """The sorted MMSIs of a pair key."""
    return key >> 32, key & 0xFFFFFFFF


def split_pair_keys(keys: I64) -> list[tuple[int, int]]:
    """The sorted MMSIs of many pair keys (:func:`split_pair_key` a column at a time)."""
    return list(zip((keys >> 32).tolist(), (keys & 0xFFFFFFFF).tolist(), strict=True))


def plane_distance_m(lat_a: F64, lon_a: F64, lat_b: F64, lon_b: F64) -> F64:
    """Distances on each pair's local plane (WGS-84 radii at its mid latitude), metres."""
    mid = 0.5 * (lat_a + lat_b)
    dlon = (lon_b - lon_a + 180.0) % 360.0 - 180.0
    east = dlon * _DEG * prime_vertical_radius_m(mid) * np.cos(mid * _DEG)
    north = (lat_b - lat_a) * _DEG * meridional_radius_m(mid)
    distance: F64 = np.hypot(east, north)
    return distance


def pairs_within(
    lat: F64,
    lon: F64,
    radius_m: float,
    anchors: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> tuple[I64, I64, F64]:
    """Every pair (i < j) with :func:`plane_distance_m` <= ``radius_m``, and the distance;
    with ``anchors``, only the pairs holding at least one point where it is True.

    A KD-tree over points on a sphere screens with a chord radius that covers the plane
    distance with margin (the meridional radius of curvature is never below 6,335 km, so
    a plane distance d is at most 1.006 d on the 6,371 km sphere); the exact test is then
    :func:`plane_distance_m` per candidate, so the result is exactly brute force's.
    """
    if lat.size < 2:
        empty = np.empty(0, np.int64)
        return empty, empty.copy(), np.empty(0, np.float64)
    phi, lam = lat * _DEG, lon * _DEG
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    arc = min((radius_m * 1.01 + 1.0) / _SPHERE_M, math.pi)
    chord = 2.0 * math.sin(arc / 2.0)
    tree = cKDTree(xyz)
    if anchors is None:
        pairs = tree.query_pairs(chord, output_type="ndarray")
        i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    else:
        # Only the anchors' neighbourhoods: a few government vessels among thousands.
        first = np.flatnonzero(anchors)
        found = tree.query_ball_point(xyz[first], chord, return_sorted=False)
        counts = np.fromiter(map(len, found), dtype=np.int64, count=first.size)
        a = np.repeat(first, counts)
        b = np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=a.size)
        keys = np.unique(np.minimum(a, b) * lat.size + np.maximum(a, b))
        i, j = keys // lat.size, keys % lat.size
        i, j = i[i != j], j[i != j]
    distance = plane_distance_m(lat[i], lon[i], lat[j], lon[j])
    close = distance <= radius_m
    return i[close], j[close], distance[close]


def advance(lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, seconds: F64) -> tuple[F64, F64]:
    """Dead reckoning on a local plane; positions without SOG or COG stay where they are."""
    known = np.isfinite(sog_kn) & np.isfinite(cog_deg)
    distance_m = np.where(known, sog_kn, 0.0) * MPS_PER_KN * seconds
    return offset(lat, lon, np.where(known, cog_deg, 0.0), distance_m)


def offset(lat: F64, lon: F64, course_deg: F64, distance_m: F64) -> tuple[F64, F64]:
    """Points ``distance_m`` along ``course_deg`` on each point's local plane (a few nm at
    most); points that do not move keep their exact coordinates."""
    course = course_deg * _DEG
    new_lat = lat + distance_m * np.cos(course) / (meridional_radius_m(lat) * _DEG)
    east_m_per_deg = prime_vertical_radius_m(lat) * np.cos(lat * _DEG) * _DEG
    new_lon = lon + distance_m * np.sin(course) / east_m_per_deg
    moving = distance_m != 0.0
    wrapped: F64 = np.where(moving, (new_lon + 180.0) % 360.0 - 180.0, lon)
    return np.where(moving, new_lat, lat), wrapped


def frame_rows(
    frame: VesselFrame, applies: np.ndarray[Any, Any], max_age_ms: float | None = None
) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Rows the rule may use: applicable, usable, with a position (and fresh enough)."""
    mask = np.asarray(applies, dtype=bool) & frame.usable
    mask &= np.isfinite(frame.lat) & np.isfinite(frame.lon)
    if max_age_ms is not None:
        mask &= frame.time_ms - frame.ts_ms <= max_age_ms
    return np.flatnonzero(mask)


def rule_zones(
    rule_id: str, kind: str, context: RuleContext, *, required: bool = True
) -> tuple[str, ...]:
    """The zones a zone rule watches: its rulebook entry's applicability ``zones``.

    Raises:
        PackError: no zones listed (when ``required``), or a zone the engine's zone set
            does not have.
    """
    zones = context.applies.zones or ()
    if not zones and required:
        raise PackError(
            f"rule {rule_id!r} ({kind}): list the zones it watches under applicability 'zones'"
        )
    unknown = [zone for zone in zones if zone not in context.zones]
    if unknown:
        raise PackError(
            f"rule {rule_id!r} ({kind}): unknown zone(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(context.zones.ids)}"
        )
    return tuple(zones)


def inside(
    frame: VesselFrame, context: RuleContext, zone_id: str, rows: np.ndarray[Any, Any]
) -> Bools:
    """Whether each of ``rows`` is inside the zone (the frame's membership when it has it)."""
    if zone_id in frame.zone_ids:
        member: Bools = frame.in_zone(zone_id)[rows]
        return member
    return context.zones.contains(zone_id, frame.lat[rows], frame.lon[rows])


def fix_columns(fixes: pa.Table) -> dict[str, np.ndarray[Any, Any]]:
    """The columns of a POSITION_SCHEMA table that rules read, as numpy (ts as int64 ms)."""
    return {
        "mmsi": np.asarray(fixes.column("mmsi").to_numpy(), dtype=np.int64),
        "ts_ms": np.asarray(fixes.column("ts").cast(pa.int64()).to_numpy(), dtype=np.int64),
        "lat": np.asarray(fixes.column("lat").to_numpy(), dtype=np.float64),
        "lon": np.asarray(fixes.column("lon").to_numpy(), dtype=np.float64),
    }


def kn_from(distance_m: F64, dt_ms: F64) -> F64:
    """Speed in knots from metres and milliseconds (inf for a jump in no time)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        speed: F64 = np.where(dt_ms > 0, distance_m / (dt_ms / 1000.0) / MPS_PER_KN, np.inf)
    return np.where(distance_m == 0.0, 0.0, speed)


# Pair runs ------------------------------------------------------------------------------

RUN_SCHEMA: Schema = {"start_ms": (np.int64, NEVER_MS), "last_ms": (np.int64, NEVER_MS)}


def update_runs(
    runs: Table,
    schema: Schema,
    keys: I64,
    time_ms: int,
    max_interruption_ms: float,
    *,
    sums: Mapping[str, np.ndarray[Any, Any]],
    latest: Mapping[str, np.ndarray[Any, Any]],
) -> None:
    """Pairs in condition at ``time_ms`` (``keys``) extend their run or start one.

    A run survives interruptions of at most ``max_interruption_ms`` (the pair out of
    condition or not observed); a longer one ends it, and the pair starts afresh. ``sums``
    columns accumulate over the run (reset on a new run), ``latest`` columns are overwritten;
    ``schema`` must include :data:`RUN_SCHEMA` and a ``samples`` count column.
    """
    order = np.argsort(keys)  # sorted queries: searchsorted runs cache-friendly, no unique
    keys = keys[order]
    sums = {name: values[order] for name, values in sums.items()}
    latest = {name: values[order] for name, values in latest.items()}
    rows, found = locate(runs, keys)
    present = np.zeros(runs["key"].size, dtype=bool)
    present[rows[found]] = True
    keep(runs, present | (time_ms - runs["last_ms"] <= max_interruption_ms))
    rows = ensure(runs, schema, keys)
    restart = rows[time_ms - runs["last_ms"][rows] > max_interruption_ms]
    runs["start_ms"][restart] = time_ms
    runs["samples"][restart] = 0
    for name in sums:
        runs[name][restart] = 0
    runs["samples"][rows] += 1
    for name, values in sums.items():
        runs[name][rows] += values
    for name, values in latest.items():
        runs[name][rows] = values
    runs["last_ms"][rows] = time_ms


def expire_runs(runs: Table, time_ms: int, max_interruption_ms: float) -> None:
    """Forget runs interrupted for longer than ``max_interruption_ms``."""
    keep(runs, time_ms - runs["last_ms"] <= max_interruption_ms)
