"""Zones: validation errors that name the zone, and containment against a shapely oracle."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from geo_fixtures import SENKAKU, SENKAKU_POINTS, random_points, zone
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon

from seabridge.errors import PackError
from seabridge.geo import ZoneSet, belt, geodesic_buffer
from seabridge.geo._raster import RasterIndex
from seabridge.units import nm_to_m

SQUARE = Polygon([(123.0, 25.0), (124.0, 25.0), (124.0, 26.0), (123.0, 26.0)])


def _zone_set() -> ZoneSet:
    """A representative set: belts, a concave 7-vertex polygon, a box, small circles, a hole."""
    twelve, twenty_four = nm_to_m(12.0), nm_to_m(24.0)
    block = Polygon(
        [(123.2, 25.6), (123.9, 25.55), (124.3, 25.8), (124.0, 26.0), (123.8, 25.75),
         (123.5, 26.1), (123.1, 25.9)]
    )  # fmt: skip
    circles = [
        geodesic_buffer(Point(lon, lat), 500.0)
        for lat, lon in [
            (25.6, 123.3),
            (25.7, 123.9),
            (25.95, 124.2),
            (26.1, 124.8),
            *[SENKAKU["kuba"]],
        ]
    ]
    holed = Polygon(
        [(124.0, 25.5), (125.0, 25.5), (125.0, 26.2), (124.0, 26.2)],
        [[(124.3, 25.7), (124.7, 25.7), (124.7, 26.0), (124.3, 26.0)]],
    )
    zones = [
        zone("belt-12", belt(SENKAKU_POINTS, 0.0, twelve), kind="territorial_sea_belt"),
        zone("ring-24", belt(SENKAKU_POINTS, twelve, twenty_four), kind="contiguous_zone_belt"),
        zone("block", block, kind="joint_development_zone", declared_by="CN+JP"),
        zone("aoi", Polygon([(120, 22), (130, 22), (130, 33), (120, 33)]), kind="area_of_interest"),
        zone("holed", holed),
        zone(
            "two-parts",
            MultiPolygon([SQUARE, Polygon([(124.5, 25.9), (124.9, 25.9), (124.9, 26.1)])]),
        ),
        *[zone(f"platform-{n}", circle, kind="safety_zone") for n, circle in enumerate(circles)],
    ]
    return ZoneSet(zones)


ZONES = _zone_set()


def _oracle(zone_set: ZoneSet, lat: np.ndarray, lon: np.ndarray) -> list[tuple[str, ...]]:
    """One shapely.contains call per point and zone."""
    return [
        tuple(z.id for z in zone_set if shapely.contains(z.geometry, Point(x, y)))
        for y, x in zip(lat.tolist(), lon.tolist(), strict=True)
    ]


def _special_points() -> tuple[np.ndarray, np.ndarray]:
    """NaN, infinities, zone vertices and bounding-box corners."""
    vertices = np.concatenate([shapely.get_coordinates(z.geometry)[:8] for z in ZONES])
    corners = np.array([[b[0], b[1]] for b in (z.geometry.bounds for z in ZONES)])
    lon = np.concatenate([[math.nan, math.inf, 123.5, -math.inf], vertices[:, 0], corners[:, 0]])
    lat = np.concatenate([[25.7, 25.7, math.nan, 25.7], vertices[:, 1], corners[:, 1]])
    return lat, lon


@pytest.mark.parametrize("count", [0, 1, 100, 3000])
def test_containment_matches_a_per_point_oracle(count: int) -> None:
    lat, lon = random_points(count, seed=count)
    special_lat, special_lon = _special_points()
    lat, lon = np.concatenate([lat, special_lat]), np.concatenate([lon, special_lon])
    zones = ZoneSet(ZONES.zones)  # fresh: no grids built yet, whatever ran before
    expected = _oracle(zones, lat, lon)
    assert zones.zones_containing(lat, lon) == expected
    matrix = zones.contains_matrix(lat, lon)
    assert matrix.shape == (lat.size, len(zones))
    for column, zone_id in enumerate(zones.ids):
        wanted = np.array([zone_id in ids for ids in expected], dtype=bool)
        np.testing.assert_array_equal(matrix[:, column], wanted)
        np.testing.assert_array_equal(zones.contains(zone_id, lat, lon), wanted)
    points, zone_index = zones.membership(lat, lon)
    order = np.lexsort((points, zone_index))
    np.testing.assert_array_equal(order, np.arange(points.size))  # zone-major, then points


coordinate = st.tuples(st.floats(25.4, 26.3), st.floats(122.9, 125.1))


@settings(max_examples=30, deadline=None)
@given(st.lists(coordinate, max_size=400))
def test_containment_matches_the_oracle_on_any_points(points: list[tuple[float, float]]) -> None:
    lat = np.array([p[0] for p in points], dtype=np.float64)
    lon = np.array([p[1] for p in points], dtype=np.float64)
    assert ZONES.zones_containing(lat, lon) == _oracle(ZONES, lat, lon)


def test_many_copies_of_one_point() -> None:
    lat, lon = np.full(1000, 25.75), np.full(1000, 123.5)
    assert set(ZONES.zones_containing(lat, lon)) == {tuple(_oracle(ZONES, lat[:1], lon[:1])[0])}


@pytest.mark.parametrize("cells", [16, 1 << 12, 1 << 18])
def test_raster_index_is_exact_at_any_resolution(cells: int) -> None:
    lat, lon = random_points(100_000, seed=cells, lat_range=(25.3, 26.4), lon_range=(122.8, 125.2))
    for z in ZONES:
        index = RasterIndex(z.geometry, cells)
        np.testing.assert_array_equal(
            index.contains(lon, lat), shapely.contains_xy(z.geometry, lon, lat), err_msg=z.id
        )


def test_an_empty_set_contains_nothing() -> None:
    empty = ZoneSet([])
    lat, lon = random_points(300, seed=1)
    assert empty.zones_containing(lat, lon) == [()] * 300
    assert empty.contains_matrix(lat, lon).shape == (300, 0)


def test_lookup_and_argument_errors() -> None:
    assert "belt-12" in ZONES and ZONES["aoi"].kind == "area_of_interest"
    assert ZONES.index("ring-24") == 1 and len(ZONES) == len(ZONES.ids)
    with pytest.raises(KeyError, match="no zone 'nope'"):
        ZONES.contains("nope", [25.0], [123.0])
    with pytest.raises(ValueError, match="differ in length"):
        ZONES.membership([25.0, 25.1], [123.0])


def _error(**overrides: Any) -> str:
    with pytest.raises(PackError) as caught:
        zone("zone-x", overrides.pop("geometry", SQUARE), **overrides)
    return str(caught.value)


def test_a_zone_across_the_antimeridian_is_refused_by_name() -> None:
    wrapped = Polygon([(179.5, -17.0), (-179.5, -17.0), (-179.5, -16.0), (179.5, -16.0)])
    message = _error(geometry=wrapped)
    assert "zone 'zone-x'" in message and "'geometry'" in message and "antimeridian" in message


def test_an_invalid_polygon_is_refused_by_name_with_the_reason() -> None:
    bow_tie = Polygon([(123.0, 25.0), (124.0, 26.0), (124.0, 25.0), (123.0, 26.0)])
    message = _error(geometry=bow_tie)
    assert "zone 'zone-x'" in message and "not a valid polygon: Self-intersection" in message


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"kind": "eez"}, "kind", "unknown kind 'eez'"),
        ({"names": {"ja": "区域"}}, "names.en", "missing"),
        ({"names": {"en": ""}}, "names.en", "non-empty"),
        ({"names": {"en": "x", "Japanese": "y"}}, "names", "language tag"),
        ({"declared_by": "China"}, "declared_by", "ISO 3166"),
        ({"declared_by": "cn"}, "declared_by", "ISO 3166"),
        ({"verified": "yes"}, "verified", "true or false"),
        ({"source": " "}, "source", "non-empty"),
        ({"note": None}, "note", "string"),
        ({"id": "bad id"}, "id", "not an id"),
        ({"geometry": Point(123.0, 25.0)}, "geometry", "Polygon or MultiPolygon"),
        ({"geometry": Polygon()}, "geometry", "empty"),
        ({"geometry": Polygon([(25, 123), (26, 123), (26, 124)])}, "geometry", "swapped"),
    ],
)
def test_bad_fields_are_refused_naming_the_zone_and_field(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    message = _error(**overrides)
    zone_id = overrides.get("id", "zone-x")
    assert f"zone {zone_id!r}" in message and f"field '{field}'" in message and words in message


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(PackError, match="zone 'a': field 'id': the id is used twice"):
        ZoneSet([zone("a", SQUARE), zone("a", SQUARE)])


def test_names_are_kept_with_english_first() -> None:
    z = zone("z", SQUARE, names={"ja": "魚釣島", "en": "Uotsuri-shima", "zh": "钓鱼岛"})
    assert z.all_names() == "Uotsuri-shima / 魚釣島 / 钓鱼岛"
