"""Zone containment of 1M points: one 12 nm geodesic belt, and whole zone sets.

Points: 1,000,000 seeded uniform positions in 25.5-26.2 N, 123-125 E (the Senkaku / Diaoyu
area). Zones: the 12 nm belt from the eight feature points (ecs-facts.md §1.1), the whole
built-in ecs pack, and a representative set of 9 zones: that belt, the 12-24 nm ring, a
7-vertex polygon, a large area-of-interest box and five 500 m circles. Baselines measured
in the same run: ``shapely.contains_xy`` on a fresh (unprepared) polygon and on the
prepared one, a per-point ``Polygon.contains(Point)`` loop on a 10k subsample scaled up,
and for the set, one ``contains_xy`` per zone and an STRtree query of point geometries.
Every answer is checked against the ``contains_xy`` one. Medians of 7 runs. Target
(DESIGN.md): one 12 nm belt, 1M points, <= 60 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon

from seabridge.geo import Zone, ZoneSet, belt, geodesic_buffer, load_zones
from seabridge.packs import load_pack
from seabridge.units import nm_to_m

POINTS = 1_000_000
SAMPLE = 10_000
RUNS = 7
TARGET_S = 0.060
OUT = Path(__file__).resolve().parents[1] / "bench-out"
# ecs-facts.md §1.1: PRC SOA coordinates (deg, decimal minutes), 15 Sep 2012.
FEATURES_DM = [
    (25, 44.6, 123, 28.4), (25, 55.4, 123, 40.9), (25, 55.3, 124, 33.5), (25, 43.8, 123, 32.5),
    (25, 43.4, 123, 33.0), (25, 46.9, 123, 32.6), (25, 45.3, 123, 34.0), (25, 44.1, 123, 30.4),
]  # fmt: skip
FEATURES = MultiPoint([(lo + lo_m / 60, la + la_m / 60) for la, la_m, lo, lo_m in FEATURES_DM])


def _zone(zone_id: str, kind: str, geometry: Polygon | MultiPolygon) -> Zone:
    return Zone(
        id=zone_id,
        kind=kind,
        names={"en": zone_id},
        declared_by="geometric",
        source="benchmark",
        verified=True,
        geometry=geometry,
    )


def build_zones() -> list[Zone]:
    """The belt first, then the rest of the representative set."""
    twelve, twenty_four = nm_to_m(12.0), nm_to_m(24.0)
    seven = Polygon(
        [(123.2, 25.6), (123.9, 25.55), (124.3, 25.8), (124.0, 26.0), (123.8, 25.75),
         (123.5, 26.1), (123.1, 25.9)]
    )  # fmt: skip
    circles = [(123.3, 25.6), (123.9, 25.7), (124.2, 25.95), (124.8, 26.1), (123.68, 25.93)]
    return [
        _zone("belt-12nm", "territorial_sea_belt", belt(FEATURES, 0.0, twelve)),
        _zone("ring-12-24nm", "contiguous_zone_belt", belt(FEATURES, twelve, twenty_four)),
        _zone("seven-vertex", "joint_development_zone", seven),
        _zone("aoi", "area_of_interest", Polygon.from_bounds(120.0, 22.0, 130.0, 33.0)),
        *[
            _zone(f"platform-{n}", "safety_zone", geodesic_buffer(Point(p), 500.0))
            for n, p in enumerate(circles)
        ],
    ]


def _median(run: Callable[[], object]) -> tuple[float, object]:
    """The median wall time of RUNS calls (the machine may be shared), and the result."""
    times = []
    result: object = None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _per_point_loop(
    polygon: Polygon | MultiPolygon, lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> float:
    """A Python loop of Polygon.contains(Point) on a subsample, scaled to all points."""
    sub_lon, sub_lat = lon[:SAMPLE].tolist(), lat[:SAMPLE].tolist()
    start = time.perf_counter()
    for x, y in zip(sub_lon, sub_lat, strict=True):
        polygon.contains(Point(x, y))
    return (time.perf_counter() - start) * lat.size / SAMPLE


def _one_belt(
    zones: ZoneSet, lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> dict[str, float]:
    polygon = zones["belt-12nm"].geometry
    fresh = shapely.from_wkb(shapely.to_wkb(polygon))
    unprepared_s, expected = _median(lambda: shapely.contains_xy(fresh, lon, lat))
    prepared = shapely.from_wkb(shapely.to_wkb(polygon))
    shapely.prepare(prepared)
    prepared_s, _ = _median(lambda: shapely.contains_xy(prepared, lon, lat))
    start = time.perf_counter()
    zones.contains("belt-12nm", lat[:1], lon[:1])  # builds the zone's grid once
    build_s = time.perf_counter() - start
    seabridge_s, got = _median(lambda: zones.contains("belt-12nm", lat, lon))
    assert np.array_equal(np.asarray(got), np.asarray(expected)), "grid answer differs"
    return {
        "loop_per_point_s": _per_point_loop(polygon, lat, lon),
        "contains_xy_unprepared_s": unprepared_s,
        "contains_xy_prepared_s": prepared_s,
        "seabridge_s": seabridge_s,
        "seabridge_grid_build_s": build_s,
        "inside_share": float(np.mean(np.asarray(expected))),
    }


def _whole_set(
    zones: ZoneSet, lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> dict[str, float]:
    geometries = [zone.geometry for zone in zones]

    def per_zone() -> NDArray[np.bool_]:
        return np.stack([shapely.contains_xy(g, lon, lat) for g in geometries], axis=1)

    per_zone_s, expected = _median(per_zone)
    tree = shapely.STRtree(geometries)
    start = time.perf_counter()
    tree.query(shapely.points(lon, lat), predicate="within")
    strtree_s = time.perf_counter() - start
    membership_s, _ = _median(lambda: zones.membership(lat, lon))
    matrix_s, got = _median(lambda: zones.contains_matrix(lat, lon))
    assert np.array_equal(np.asarray(got), np.asarray(expected)), "set answer differs"
    return {
        "contains_xy_per_zone_s": per_zone_s,
        "strtree_points_query_s": strtree_s,
        "seabridge_membership_s": membership_s,
        "seabridge_contains_matrix_s": matrix_s,
        "pairs": float(np.count_nonzero(np.asarray(expected))),
    }


def _print(belt_result: dict[str, float], set_result: dict[str, float], zone_count: int) -> None:
    print(f"Zone containment, {POINTS:,} points in 25.5-26.2 N, 123-125 E, median of {RUNS} runs")
    print(f"  one 12 nm belt ({belt_result['inside_share']:.1%} of points inside)")
    rows = [
        ("per-point loop (10k, scaled)", belt_result["loop_per_point_s"]),
        ("shapely.contains_xy, unprepared", belt_result["contains_xy_unprepared_s"]),
        ("shapely.contains_xy, prepared", belt_result["contains_xy_prepared_s"]),
        ("seabridge ZoneSet.contains", belt_result["seabridge_s"]),
    ]
    for name, seconds in rows:
        print(f"    {name:<34} {seconds * 1000:8.1f} ms")
    print(f"    (grid built once in {belt_result['seabridge_grid_build_s'] * 1000:.1f} ms)")
    verdict = "meets" if belt_result["seabridge_s"] <= TARGET_S else "MISSES"
    print(f"    target <= {TARGET_S * 1000:.0f} ms: {verdict} the target")
    print(f"  whole set of {zone_count} zones ({int(set_result['pairs']):,} point-zone pairs)")
    rows = [
        ("STRtree query of point geometries", set_result["strtree_points_query_s"]),
        ("shapely.contains_xy per zone", set_result["contains_xy_per_zone_s"]),
        ("seabridge ZoneSet.membership", set_result["seabridge_membership_s"]),
        ("seabridge ZoneSet.contains_matrix", set_result["seabridge_contains_matrix_s"]),
    ]
    for name, seconds in rows:
        print(f"    {name:<34} {seconds * 1000:8.1f} ms")


def main() -> None:
    rng = np.random.default_rng(20100907)
    lat = rng.uniform(25.5, 26.2, POINTS)
    lon = rng.uniform(123.0, 125.0, POINTS)
    zones = ZoneSet(build_zones())
    belt_result = _one_belt(zones, lat, lon)
    set_result = _whole_set(zones, lat, lon)
    _print(belt_result, set_result, len(zones))
    pack = load_zones(load_pack("ecs"))
    pack.membership(lat[:1], lon[:1])
    pack_s, _ = _median(lambda: pack.membership(lat, lon))
    pairs = len(pack.membership(lat, lon)[0])
    print(f"  the built-in ecs pack ({len(pack)} zones): membership {pack_s * 1000:.1f} ms,"
          f" {pairs:,} point-zone pairs")  # fmt: skip
    OUT.mkdir(exist_ok=True)
    result = {"points": POINTS, "runs": RUNS, "target_s": TARGET_S, "one_belt": belt_result}
    result["whole_set"] = set_result
    result["ecs_pack_membership_s"] = pack_s
    (OUT / "zones.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
