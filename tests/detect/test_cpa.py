"""The close-quarters screen: exactly brute force's pairs, and true to the ellipsoid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from seabridge.detect.cpa import brute_force_pairs, close_pairs, pair_cpa
from seabridge.units import MPS_PER_KN

F64 = np.ndarray[Any, np.dtype[np.float64]]
HORIZON_S, THRESHOLD_M = 720.0, 926.0
GEOD = Geod(ellps="WGS84")


def clustered(count: int, seed: int, lat0: float = 26.0, lon0: float = 123.5) -> tuple[F64, ...]:
    """Dense traffic: a port cluster, a slow fleet and fast crossing traffic."""
    rng = np.random.default_rng(seed)
    third = count // 3
    lat = np.concatenate(
        [
            lat0 + rng.normal(0, 0.02, third),
            lat0 + 0.3 + rng.normal(0, 0.08, third),
            lat0 + rng.uniform(-0.6, 0.6, count - 2 * third),
        ]
    )
    lon = np.concatenate(
        [
            lon0 + rng.normal(0, 0.02, third),
            lon0 + 0.4 + rng.normal(0, 0.08, third),
            lon0 + rng.uniform(-0.6, 0.6, count - 2 * third),
        ]
    )
    sog = np.concatenate(
        [
            rng.uniform(0, 0.3, third),
            rng.uniform(0, 5, third),
            rng.uniform(8, 30, count - 2 * third),
        ]
    )
    cog = rng.uniform(0, 360, count)
    return lat, lon, sog, cog


def _keys(pairs: Any) -> list[tuple[int, int]]:
    ordered = pairs.sorted()
    return list(zip(ordered.i.tolist(), ordered.j.tolist(), strict=True))


@pytest.mark.parametrize(("count", "seed"), [(2, 0), (50, 1), (1000, 2), (3000, 3), (10_000, 4)])
def test_screen_returns_exactly_the_brute_force_pairs(count: int, seed: int) -> None:
    snapshot = clustered(count, seed)
    fast = close_pairs(*snapshot, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
    slow = brute_force_pairs(*snapshot, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
    assert _keys(fast) == _keys(slow)
    # The same per-vessel terms and pair formula: bit-identical distances and times.
    assert np.array_equal(fast.sorted().cpa_m, slow.sorted().cpa_m)
    assert np.array_equal(fast.sorted().tcpa_s, slow.sorted().tcpa_s)
    if count >= 1000:
        assert len(fast.i) > 10  # the snapshot really exercises the screen


def test_screen_across_the_antimeridian_and_at_high_latitude() -> None:
    for lon0, lat0 in ((179.9, 10.0), (-179.95, -40.0), (0.0, 70.0)):
        snapshot = clustered(2000, 5, lat0=lat0, lon0=lon0)
        snapshot = (snapshot[0], (snapshot[1] + 180.0) % 360.0 - 180.0, snapshot[2], snapshot[3])
        fast = close_pairs(*snapshot, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
        slow = brute_force_pairs(*snapshot, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
        assert _keys(fast) == _keys(slow)


def test_pairs_already_inside_and_diverging_are_included() -> None:
    # 300 m apart, moving apart at 10 kn each: closest now, at t = 0.
    lat, lon = np.array([26.0, 26.0]), np.array([123.5, 123.5 + 300 / 100_000])
    pairs = close_pairs(lat, lon, np.array([10.0, 10.0]), np.array([270.0, 90.0]),
                        horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)  # fmt: skip
    assert len(pairs.i) == 1 and pairs.tcpa_s[0] == 0.0
    assert pairs.cpa_m[0] == pytest.approx(300.0, rel=0.02)


def _geodesic_cpa(lat: F64, lon: F64, sog: F64, cog: F64) -> tuple[float, float]:
    """Both vessels moved along geodesics in 1 s steps; the minimum Geod distance."""
    steps = np.arange(0.0, HORIZON_S + 1.0, 1.0)
    tracks = []
    for k in range(2):
        start_lon, start_lat = np.full_like(steps, lon[k]), np.full_like(steps, lat[k])
        course = np.full_like(steps, cog[k])
        lons, lats, _ = GEOD.fwd(start_lon, start_lat, course, steps * sog[k] * MPS_PER_KN)
        tracks.append((lats, lons))
    _, _, dist = GEOD.inv(tracks[0][1], tracks[0][0], tracks[1][1], tracks[1][0])
    best = int(np.argmin(dist))
    return float(dist[best]), float(steps[best])


@settings(max_examples=60, deadline=None)
@given(
    lat0=st.floats(-60, 60),
    lon0=st.floats(-180, 180),
    offset_m=st.floats(50, 8000),
    bearing=st.floats(0, 360),
    sog=st.tuples(st.floats(0, 30), st.floats(0, 30)),
    cog=st.tuples(st.floats(0, 360), st.floats(0, 360)),
)
def test_cpa_agrees_with_a_geodesic_simulation(
    lat0: float, lon0: float, offset_m: float, bearing: float, sog: tuple[float, float],
    cog: tuple[float, float],
) -> None:  # fmt: skip
    lon1, lat1, _ = GEOD.fwd(lon0, lat0, bearing, offset_m)
    lat, lon = np.array([lat0, lat1]), np.array([lon0, lon1])
    d, _ = pair_cpa(lat, lon, np.array(sog), np.array(cog), np.array([0]), np.array([1]),
                    horizon_s=HORIZON_S)  # fmt: skip
    expected_m, _ = _geodesic_cpa(lat, lon, np.array(sog), np.array(cog))
    assert abs(d[0] - expected_m) <= max(0.01 * expected_m, 20.0)


@settings(max_examples=100, deadline=None)
@given(
    lat0=st.floats(-70, 70),
    shift_deg=st.floats(-10, 10),
    offset=st.tuples(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)),
    sog=st.tuples(st.floats(0, 30), st.floats(0, 30)),
    cog=st.tuples(st.floats(0, 359.9), st.floats(0, 359.9)),
)
def test_cpa_is_symmetric_and_invariant_along_a_meridian(
    lat0: float, shift_deg: float, offset: tuple[float, float], sog: tuple[float, float],
    cog: tuple[float, float],
) -> None:  # fmt: skip
    lat = np.array([lat0, lat0 + offset[0]])
    lon = np.array([120.0, 120.0 + offset[1]])
    s, c = np.array(sog), np.array(cog)
    forward = pair_cpa(lat, lon, s, c, np.array([0]), np.array([1]), horizon_s=HORIZON_S)
    backward = pair_cpa(lat, lon, s, c, np.array([1]), np.array([0]), horizon_s=HORIZON_S)
    assert forward[0][0] == pytest.approx(backward[0][0], abs=1e-6)
    assert forward[1][0] == pytest.approx(backward[1][0], abs=1e-6)
    moved = pair_cpa(lat, lon + shift_deg, s, c, np.array([0]), np.array([1]), horizon_s=HORIZON_S)
    assert moved[0][0] == pytest.approx(forward[0][0], abs=1e-6)
