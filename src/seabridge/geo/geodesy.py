"""WGS-84 geodesy: geodesic distance, azimuth and direct problem, and fast local planes.

The geodesic functions wrap :class:`pyproj.Geod` (Karney's algorithms, accurate to
nanometres) and are vectorized over numpy arrays; use them wherever a distance is reported.
:class:`LocalPlane` is a cheap equirectangular plane for kernels (pair screening, CPA) that
need many distances near one place; its error bound is documented and tested against Geod.

This module must not know about zones, vessels or packs: it is pure geometry on the
ellipsoid. Arguments are always in (lat, lon) order; angles in degrees, lengths in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

__all__ = [
    "GEOD",
    "WGS84_A_M",
    "WGS84_E2",
    "WGS84_F",
    "FloatArray",
    "LocalPlane",
    "azimuth_deg",
    "distance_m",
    "forward",
    "meridional_radius_m",
    "prime_vertical_radius_m",
    "wrap_lon_deg",
]

FloatArray = NDArray[np.float64]

# WGS-84 defining parameters: NIMA TR8350.2 (3rd ed., 2000), table 3.1.
WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
GEOD = Geod(ellps="WGS84")

# The smallest meridional radius of curvature, a(1 - e^2), at the equator.
_M_MIN_M = WGS84_A_M * (1.0 - WGS84_E2)
_MAX_PLANE_LAT_DEG = 85.0
_MAX_BOUND_RADIUS_M = 500_000.0


def _flat(*values: ArrayLike) -> tuple[list[FloatArray], tuple[int, ...]]:
    """Broadcast the arguments together; return them flattened (pyproj wants 1-D) + shape."""
    arrays = np.broadcast_arrays(*(np.asarray(value, dtype=np.float64) for value in values))
    shape = arrays[0].shape
    return [np.ascontiguousarray(array).reshape(-1) for array in arrays], shape


def wrap_lon_deg(lon_deg: ArrayLike) -> FloatArray:
    """Longitudes wrapped into [-180, 180)."""
    return np.asarray((np.asarray(lon_deg, dtype=np.float64) + 180.0) % 360.0 - 180.0)


def distance_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> FloatArray:
    """Geodesic distance on WGS-84 in metres, broadcast over the arguments (degrees)."""
    (la1, lo1, la2, lo2), shape = _flat(lat1, lon1, lat2, lon2)
    _, _, dist = GEOD.inv(lo1, la1, lo2, la2)
    return np.asarray(dist, dtype=np.float64).reshape(shape)


def azimuth_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> FloatArray:
    """Forward azimuth of the geodesic from point 1 to point 2, degrees clockwise from north.

    The result is in [0, 360). It is 0 for coincident points.
    """
    (la1, lo1, la2, lo2), shape = _flat(lat1, lon1, lat2, lon2)
    az12, _, _ = GEOD.inv(lo1, la1, lo2, la2)
    return np.asarray(np.asarray(az12, dtype=np.float64) % 360.0).reshape(shape)


def forward(
    lat: ArrayLike, lon: ArrayLike, azimuth_deg: ArrayLike, distance_m: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """The direct problem: the point ``distance_m`` from (lat, lon) along ``azimuth_deg``.

    Returns (lat2, lon2) in degrees, lon2 in [-180, 180].
    """
    (la, lo, az, dist), shape = _flat(lat, lon, azimuth_deg, distance_m)
    lon2, lat2, _ = GEOD.fwd(lo, la, az, dist)
    return (
        np.asarray(lat2, dtype=np.float64).reshape(shape),
        np.asarray(lon2, dtype=np.float64).reshape(shape),
    )


def meridional_radius_m(lat_deg: ArrayLike) -> FloatArray:
    """M: radius of curvature in the meridian, a(1-e^2)/(1-e^2 sin^2 lat)^(3/2)."""
    sin_lat = np.sin(np.radians(np.asarray(lat_deg, dtype=np.float64)))
    return np.asarray(_M_MIN_M / (1.0 - WGS84_E2 * sin_lat**2) ** 1.5)


def prime_vertical_radius_m(lat_deg: ArrayLike) -> FloatArray:
    """N: radius of curvature in the prime vertical, a/(1-e^2 sin^2 lat)^(1/2)."""
    sin_lat = np.sin(np.radians(np.asarray(lat_deg, dtype=np.float64)))
    return np.asarray(WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2))


@dataclass(frozen=True, slots=True)
class LocalPlane:
    """An equirectangular tangent plane at (lat0, lon0) with WGS-84 radii of curvature there.

    ``x = N0 cos(lat0) * dlon`` (east), ``y = M0 * dlat`` (north), in metres, with dlon
    wrapped into [-180, 180) so the plane works across the antimeridian. North is +y
    everywhere, so a course over ground maps to the plane without rotation.

    Error bound. The map's local scale factors at latitude lat are
    ``k_x = N0 cos(lat0) / (N cos lat)`` (east) and ``k_y = M0 / M`` (north). For any two
    points within geodesic distance R of the origin, the geodesic between them stays within
    that disc (small geodesic discs are convex), and every point of the disc lies within
    ``R / a(1-e^2)`` radians of latitude of lat0 (a meridian arc is the shortest way to change
    latitude). So the plane distance d_p and the geodesic distance d_g satisfy
    ``|d_p / d_g - 1| <= max |k - 1|`` over that latitude band (:meth:`distance_error_bound`).
    The east scale dominates: to first order the bound is ``tan|lat0| * R / 6,335 km``.
    Values of :meth:`distance_error_bound` (relative; tested against Geod on random pairs):

    ==========  =========  =========  =========  =========
    R           lat0 0     lat0 30    lat0 45    lat0 60
    ==========  =========  =========  =========  =========
    10 km       1.2e-6     9.1e-4     1.6e-3     2.7e-3
    50 km       3.1e-5     4.6e-3     8.0e-3     1.4e-2
    100 km      1.2e-4     9.3e-3     1.6e-2     2.8e-2
    ==========  =========  =========  =========  =========

    (Across the East China Sea, lat0 ~ 26-30 deg, 50 km: <= 0.5 %.) An origin beyond
    |lat0| = 85 deg is refused.
    """

    lat0_deg: float
    lon0_deg: float
    _kx_m_per_deg: float = field(init=False, repr=False)
    _ky_m_per_deg: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat0_deg) and abs(self.lat0_deg) <= _MAX_PLANE_LAT_DEG):
            raise ValueError(
                f"LocalPlane origin latitude {self.lat0_deg} is outside "
                f"[-{_MAX_PLANE_LAT_DEG}, {_MAX_PLANE_LAT_DEG}] deg"
            )
        if not math.isfinite(self.lon0_deg):
            raise ValueError(f"LocalPlane origin longitude {self.lon0_deg} is not finite")
        rad = math.pi / 180.0
        n0 = float(prime_vertical_radius_m(self.lat0_deg))
        m0 = float(meridional_radius_m(self.lat0_deg))
        object.__setattr__(self, "_kx_m_per_deg", n0 * math.cos(self.lat0_deg * rad) * rad)
        object.__setattr__(self, "_ky_m_per_deg", m0 * rad)

    def to_xy(self, lat: ArrayLike, lon: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Degrees to plane metres (x east, y north) relative to the origin."""
        lat_arr, lon_arr = np.broadcast_arrays(
            np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        )
        dlon = wrap_lon_deg(lon_arr - self.lon0_deg)
        return dlon * self._kx_m_per_deg, (lat_arr - self.lat0_deg) * self._ky_m_per_deg

    def to_latlon(self, x_m: ArrayLike, y_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Plane metres back to degrees; longitudes wrapped into [-180, 180)."""
        x_arr, y_arr = np.broadcast_arrays(
            np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        )
        lat = self.lat0_deg + y_arr / self._ky_m_per_deg
        return np.asarray(lat), wrap_lon_deg(self.lon0_deg + x_arr / self._kx_m_per_deg)

    def distance_error_bound(self, radius_m: float) -> float:
        """The bound on ``|d_plane / d_geodesic - 1|`` for two points within radius_m.

        See the class docstring for the derivation. Valid for radius_m <= 500 km (with
        |lat0| <= 85 deg the latitude band then stays within 89.6 deg of the equator).
        """
        if not 0.0 <= radius_m <= _MAX_BOUND_RADIUS_M:
            raise ValueError(f"radius_m {radius_m} is outside [0, {_MAX_BOUND_RADIUS_M}]")
        reach_deg = math.degrees(radius_m / _M_MIN_M)
        lo, hi = self.lat0_deg - reach_deg, self.lat0_deg + reach_deg
        # Both N cos(lat) and M are monotone in |lat|: the extremes are at the band's ends
        # or at the equator when the band contains it.
        lats = np.array([lo, hi, 0.0] if lo < 0.0 < hi else [lo, hi])
        rad = math.pi / 180.0
        parallel_m_per_deg = prime_vertical_radius_m(lats) * np.cos(lats * rad) * rad
        meridian_m_per_deg = meridional_radius_m(lats) * rad
        k_x = self._kx_m_per_deg / parallel_m_per_deg
        k_y = self._ky_m_per_deg / meridian_m_per_deg
        return float(max(np.max(np.abs(k_x - 1.0)), np.max(np.abs(k_y - 1.0))))
