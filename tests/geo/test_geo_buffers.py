"""Geodesic buffers and belts, checked against pyproj.Geod distances."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geo_fixtures import (
    SENKAKU,
    SENKAKU_LAT,
    SENKAKU_LON,
    SENKAKU_POINTS,
    min_distance_m,
    random_points,
)
from shapely.geometry import MultiPoint, Point, Polygon

from seabridge.geo import DEFAULT_MAX_SEGMENT_M, belt, distance_m, geodesic_buffer, union_buffer
from seabridge.units import nm_to_m

TOLERANCE_M = 10.0  # the bound for every boundary vertex
DISTANCES_M = [nm_to_m(12.0), nm_to_m(24.0)]  # UNCLOS art. 3 and art. 33(2)


def _boundary_lonlat(geometry: shapely.Geometry) -> np.ndarray:
    return shapely.get_coordinates(shapely.boundary(geometry))


def _sag_m(distance: float) -> float:
    """The documented worst chord sag of a ring edge."""
    return DEFAULT_MAX_SEGMENT_M**2 / (8.0 * distance)


@pytest.mark.parametrize("distance", DISTANCES_M)
def test_point_buffer_vertices_are_at_the_distance(distance: float) -> None:
    lat0, lon0 = SENKAKU["uotsuri"]
    buffer = geodesic_buffer(Point(lon0, lat0), distance)
    assert isinstance(buffer, Polygon) and buffer.is_valid
    coords = _boundary_lonlat(buffer)
    error = distance_m(lat0, lon0, coords[:, 1], coords[:, 0]) - distance
    assert np.abs(error).max() < 1e-3  # ring points are Geod.fwd results
    mid = (coords[1:] + coords[:-1]) / 2.0
    sag = distance - distance_m(lat0, lon0, mid[:, 1], mid[:, 0])
    assert sag.min() > 0.0
    assert sag.max() <= _sag_m(distance) * 1.01


@pytest.mark.parametrize("distance", DISTANCES_M)
def test_union_of_the_eight_features_vertices_are_at_the_distance(distance: float) -> None:
    buffer = geodesic_buffer(SENKAKU_POINTS, distance)
    assert buffer.is_valid
    coords = _boundary_lonlat(buffer)
    nearest = min_distance_m(coords[:, 1], coords[:, 0], SENKAKU_LAT, SENKAKU_LON)
    assert np.abs(nearest - distance).max() <= TOLERANCE_M
    # Tighter, from the construction: vertices where two rings cross sit inside by at most
    # the chord sag; all others exactly on D.
    assert (nearest - distance).max() < 1e-3
    assert (nearest - distance).min() >= -_sag_m(distance) * 1.01
    assert union_buffer([Point(p) for p in SENKAKU_POINTS.geoms], distance).equals(buffer)


def test_the_12nm_buffers_of_taisho_and_the_main_group_are_disjoint() -> None:
    parts = geodesic_buffer(SENKAKU_POINTS, nm_to_m(12.0))
    assert parts.geom_type == "MultiPolygon" and len(shapely.get_parts(parts)) == 2


def _dense_boundary(polygon: Polygon, step_deg: float) -> np.ndarray:
    return shapely.get_coordinates(shapely.segmentize(polygon.exterior, step_deg))


@pytest.mark.parametrize("distance", DISTANCES_M)
def test_polygon_buffer_vertices_are_at_the_distance(distance: float) -> None:
    # The PRC 2012 baseline polygon 2 around Chiwei Yu / Taisho (ecs-facts.md §1.2), a
    # small non-convex ring of 5 base points.
    dm = [(25, 55.3, 124, 33.7), (25, 55.2, 124, 33.2), (25, 55.3, 124, 33.3)]
    dm += [(25, 55.5, 124, 33.5), (25, 55.5, 124, 33.7)]
    polygon = Polygon([(lo + lo_m / 60, la + la_m / 60) for la, la_m, lo, lo_m in dm])
    assert polygon.is_valid
    buffer = geodesic_buffer(polygon, distance)
    assert buffer.is_valid and buffer.contains(polygon)
    coords = _boundary_lonlat(buffer)
    edge = _dense_boundary(polygon, 0.0001)  # ~10 m: distance to it overestimates < 1 mm
    nearest = min_distance_m(coords[:, 1], coords[:, 0], edge[:, 1], edge[:, 0])
    assert np.abs(nearest - distance).max() <= TOLERANCE_M


def test_polygon_with_a_hole_wider_than_twice_the_distance_keeps_part_of_it() -> None:
    outer = [(123.0, 25.0), (124.0, 25.0), (124.0, 26.0), (123.0, 26.0)]
    hole = [(123.2, 25.2), (123.8, 25.2), (123.8, 25.8), (123.2, 25.8)]
    buffer = geodesic_buffer(Polygon(outer, [hole]), 10_000.0)
    assert isinstance(buffer, Polygon) and len(buffer.interiors) == 1
    assert buffer.contains(Point(123.21, 25.5)) and not buffer.contains(Point(123.5, 25.5))


def test_belts_partition_the_sea_by_distance() -> None:
    inner_m, outer_m = DISTANCES_M
    twelve = belt(SENKAKU_POINTS, 0.0, inner_m)
    ring = belt(list(SENKAKU_POINTS.geoms), inner_m, outer_m)
    within_24 = geodesic_buffer(SENKAKU_POINTS, outer_m)
    lat, lon = random_points(20_000, seed=3)
    in_12 = shapely.contains_xy(twelve, lon, lat)
    in_ring = shapely.contains_xy(ring, lon, lat)
    outside = ~shapely.contains_xy(within_24, lon, lat)
    assert np.all(in_12.astype(int) + in_ring.astype(int) + outside.astype(int) == 1)
    # And by the Geod distance to the nearest feature, away from the boundaries.
    nearest = min_distance_m(lat, lon, SENKAKU_LAT, SENKAKU_LON)
    margin = _sag_m(inner_m) + 0.01
    assert np.all(in_12[nearest < inner_m - margin])
    assert np.all(in_ring[(nearest > inner_m) & (nearest < outer_m - margin)])
    assert np.all(outside[nearest > outer_m])
    assert not np.any(in_12[nearest > inner_m]) and not np.any(in_ring[nearest < inner_m - margin])
    assert min(int(in_12.sum()), int(in_ring.sum()), int(outside.sum())) > 1000


def test_a_belt_from_zero_removes_the_features_own_area() -> None:
    island = Polygon([(123.4, 25.7), (123.5, 25.7), (123.5, 25.8), (123.4, 25.8)])
    waters = belt([island], 0.0, 5_000.0)
    assert not waters.contains(Point(123.45, 25.75))
    assert waters.contains(Point(123.52, 25.75))


def test_bad_arguments_are_refused() -> None:
    point = Point(123.5, 25.7)
    with pytest.raises(ValueError, match="positive"):
        geodesic_buffer(point, 0.0)
    with pytest.raises(ValueError, match="max_segment_m"):
        geodesic_buffer(point, 100.0, max_segment_m=-1.0)
    with pytest.raises(ValueError, match="empty"):
        geodesic_buffer(MultiPoint(), 100.0)
    with pytest.raises(ValueError, match="inner_m < outer_m"):
        belt([point], 1000.0, 1000.0)
    with pytest.raises(ValueError, match="lon in"):
        geodesic_buffer(Point(25.7, 123.5), 100.0)  # lat/lon swapped
    nested = shapely.GeometryCollection([shapely.GeometryCollection([point])])
    with pytest.raises(TypeError, match="GeometryCollection"):
        geodesic_buffer(nested, 1.0)


def test_buffers_across_the_antimeridian_or_around_a_pole_are_refused() -> None:
    with pytest.raises(ValueError, match="antimeridian"):
        geodesic_buffer(Point(179.9, -17.0), nm_to_m(24.0))
    with pytest.raises(ValueError, match="antimeridian"):
        geodesic_buffer(shapely.LineString([(179.5, 0.0), (-179.5, 0.0)]), 1000.0)
    with pytest.raises(ValueError, match="pole"):
        geodesic_buffer(Point(0.0, 89.9), 50_000.0)
