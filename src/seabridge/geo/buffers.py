"""Geodesic buffers: the polygon of all points within a distance of a feature, on WGS-84.

A buffer is built from geodesic offsets (``pyproj.Geod.fwd``), never from a planar buffer in
degrees: a circle of radius D around a point is a ring of points exactly D away, at azimuths
close enough that every edge is at most ``max_segment_m`` long, so the edge's sag inside the
true circle is at most ``max_segment_m**2 / (8 D)`` (1.4 m at 12 nm with the default 500 m).
A line or a polygon's rings add, per (densified) segment, the band between the two offset
lines D to either side, and a circle at every original vertex; a polygon adds its own area.
Their union is the buffer: every vertex of its boundary lies at geodesic distance D (minus
the chord sag where two edges cross) from the feature.

Coordinates are (lon, lat) degrees as in GeoJSON; edges of input lines and polygons are
straight in lon/lat (RFC 7946 §3.1.1). A buffer that would cross the antimeridian or
contain a pole is refused. This module builds geometry only: it knows nothing of zones,
their kinds or claims.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from seabridge.geo import geodesy
from seabridge.geo.geodesy import GEOD, FloatArray, wrap_lon_deg

__all__ = [
    "DEFAULT_MAX_SEGMENT_M",
    "MIN_RING_VERTICES",
    "belt",
    "geodesic_buffer",
    "polygonal",
    "union_buffer",
]

DEFAULT_MAX_SEGMENT_M = 500.0
MIN_RING_VERTICES = 72
# An upper bound of the ground length of one degree of latitude or longitude on WGS-84
# (a degree of latitude is 111,694 m at the poles; of longitude 111,320 m at the equator).
_M_PER_DEG_MAX = 111_700.0


def polygonal(geometry: BaseGeometry, what: str = "geometry") -> Polygon | MultiPolygon:
    """The polygonal part of an overlay result (a Polygon or a MultiPolygon).

    Raises:
        ValueError: the geometry has no area.
    """
    if isinstance(geometry, Polygon | MultiPolygon) and not geometry.is_empty:
        return geometry
    parts = [part for part in shapely.get_parts(geometry) if isinstance(part, Polygon)]
    parts = [part for part in parts if not part.is_empty]
    if not parts:
        raise ValueError(f"{what} has no area ({geometry.geom_type})")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _check_args(distance_m_: float, max_segment_m: float) -> None:
    if not (math.isfinite(distance_m_) and distance_m_ > 0.0):
        raise ValueError(f"buffer distance {distance_m_} m must be a positive number")
    if not (math.isfinite(max_segment_m) and max_segment_m > 0.0):
        raise ValueError(f"max_segment_m {max_segment_m} must be a positive number")


def _decompose(
    geometry: BaseGeometry,
) -> tuple[list[Polygon], list[FloatArray], FloatArray]:
    """Split a geometry into areas, lines (coordinate arrays) and vertices (k x 2, lon/lat)."""
    if geometry.is_empty:
        raise ValueError("cannot buffer an empty geometry")
    coords = shapely.get_coordinates(geometry)
    if np.any(np.abs(coords[:, 0]) > 180.0) or np.any(np.abs(coords[:, 1]) > 90.0):
        raise ValueError("coordinates must be lon in [-180, 180] and lat in [-90, 90]")
    areas: list[Polygon] = []
    lines: list[FloatArray] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Point):
            continue
        if isinstance(part, Polygon):
            areas.append(part)
            rings = [part.exterior, *part.interiors]
            lines.extend(shapely.get_coordinates(ring) for ring in rings)
        elif isinstance(part, shapely.LineString):
            lines.append(shapely.get_coordinates(part))
        else:
            raise TypeError(f"cannot buffer a {part.geom_type}; give points, lines or polygons")
    for line in lines:
        if np.any(np.abs(np.diff(line[:, 0])) > 180.0):
            raise ValueError("the feature crosses the antimeridian; split it at 180 deg")
    return areas, lines, coords


def _polygon_list(rings: FloatArray) -> list[Polygon]:
    """One polygon per closed ring of a (k, n, 2) coordinate array."""
    return list(np.asarray(shapely.polygons(rings), dtype=object).reshape(-1))


def _unwrapped(lon: FloatArray, lon_ref: FloatArray) -> FloatArray:
    """Longitudes made continuous around a reference; refuse any beyond +-180."""
    out = lon_ref + wrap_lon_deg(lon - lon_ref)
    if np.any(np.abs(out) > 180.0):
        raise ValueError("the buffer crosses the antimeridian; split the feature at 180 deg")
    return out


def _circles(vertices: FloatArray, dist_m: float, max_segment_m: float) -> list[Polygon]:
    """A ring of points exactly dist_m away around every vertex (lon, lat)."""
    lon_c, lat_c = vertices[:, 0], vertices[:, 1]
    to_pole_m = geodesy.distance_m(lat_c, lon_c, np.copysign(90.0, lat_c), lon_c)
    if np.any(to_pole_m <= dist_m):
        raise ValueError(f"a {dist_m:.0f} m buffer would contain a pole; not supported")
    count = max(MIN_RING_VERTICES, math.ceil(2.0 * math.pi * dist_m / max_segment_m))
    azimuths = np.linspace(0.0, 360.0, count, endpoint=False)
    k = len(vertices)
    lon_in = np.repeat(lon_c, count)
    lon2, lat2, _ = GEOD.fwd(
        lon_in, np.repeat(lat_c, count), np.tile(azimuths, k), np.full(k * count, dist_m)
    )
    lon2 = _unwrapped(np.asarray(lon2), lon_in)
    rings = np.stack([lon2, np.asarray(lat2)], axis=1).reshape(k, count, 2)
    return _polygon_list(np.concatenate([rings, rings[:, :1]], axis=1))


def _bands(line: FloatArray, dist_m: float, max_segment_m: float) -> list[Polygon]:
    """Per densified segment, the quadrilateral between the offsets dist_m to either side."""
    dense = shapely.get_coordinates(
        shapely.segmentize(shapely.linestrings(line), max_segment_m / _M_PER_DEG_MAX)
    )
    a, b = dense[:-1], dense[1:]
    az_ab, az_ba, length_m = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    keep = np.asarray(length_m) > 0.0
    a, b = a[keep], b[keep]
    az_a = np.asarray(az_ab)[keep]
    az_b = np.asarray(az_ba)[keep] + 180.0
    if len(a) == 0:
        return []
    n = len(a)
    lon_in = np.concatenate([a[:, 0], b[:, 0], b[:, 0], a[:, 0]])
    lat_in = np.concatenate([a[:, 1], b[:, 1], b[:, 1], a[:, 1]])
    az_in = np.concatenate([az_a - 90.0, az_b - 90.0, az_b + 90.0, az_a + 90.0])
    lon2, lat2, _ = GEOD.fwd(lon_in, lat_in, az_in, np.full(4 * n, dist_m))
    lon2 = _unwrapped(np.asarray(lon2), lon_in)
    corners = np.stack([lon2, np.asarray(lat2)], axis=1).reshape(4, n, 2).transpose(1, 0, 2)
    return _polygon_list(np.concatenate([corners, corners[:, :1]], axis=1))


def geodesic_buffer(
    geometry: BaseGeometry, distance_m: float, *, max_segment_m: float = DEFAULT_MAX_SEGMENT_M
) -> Polygon | MultiPolygon:
    """All points within geodesic ``distance_m`` of a feature (lon/lat degrees).

    The feature may be a Point, a MultiPoint, a line or a (Multi)Polygon, or a collection of
    them. Disjoint parts give a MultiPolygon. Every boundary vertex of the result is within
    ``max_segment_m**2 / (8 * distance_m)`` of distance D from the feature (see the module
    docstring).

    Raises:
        ValueError: a non-positive distance or segment length, an empty geometry,
            coordinates out of range, or a buffer that would cross the antimeridian or
            contain a pole.
    """
    _check_args(distance_m, max_segment_m)
    areas, lines, vertices = _decompose(geometry)
    parts: list[Polygon] = [*areas, *_circles(vertices, distance_m, max_segment_m)]
    for line in lines:
        parts.extend(_bands(line, distance_m, max_segment_m))
    return polygonal(shapely.union_all(parts), "the buffer")


def union_buffer(
    points: Iterable[Point] | MultiPoint,
    distance_m: float,
    *,
    max_segment_m: float = DEFAULT_MAX_SEGMENT_M,
) -> Polygon | MultiPolygon:
    """The union of the geodesic buffers of points: all points within D of any of them."""
    multi = points if isinstance(points, MultiPoint) else MultiPoint(list(points))
    return geodesic_buffer(multi, distance_m, max_segment_m=max_segment_m)


def belt(
    features: Iterable[BaseGeometry] | BaseGeometry,
    inner_m: float,
    outer_m: float,
    *,
    max_segment_m: float = DEFAULT_MAX_SEGMENT_M,
) -> Polygon | MultiPolygon:
    """Points farther than ``inner_m`` from every feature but within ``outer_m`` of one.

    The union of the buffers at ``outer_m`` minus the union at ``inner_m``; with
    ``inner_m == 0`` only the features' own areas are removed (for points: nothing), so
    ``belt(f, 0, 12 nm)`` is "all waters within 12 nm" and ``belt(f, 12 nm, 24 nm)`` the ring
    beyond it: a point is in one of them, or in neither (boundaries aside).
    """
    if not (0.0 <= inner_m < outer_m):
        raise ValueError(f"belt needs 0 <= inner_m < outer_m, got {inner_m} and {outer_m}")
    if isinstance(features, BaseGeometry):
        collection: BaseGeometry = features
    else:
        collection = shapely.GeometryCollection(list(features))
    outer = geodesic_buffer(collection, outer_m, max_segment_m=max_segment_m)
    if inner_m > 0.0:
        inner: BaseGeometry = geodesic_buffer(collection, inner_m, max_segment_m=max_segment_m)
    else:
        inner = shapely.union_all(_decompose(collection)[0])
    if inner.is_empty:
        return outer
    return polygonal(shapely.difference(outer, inner), "the belt")
