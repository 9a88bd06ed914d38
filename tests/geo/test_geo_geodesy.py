"""Geodesy: pyproj wrappers, and the local plane's documented error bound against Geod."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from seabridge.geo import LocalPlane, azimuth_deg, distance_m, forward, wrap_lon_deg
from seabridge.geo.geodesy import meridional_radius_m, prime_vertical_radius_m


def test_one_degree_of_latitude_at_the_equator() -> None:
    # The WGS-84 meridian arc from 0 to 1 deg N is 110,574.389 m (e.g. the "length of a
    # degree" table in Wikipedia's "Latitude", computed from the WGS-84 ellipsoid).
    assert float(distance_m(0.0, 0.0, 1.0, 0.0)) == pytest.approx(110_574.389, abs=0.01)


def test_radii_of_curvature_at_the_equator_and_pole() -> None:
    # M(0) = a(1 - e^2) = 6,335,439.327 m; N(0) = a; M(90) = N(90) = a / sqrt(1 - e^2).
    assert float(meridional_radius_m(0.0)) == pytest.approx(6_335_439.327, abs=1e-3)
    assert float(prime_vertical_radius_m(0.0)) == 6_378_137.0
    assert float(meridional_radius_m(90.0)) == pytest.approx(float(prime_vertical_radius_m(90.0)))


def test_forward_then_inverse_round_trip_and_broadcasting() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(-60, 60, 500)
    lon = rng.uniform(-180, 180, 500)
    az = rng.uniform(0, 360, 500)
    dist = rng.uniform(1, 500_000, 500)
    lat2, lon2 = forward(lat, lon, az, dist)
    assert np.all(np.abs(lon2) <= 180.0)
    np.testing.assert_allclose(distance_m(lat, lon, lat2, lon2), dist, rtol=0, atol=1e-6)
    back = azimuth_deg(lat, lon, lat2, lon2)
    assert np.all((back >= 0.0) & (back < 360.0))
    np.testing.assert_allclose(np.cos(np.radians(back - az)), 1.0, atol=1e-12)
    # Scalars broadcast against arrays; shapes are kept.
    assert distance_m(25.0, 123.0, lat.reshape(20, 25), lon.reshape(20, 25)).shape == (20, 25)
    assert distance_m(25.0, 123.0, 25.0, 123.0).shape == ()


def test_wrap_lon() -> None:
    np.testing.assert_array_equal(
        wrap_lon_deg([180.0, -180.0, 190.0, -190.0, 359.0]), [-180.0, -180.0, -170.0, 170.0, -1.0]
    )


def _pairs_within(
    plane: LocalPlane, radius_m: float, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Random point pairs, each point within radius_m (geodesic) of the plane's origin."""
    points: list[np.ndarray] = []
    for _ in range(2):
        az = rng.uniform(0, 360, count)
        dist = radius_m * np.sqrt(rng.uniform(0, 1, count))
        points.extend(forward(plane.lat0_deg, plane.lon0_deg, az, dist))
    return tuple(points)


@pytest.mark.parametrize("radius_km", [10, 50, 100])
def test_local_plane_error_is_within_its_documented_bound(radius_km: int) -> None:
    rng = np.random.default_rng(radius_km)
    radius_m = radius_km * 1000.0
    worst_ratio = 0.0
    for lat0 in [-60.0, -45.0, -12.5, 0.0, 3.0, 26.0, 30.0, 45.0, 59.9, 60.0]:
        plane = LocalPlane(lat0, float(rng.uniform(-180, 180)))
        lat1, lon1, lat2, lon2 = _pairs_within(plane, radius_m, 4000, rng)
        x1, y1 = plane.to_xy(lat1, lon1)
        x2, y2 = plane.to_xy(lat2, lon2)
        geodesic = distance_m(lat1, lon1, lat2, lon2)
        keep = geodesic > 1.0
        error = np.abs(np.hypot(x2 - x1, y2 - y1)[keep] / geodesic[keep] - 1.0)
        bound = plane.distance_error_bound(radius_m)
        assert error.max() <= bound, (lat0, error.max(), bound)
        if abs(lat0) >= 30.0:
            worst_ratio = max(worst_ratio, float(error.max() / bound))
    # The bound is not vacuous: random pairs come close to it.
    assert worst_ratio > 0.5


def test_local_plane_docstring_table_matches_the_bound() -> None:
    doc = LocalPlane.__doc__ or ""
    rows = re.findall(
        r"^\s*(\d+) km\s+([\d.e+-]+)\s+([\d.e+-]+)\s+([\d.e+-]+)\s+([\d.e+-]+)$", doc, re.M
    )
    assert len(rows) == 3
    for radius_km, *values in rows:
        for lat0, text in zip([0.0, 30.0, 45.0, 60.0], values, strict=True):
            bound = LocalPlane(lat0, 0.0).distance_error_bound(float(radius_km) * 1000.0)
            assert f"{bound:.1e}".replace("e-0", "e-") == text, (radius_km, lat0)


def test_local_plane_round_trip_and_axes() -> None:
    plane = LocalPlane(26.0, 124.0)
    lat, lon = np.array([26.0, 26.1, 25.9]), np.array([124.0, 124.0, 124.2])
    x, y = plane.to_xy(lat, lon)
    assert (x[0], y[0]) == (0.0, 0.0)
    assert x[1] == 0.0 and y[1] > 0.0  # north is +y
    assert x[2] > 0.0 and y[2] < 0.0  # east is +x
    back_lat, back_lon = plane.to_latlon(x, y)
    np.testing.assert_allclose(back_lat, lat, atol=1e-12)
    np.testing.assert_allclose(back_lon, lon, atol=1e-12)


def test_local_plane_across_the_antimeridian() -> None:
    plane = LocalPlane(-17.0, 179.95)
    lat, lon = np.array([-17.0, -16.9]), np.array([-179.95, 179.9])
    x, y = plane.to_xy(lat, lon)
    geodesic = distance_m(-17.0, 179.95, lat, lon)
    assert x[0] > 0.0 and x[1] < 0.0
    np.testing.assert_allclose(np.hypot(x, y), geodesic, rtol=plane.distance_error_bound(20_000))
    back_lat, back_lon = plane.to_latlon(x, y)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-12)


def test_local_plane_refuses_polar_origins_and_bad_radii() -> None:
    with pytest.raises(ValueError, match="latitude"):
        LocalPlane(86.0, 0.0)
    with pytest.raises(ValueError, match="longitude"):
        LocalPlane(0.0, math.nan)
    with pytest.raises(ValueError, match="radius_m"):
        LocalPlane(0.0, 0.0).distance_error_bound(600_000.0)
    assert LocalPlane(85.0, 0.0).distance_error_bound(500_000.0) > 1.0  # useless, but finite
