"""Geometry the simulator needs beyond :mod:`seabridge.geo`: steering vectors, routes,
lane offsets, patrol loops, fishing cells and anchorage berths.

Steering uses a flat local approximation (metres per degree at the vessel's latitude, the
usual series for WGS-84), accurate to well under 1 % over the few nautical miles a
behaviour looks ahead; positions themselves always move on the ellipsoid
(:mod:`seabridge.sim.motion`). Lane offsets are geodesic (mitred at the vertices); loops and
cells are built on :class:`seabridge.geo.LocalPlane` around the area they belong to.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LinearRing, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from seabridge.geo import LocalPlane, azimuth_deg, distance_m, forward

__all__ = [
    "Route",
    "cells_in",
    "flat_vector_m",
    "from_plane",
    "loop_around",
    "m_per_deg",
    "offset_route",
    "plane_for",
    "points_in",
    "to_plane",
]

F64 = NDArray[np.float64]


def m_per_deg(lat_deg: float | F64) -> tuple[F64, F64]:
    """Metres per degree of latitude and of longitude at ``lat_deg`` (WGS-84 series)."""
    phi = np.radians(lat_deg)
    per_lat = 111_132.954 - 559.822 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    per_lon = 111_412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi)
    return np.asarray(per_lat), np.asarray(per_lon)


def flat_vector_m(
    lat1: float | F64, lon1: float | F64, lat2: float | F64, lon2: float | F64
) -> tuple[F64, F64]:
    """(east, north) metres from point 1 to point 2 on the flat approximation at point 1."""
    per_lat, per_lon = m_per_deg(lat1)
    dlon = (np.asarray(lon2) - np.asarray(lon1) + 540.0) % 360.0 - 180.0
    return dlon * per_lon, (np.asarray(lat2) - np.asarray(lat1)) * per_lat


def plane_for(geometry: BaseGeometry) -> LocalPlane:
    """A local plane centred on a geometry (lon/lat degrees)."""
    centre = geometry.centroid
    return LocalPlane(float(centre.y), float(centre.x))


def to_plane(geometry: BaseGeometry, plane: LocalPlane) -> BaseGeometry:
    """A lon/lat geometry on a local plane (metres)."""

    def transform(coords: F64) -> F64:
        x, y = plane.to_xy(coords[:, 1], coords[:, 0])
        return np.column_stack([x, y])

    return shapely.transform(geometry, transform)


def from_plane(geometry: BaseGeometry, plane: LocalPlane) -> BaseGeometry:
    """A plane geometry (metres) back to lon/lat degrees."""

    def transform(coords: F64) -> F64:
        lat, lon = plane.to_latlon(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, transform)


class Route:
    """A polyline (lat/lon degrees) with geodesic lengths, for placing vessels along it."""

    def __init__(self, lat: F64, lon: F64) -> None:
        if lat.size < 2:
            raise ValueError("a route needs at least two points")
        self.lat = np.asarray(lat, dtype=np.float64)
        self.lon = np.asarray(lon, dtype=np.float64)
        legs = distance_m(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])
        self.cumulative_m = np.concatenate([[0.0], np.cumsum(legs)])

    @property
    def length_m(self) -> float:
        return float(self.cumulative_m[-1])

    def at(self, progress_m: F64) -> tuple[F64, F64, NDArray[np.intp]]:
        """Positions at distances along the route (clipped to it), and the index of the
        waypoint ahead of each."""
        progress = np.clip(np.asarray(progress_m, dtype=np.float64), 0.0, self.length_m)
        leg = np.clip(np.searchsorted(self.cumulative_m, progress, side="right") - 1, 0, None)
        leg = np.minimum(leg, self.lat.size - 2)
        span = self.cumulative_m[leg + 1] - self.cumulative_m[leg]
        share = np.where(span > 0, (progress - self.cumulative_m[leg]) / np.maximum(span, 1e-9), 0)
        lat = self.lat[leg] + share * (self.lat[leg + 1] - self.lat[leg])
        lon = self.lon[leg] + share * (self.lon[leg + 1] - self.lon[leg])
        return lat, lon, (leg + 1).astype(np.intp)

    def course_at(self, ahead: NDArray[np.intp]) -> F64:
        """Course (deg) of the leg ending at waypoint index ``ahead``."""
        return azimuth_deg(
            self.lat[ahead - 1], self.lon[ahead - 1], self.lat[ahead], self.lon[ahead]
        )


def offset_route(lat: F64, lon: F64, offset_m: float) -> tuple[F64, F64]:
    """The polyline shifted ``offset_m`` to the right of its direction (left if negative),
    geodesically: each vertex moves along the bisector, mitred so the legs stay parallel."""
    if offset_m == 0.0:
        return lat.copy(), lon.copy()
    size = lat.size
    forward_az = azimuth_deg(lat[:-1], lon[:-1], lat[1:], lon[1:])
    back_az = (azimuth_deg(lat[1:], lon[1:], lat[:-1], lon[:-1]) + 180.0) % 360.0
    incoming = np.concatenate([[forward_az[0]], back_az])
    outgoing = np.concatenate([forward_az, [back_az[-1]]])
    half = ((outgoing - incoming + 540.0) % 360.0 - 180.0) / 2.0
    normal = (incoming + half + 90.0) % 360.0
    stretch = 1.0 / np.maximum(np.cos(np.radians(half)), 0.3)
    new_lat, new_lon = forward(lat, lon, np.full(size, normal), offset_m * stretch)
    return new_lat, new_lon


def _part_near(geometry: Polygon | MultiPolygon, lat: float, lon: float) -> Polygon:
    if isinstance(geometry, Polygon):
        return geometry
    parts = list(geometry.geoms)
    here = shapely.Point(lon, lat)
    distances = [part.distance(here) for part in parts]
    return parts[int(np.argmin(distances))]


def loop_around(
    geometry: Polygon | MultiPolygon,
    offset_m: float,
    near_lat: float,
    near_lon: float,
    clockwise: bool,
    spacing_m: float = 1500.0,
) -> tuple[F64, F64]:
    """A closed patrol loop ``offset_m`` outside the boundary of the zone part nearest to
    (near_lat, near_lon) (inside when negative), as waypoints about ``spacing_m`` apart
    starting at the one nearest to that point.

    Raises:
        ValueError: the offset leaves nothing (a loop inside a zone narrower than it).
    """
    part = Polygon(_part_near(geometry, near_lat, near_lon).exterior)
    plane = plane_for(part)
    flat = to_plane(part, plane)
    grown = flat.buffer(offset_m, quad_segs=16) if offset_m else flat
    if grown.is_empty:
        raise ValueError(f"an offset of {offset_m:.0f} m leaves no loop inside the zone")
    if isinstance(grown, MultiPolygon):
        grown = max(grown.geoms, key=lambda item: item.area)
    assert isinstance(grown, Polygon)
    ring = LinearRing(grown.exterior.coords)
    count = max(8, math.ceil(ring.length / spacing_m))
    points = shapely.line_interpolate_point(ring, np.linspace(0.0, ring.length, count + 1)[:-1])
    xy = shapely.get_coordinates(points)
    if ring.is_ccw == clockwise:
        xy = xy[::-1]
    near_x, near_y = plane.to_xy(near_lat, near_lon)
    first = int(np.argmin(np.hypot(xy[:, 0] - near_x, xy[:, 1] - near_y)))
    xy = np.roll(xy, -first, axis=0)
    lat, lon = plane.to_latlon(xy[:, 0], xy[:, 1])
    return np.asarray(lat), np.asarray(lon)


def cells_in(geometry: Polygon | MultiPolygon, cell_m: float) -> tuple[F64, F64, F64, F64]:
    """The square cells of a ``cell_m`` grid that lie wholly inside an area, as boxes
    (south, west, north, east) in degrees, in a fixed order (rows south to north)."""
    plane = plane_for(geometry)
    flat = to_plane(geometry, plane)
    xmin, ymin, xmax, ymax = flat.bounds
    # Centre the grid in the bounds, so a circle or box a little over a cell wide holds one.
    xs = np.arange(xmin + ((xmax - xmin) % cell_m) / 2, xmax - cell_m + 1e-6, cell_m)
    ys = np.arange(ymin + ((ymax - ymin) % cell_m) / 2, ymax - cell_m + 1e-6, cell_m)
    if xs.size == 0 or ys.size == 0:
        empty = np.empty(0)
        return empty, empty, empty, empty
    grid_x, grid_y = np.meshgrid(xs, ys)
    x0, y0 = grid_x.ravel(), grid_y.ravel()
    boxes = shapely.box(x0, y0, x0 + cell_m, y0 + cell_m)
    inside = shapely.contains(flat, boxes)
    x0, y0 = x0[inside], y0[inside]
    south, west = plane.to_latlon(x0, y0)
    north, east = plane.to_latlon(x0 + cell_m, y0 + cell_m)
    return np.asarray(south), np.asarray(west), np.asarray(north), np.asarray(east)


def points_in(geometry: Polygon | MultiPolygon, spacing_m: float) -> tuple[F64, F64]:
    """Points of a ``spacing_m`` square grid inside an area, in a fixed order."""
    plane = plane_for(geometry)
    flat = to_plane(geometry, plane)
    xmin, ymin, xmax, ymax = flat.bounds
    xs = np.arange(xmin + spacing_m / 2, xmax, spacing_m)
    ys = np.arange(ymin + spacing_m / 2, ymax, spacing_m)
    grid_x, grid_y = np.meshgrid(xs, ys)
    x, y = grid_x.ravel(), grid_y.ravel()
    inside = shapely.contains_xy(flat, x, y)
    lat, lon = plane.to_latlon(x[inside], y[inside])
    return np.asarray(lat), np.asarray(lon)
