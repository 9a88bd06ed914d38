"""Zone files: GeoJSON round trips, KML output, and parse errors that say where."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import shapely
from geo_fixtures import SENKAKU_POINTS, zone
from shapely.geometry import MultiPolygon, Polygon

from seabridge.errors import PackError
from seabridge.geo import ZoneSet, belt
from seabridge.units import nm_to_m

KML = "{http://www.opengis.net/kml/2.2}"
CLOCKWISE = Polygon([(123.0, 25.0), (123.0, 26.0), (124.0, 26.0), (124.0, 25.0)])


def _zones() -> ZoneSet:
    ring = belt(SENKAKU_POINTS, nm_to_m(12.0), nm_to_m(24.0))  # a polygon with holes
    return ZoneSet(
        [
            zone("ring", ring, kind="contiguous_zone_belt", note="12 < d <= 24 nm"),
            zone(
                "block",
                CLOCKWISE,
                kind="joint_development_zone",
                declared_by="CN+JP",
                names={"en": "A & B <block>", "ja": "共同開発区域", "zh": "共同开发区"},
                source='"Principled Consensus" 2008 & co',
                verified=False,
                note="<b>not</b> bold",
            ),
            zone("two", MultiPolygon([CLOCKWISE, Polygon([(125, 25), (126, 25), (126, 26)])])),
        ]
    )


def test_geojson_round_trip() -> None:
    zones = _zones()
    data = json.loads(json.dumps(zones.to_geojson()))  # plain JSON types only
    again = ZoneSet.from_geojson(data, source_name="zones.geojson")
    assert again.ids == zones.ids
    for before, after in zip(zones, again, strict=True):
        assert (before.kind, before.names, before.declared_by) == (
            after.kind,
            after.names,
            after.declared_by,
        )
        assert (before.source, before.verified, before.note) == (
            after.source,
            after.verified,
            after.note,
        )
        assert shapely.equals(before.geometry, after.geometry)
    assert again.to_geojson() == data  # the second trip is exact


def test_geojson_follows_rfc_7946() -> None:
    data = _zones().to_geojson()
    assert data["type"] == "FeatureCollection"
    for feature in data["features"]:
        assert set(feature) == {"type", "properties", "geometry"}
        assert list(feature["properties"]) == [
            "id", "kind", "names", "declared_by", "source", "verified", "note"
        ]  # fmt: skip
        polygons = feature["geometry"]["coordinates"]
        if feature["geometry"]["type"] == "Polygon":
            polygons = [polygons]
        for rings in polygons:
            exterior, *holes = (shapely.LinearRing(ring) for ring in rings)
            assert exterior.is_ccw and not any(hole.is_ccw for hole in holes)  # §3.1.6


def test_kml_lists_every_name_and_escapes_text() -> None:
    zones = _zones()
    text = zones.to_kml(document_name="ECS & more")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "A &amp; B &lt;block&gt;" in text
    root = ET.fromstring(text)
    assert root.tag == f"{KML}kml"
    assert root.findtext(f"{KML}Document/{KML}name") == "ECS & more"
    placemarks = root.findall(f"{KML}Document/{KML}Placemark")
    assert len(placemarks) == len(zones)
    block = placemarks[1]
    assert block.findtext(f"{KML}name") == "A & B <block> / 共同開発区域 / 共同开发区"
    description = block.findtext(f"{KML}description") or ""
    for line in ["en: A & B <block>", "ja: 共同開発区域", "zh: 共同开发区", "declared by: CN+JP"]:
        assert line in description.splitlines()
    assert "verified: no" in description and "note: <b>not</b> bold" in description
    data = {d.get("name"): d.findtext(f"{KML}value") for d in block.iter(f"{KML}Data")}
    assert (
        data["id"] == "block" and data["name:ja"] == "共同開発区域" and data["verified"] == "false"
    )


def _kml_polygon(element: ET.Element) -> Polygon:
    def ring(path: str) -> list[list[tuple[float, float]]]:
        rings = []
        for coords in element.findall(path):
            pairs = (item.split(",") for item in (coords.text or "").split())
            rings.append([(float(x), float(y)) for x, y in pairs])
        return rings

    outer = ring(f"{KML}outerBoundaryIs/{KML}LinearRing/{KML}coordinates")
    return Polygon(outer[0], ring(f"{KML}innerBoundaryIs/{KML}LinearRing/{KML}coordinates"))


def test_kml_coordinates_round_trip_exactly() -> None:
    zones = _zones()
    root = ET.fromstring(zones.to_kml())
    for z, placemark in zip(zones, root.iter(f"{KML}Placemark"), strict=True):
        parts = [_kml_polygon(p) for p in placemark.iter(f"{KML}Polygon")]
        geometry = parts[0] if len(parts) == 1 else MultiPolygon(parts)
        assert shapely.equals(geometry, z.geometry), z.id
        assert all(part.exterior.is_ccw for part in parts)


def _collection() -> dict[str, Any]:
    return _zones().to_geojson()


def _parse_error(data: Any) -> str:
    with pytest.raises(PackError) as caught:
        ZoneSet.from_geojson(data, source_name="zones.geojson")
    return str(caught.value)


def _with(change: Any) -> str:
    data = copy.deepcopy(_collection())
    change(data["features"][1])
    return _parse_error(data)


def test_parse_errors_name_the_file_feature_zone_and_field() -> None:
    where = "zones.geojson: feature 1 (zone 'block')"
    message = _with(lambda f: f["properties"].update(kind="eez"))
    assert message.startswith("zones.geojson: feature 1: zone 'block': field 'kind'")
    message = _with(lambda f: f["properties"].pop("declared_by"))
    assert message == f"{where}: field 'declared_by' is missing"
    message = _with(lambda f: f["properties"].update(colour="red"))
    assert message.startswith(f"{where}: unknown field(s) colour")
    message = _with(lambda f: f["geometry"]["coordinates"][0].pop())
    assert message.startswith(f"{where}: field 'geometry', ring 0: the ring is not closed")
    message = _with(lambda f: f["geometry"].update(type="LineString"))
    assert message.startswith(f"{where}: field 'geometry': expected type Polygon or MultiPolygon")
    message = _with(lambda f: f["geometry"]["coordinates"][0].__setitem__(1, ["123", 25.0]))
    assert message.startswith(f"{where}: field 'geometry', ring 0: expected a position")
    bow_tie = [[[123.0, 25.0], [124.0, 26.0], [124.0, 25.0], [123.0, 26.0], [123.0, 25.0]]]
    message = _with(lambda f: f["geometry"].update(coordinates=bow_tie))
    assert "feature 1: zone 'block': field 'geometry': not a valid polygon" in message
    message = _with(lambda f: f["properties"].update(id="ring"))
    assert message == "zones.geojson: zone 'ring': field 'id': the id is used twice"


def test_parse_errors_for_the_collection_itself() -> None:
    assert "FeatureCollection" in _parse_error({"type": "Feature"})
    assert '"features" must be a list' in _parse_error({"type": "FeatureCollection"})
    bad = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": None}]}
    assert _parse_error(bad).startswith('zones.geojson: feature 0: "properties" must be')
