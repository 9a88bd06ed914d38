"""speed_in_zone: the speed limit, inside versus heading in, the approach distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from framekit import MIN, NAMES, T0, box_zone, frame_of, make_rule, moved
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from seabridge.detect.model import Finding
from seabridge.detect.rule import Rule
from seabridge.detect.rules._common import offset
from seabridge.detect.rules.speed_in_zone import SpeedInZone
from seabridge.errors import PackError
from seabridge.geo import SAFETY_ZONE_M, Zone, ZoneSet, distance_m, geodesic_buffer
from seabridge.units import M_PER_NM

PLATFORM = (26.3, 123.8)
ZONES = ZoneSet(
    [
        box_zone("box", (26.0, 26.1), (123.5, 123.6)),
        Zone(
            id="platform",
            kind="safety_zone",
            names=dict(NAMES),
            declared_by="geometric",
            source="test",
            verified=True,
            geometry=geodesic_buffer(Point(PLATFORM[1], PLATFORM[0]), SAFETY_ZONE_M),
        ),
    ]
)
LAT = 26.05  # across the box's middle; its west edge is lon 123.5


def rule(zone: str = "box", **params: float) -> Rule:
    return make_rule(SpeedInZone, params, ZONES, zones=(zone,))


def one(r: Rule, lat: float, lon: float, sog: float, cog: float, t: int = T0) -> list[Finding]:
    frame = frame_of(t, [1], [lat], [lon], sog_kn=sog, cog_deg=cog, zones=ZONES)
    return list(r.evaluate(frame, np.ones(1, dtype=bool)))


def west_of_box(distance: float) -> tuple[float, float]:
    return moved(LAT, 123.5, 270.0, distance)


@pytest.mark.parametrize(
    ("sog", "found"), [(14.99, False), (15.0, False), (15.01, True)], ids=["below", "at", "above"]
)
def test_speed_limit_is_strict(sog: float, found: bool) -> None:
    result = one(rule(), LAT, 123.55, sog, 0.0)
    assert bool(result) is found
    if found:
        (finding,) = result
        assert finding.key == (1, "box")
        assert finding.zone == "box"
        assert finding.metrics == {"speed_kn": 15.01, "distance_m": 0.0, "time_to_zone_s": 0.0}


@pytest.mark.parametrize(
    ("edge_m", "found"),
    [(2 * M_PER_NM - 10.0, True), (2 * M_PER_NM + 10.0, False)],
    ids=["edge-inside-reach", "edge-beyond-reach"],
)
def test_heading_in_within_the_approach_distance(edge_m: float, found: bool) -> None:
    lat, lon = west_of_box(edge_m)
    result = one(rule(approach=2.0), lat, lon, 20.0, 90.0)
    assert bool(result) is found
    if found:
        (finding,) = result
        assert finding.metrics["distance_m"] == pytest.approx(edge_m, abs=3.0)
        seconds = finding.metrics["distance_m"] / (20.0 * M_PER_NM / 3600)
        assert finding.metrics["time_to_zone_s"] == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("cog", "found"),
    [(90.0, True), (60.0, True), (270.0, False), (0.0, False), (180.0, False), (math.nan, False)],
)
def test_only_a_course_into_the_zone_counts(cog: float, found: bool) -> None:
    lat, lon = west_of_box(1000.0)
    assert bool(one(rule(), lat, lon, 20.0, cog)) is found


def test_approach_zero_watches_the_inside_only() -> None:
    lat, lon = west_of_box(100.0)
    assert one(rule(approach=0.0), lat, lon, 20.0, 90.0) == []
    assert one(rule(approach=0.0), LAT, 123.55, 20.0, 90.0)


def test_unknown_speed_stale_fixes_and_other_rows_are_left_out() -> None:
    r = rule(max_age=3.0)
    assert one(r, LAT, 123.55, math.nan, 90.0) == []
    frame = frame_of(T0 + 3 * MIN + 1, [1], [LAT], [123.55], ts_ms=T0, sog_kn=20.0, zones=ZONES)
    assert r.evaluate(frame, np.ones(1, dtype=bool)) == []
    frame = frame_of(T0, [1, 2], LAT, 123.55, sog_kn=20.0, zones=ZONES, usable=[True, False])
    assert r.evaluate(frame, np.array([False, True])) == []


def test_the_start_is_the_first_fix_of_the_stretch() -> None:
    r = rule()
    lat, lon = west_of_box(1000.0)
    starts = [f.started_ms for k in range(5) for f in one(r, lat, lon, 20.0, 90.0, T0 + k * MIN)]
    assert starts == [T0] * 5
    assert one(r, lat, lon, 10.0, 90.0, T0 + 5 * MIN) == []  # slowed down
    (again,) = one(r, lat, lon, 20.0, 90.0, T0 + 6 * MIN)
    assert again.started_ms == T0 + 6 * MIN


def test_a_platform_safety_zone() -> None:
    lat, lon = moved(*PLATFORM, 200.0, 1.5 * M_PER_NM)  # 1.5 nm south-southwest
    (finding,) = one(rule("platform"), lat, lon, 18.0, 20.0)
    assert finding.metrics["distance_m"] == pytest.approx(1.5 * M_PER_NM - SAFETY_ZONE_M, abs=5)
    assert one(rule("platform"), lat, lon, 18.0, 40.0) == []  # passes 0.5 nm+ clear


def test_zones_must_be_listed() -> None:
    with pytest.raises(PackError, match="applicability 'zones'"):
        make_rule(SpeedInZone, {}, ZONES)


def test_snapshot_restore_replays_identically() -> None:
    rng = np.random.default_rng(7)
    frames = [
        frame_of(
            T0 + k * MIN,
            np.arange(50),
            26.05 + rng.normal(0, 0.03, 50),
            123.55 + rng.normal(0, 0.05, 50),
            sog_kn=rng.uniform(10, 25, 50),
            cog_deg=rng.uniform(0, 360, 50),
            zones=ZONES,
        )
        for k in range(40)
    ]
    r = rule()
    every = np.ones(50, dtype=bool)
    for frame in frames[:20]:
        r.evaluate(frame, every)
    saved = r.snapshot()
    after = [r.evaluate(frame, every) for frame in frames[20:]]
    r.restore(saved)
    assert [r.evaluate(frame, every) for frame in frames[20:]] == after
    assert any(f.started_ms != T0 + 20 * MIN for found in after for f in found)


def test_many_vessels_match_a_per_vessel_shapely_oracle() -> None:
    count = 3000
    rng = np.random.default_rng(12)
    lat = 26.05 + rng.uniform(-0.12, 0.12, count)
    lon = 123.55 + rng.uniform(-0.15, 0.15, count)
    sog = rng.uniform(5, 30, count)
    cog = np.where(rng.random(count) < 0.02, np.nan, rng.uniform(0, 360, count))
    frame = frame_of(T0, np.arange(count), lat, lon, sog_kn=sog, cog_deg=cog, zones=ZONES)
    r = rule(approach=2.0, min_speed=15.0)
    got = {f.vessels[0]: f.metrics["distance_m"] for f in r.evaluate(frame, np.ones(count, bool))}
    box = ZONES["box"].geometry
    approach_m = 2.0 * M_PER_NM
    expected = {}
    for i in range(count):
        if not sog[i] > 15.0:
            continue
        if box.contains(Point(lon[i], lat[i])):
            expected[i] = 0.0
            continue
        if math.isnan(cog[i]):
            continue
        end_lat, end_lon = offset(
            lat[i : i + 1], lon[i : i + 1], cog[i : i + 1], np.array([approach_m])
        )
        line = LineString([(lon[i], lat[i]), (float(end_lon[0]), float(end_lat[0]))])
        if line.intersects(box):
            entry = nearest_points(line.intersection(box), Point(lon[i], lat[i]))[0]
            expected[i] = line.project(entry, normalized=True) * approach_m
    assert got.keys() == expected.keys()
    for i, distance in expected.items():
        assert got[i] == pytest.approx(distance, abs=1e-6)
    near = [i for i, d in expected.items() if d > 0]
    assert len(near) > 100
    # The distances along course agree with geodesic distances to the entry point.
    i = near[0]
    entry_lat, entry_lon = offset(
        lat[i : i + 1], lon[i : i + 1], cog[i : i + 1], np.array([got[i]])
    )
    assert float(distance_m(lat[i], lon[i], entry_lat[0], entry_lon[0])) == pytest.approx(
        got[i], rel=1e-3
    )
