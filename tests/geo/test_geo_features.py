"""Features: GeoJSON parsing with located errors, names, and distances via Geod."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from geo_fixtures import SENKAKU, senkaku_geojson

from seabridge.errors import PackError
from seabridge.geo import Feature, distance_m, distances_nm, features_from_geojson


def test_parse_the_eight_features() -> None:
    features = features_from_geojson(senkaku_geojson(), source_name="features.geojson")
    assert [f.id for f in features] == list(SENKAKU)
    uotsuri = features[0]
    assert (uotsuri.lat, uotsuri.lon) == SENKAKU["uotsuri"]
    assert uotsuri.kind == "island" and uotsuri.verified and uotsuri.note == ""
    assert uotsuri.properties == {"area_km2": 0.01}
    assert uotsuri.all_names() == "Uotsuri-shima / 魚釣島 / 钓鱼岛"
    assert uotsuri.point.x == uotsuri.lon and uotsuri.point.y == uotsuri.lat
    assert all(f.missing_names() == () for f in features)


def test_missing_names_are_reported_per_language() -> None:
    feature = Feature(
        id="x", kind="rock", names={"en": "X", "zh": "X"}, lon=123.0, lat=25.0, source="s",
        verified=False,
    )  # fmt: skip
    assert feature.missing_names() == ("ja",)


def _error(change: Any) -> str:
    data = copy.deepcopy(senkaku_geojson())
    change(data["features"][2])
    with pytest.raises(PackError) as caught:
        features_from_geojson(data, source_name="features.geojson")
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda f: f["properties"]["names"].pop("en"),
            "feature 'taisho': field 'names.en' is missing",
        ),
        (lambda f: f["properties"].pop("source"), "(feature 'taisho'): field 'source' is missing"),
        (lambda f: f["properties"].update(verified=1), "field 'verified': expected true or false"),
        (lambda f: f["properties"].update(kind="Island!"), "field 'kind'"),
        (lambda f: f["geometry"].update(type="Polygon"), "(feature 'taisho'): field 'geometry'"),
        (lambda f: f["geometry"].update(coordinates=[25.9, 124.6, 0, 1]), "field 'geometry'"),
        (lambda f: f["geometry"].update(coordinates=[124.6, 95.0]), "field 'lat'"),
        (
            lambda f: f["properties"].update(id="kuba"),
            "(feature 'kuba'): field 'id': the id is used twice",
        ),
    ],
)
def test_errors_name_the_file_feature_and_field(change: Any, expected: str) -> None:
    message = _error(change)
    assert message.startswith("features.geojson: feature 2")
    assert expected in message


def test_not_a_feature_collection() -> None:
    with pytest.raises(PackError, match=r"f\.geojson: expected a GeoJSON object"):
        features_from_geojson([], source_name="f.geojson")


def test_distances_in_nautical_miles_via_geod() -> None:
    features = features_from_geojson(senkaku_geojson(), source_name="features.geojson")
    lat, lon = 25.8, 123.6
    distances = distances_nm(features, lat, lon)
    assert list(distances) == list(SENKAKU)
    for feature in features:
        metres = float(distance_m(lat, lon, feature.lat, feature.lon))
        assert distances[feature.id] == pytest.approx(metres / 1852.0, rel=1e-12)
    assert distances_nm(features[:1], *SENKAKU["uotsuri"]) == {"uotsuri": 0.0}
    assert distances_nm([], 0.0, 0.0) == {}
    # Taisho lies ~110 km east of Uotsuri (PRC SOA: ~110 km; ecs-facts.md §1.1).
    assert distances_nm(features[2:3], *SENKAKU["uotsuri"])["taisho"] * 1.852 == pytest.approx(
        110, abs=2
    )
