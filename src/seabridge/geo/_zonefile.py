"""Zone files: GeoJSON (RFC 7946) in and out, KML 2.2 out.

A zone file is a GeoJSON FeatureCollection. Each feature's ``geometry`` is a Polygon or a
MultiPolygon in [lon, lat] degrees (a third, altitude, number is ignored) and its
``properties`` are exactly::

    id           str, letters/digits/. _ -          "senkaku-diaoyu-12nm"
    kind         one of seabridge.geo.ZONE_KINDS    "territorial_sea_belt"
    names        {lang: name}, "en" required        {"en": "...", "ja": "...", "zh": "..."}
    declared_by  ISO 3166 alpha-2 ("CN+JP" joint) or "geometric"
    source       str, where the data come from
    verified     true / false
    note         str, optional (default "")

Parsing checks the structure and the coordinates here; the field values are checked by
:class:`seabridge.geo.zones.Zone`. Errors name the file, the feature index, the zone id and
the field. This module converts formats only; it never opens files (callers pass parsed
JSON) and imports no zone class, so the zone model can use it without a cycle.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import shapely
from shapely.geometry import MultiPolygon, Polygon

from seabridge.errors import PackError

__all__ = ["KML_NS", "REQUIRED_FIELDS", "ZoneLike", "parse_collection", "to_geojson", "to_kml"]

KML_NS = "http://www.opengis.net/kml/2.2"
REQUIRED_FIELDS = ("id", "kind", "names", "declared_by", "source", "verified")
_FIELDS = (*REQUIRED_FIELDS, "note")


class ZoneLike(Protocol):
    """The zone fields the writers read (satisfied by :class:`seabridge.geo.zones.Zone`)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def names(self) -> Mapping[str, str]: ...
    @property
    def declared_by(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def verified(self) -> bool: ...
    @property
    def note(self) -> str: ...
    @property
    def geometry(self) -> Polygon | MultiPolygon: ...
    def all_names(self, sep: str = " / ") -> str: ...


def parse_collection(data: object, source_name: str) -> list[dict[str, Any]]:
    """The keyword arguments of one Zone per feature of a FeatureCollection."""
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise PackError(
            f'{source_name}: expected a GeoJSON object with "type": "FeatureCollection"'
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise PackError(f'{source_name}: "features" must be a list')
    return [
        _parse_feature(feature, f"{source_name}: feature {number}")
        for number, feature in enumerate(features)
    ]


def _parse_feature(feature: object, where: str) -> dict[str, Any]:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise PackError(f'{where}: expected a GeoJSON object with "type": "Feature"')
    properties = feature.get("properties")
    if not isinstance(properties, Mapping):
        raise PackError(f'{where}: "properties" must be an object with the zone fields')
    zone_id = properties.get("id")
    what = f"{where} (zone {zone_id!r})" if isinstance(zone_id, str) else where
    unknown = sorted(str(key) for key in properties if key not in _FIELDS)
    if unknown:
        raise PackError(
            f"{what}: unknown field(s) {', '.join(unknown)}; the fields are {', '.join(_FIELDS)}"
        )
    for name in REQUIRED_FIELDS:
        if name not in properties:
            raise PackError(f"{what}: field {name!r} is missing")
    fields = {name: properties[name] for name in _FIELDS if name in properties}
    fields["geometry"] = _parse_geometry(feature.get("geometry"), what)
    return fields


def _position(value: object, where: str) -> tuple[float, float]:
    if (
        isinstance(value, list | tuple)
        and len(value) in (2, 3)
        and all(_is_number(item) for item in value)
    ):
        return float(value[0]), float(value[1])
    raise PackError(f"{where}: expected a position [lon, lat], got {value!r:.60}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ring(value: object, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list) or len(value) < 4:
        raise PackError(f"{where}: a linear ring needs at least 4 positions")
    ring = [_position(item, where) for item in value]
    if ring[0] != ring[-1]:
        raise PackError(f"{where}: the ring is not closed (first and last positions differ)")
    return ring


def _polygon(value: object, where: str) -> Polygon:
    if not isinstance(value, list) or not value:
        raise PackError(f"{where}: a polygon is a non-empty list of linear rings")
    rings = [_ring(ring, f"{where}, ring {number}") for number, ring in enumerate(value)]
    return Polygon(rings[0], rings[1:])


def _parse_geometry(value: object, what: str) -> Polygon | MultiPolygon:
    where = f"{what}: field 'geometry'"
    if not isinstance(value, Mapping):
        raise PackError(f"{where}: expected a GeoJSON Polygon or MultiPolygon object")
    kind, coordinates = value.get("type"), value.get("coordinates")
    if kind == "Polygon":
        return _polygon(coordinates, where)
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise PackError(f"{where}: a MultiPolygon is a non-empty list of polygons")
        return MultiPolygon(
            [
                _polygon(part, f"{where}, polygon {number}")
                for number, part in enumerate(coordinates)
            ]
        )
    raise PackError(f"{where}: expected type Polygon or MultiPolygon, not {kind!r}")


def _rings(polygon: Polygon) -> list[list[list[float]]]:
    return [[[x, y] for x, y in ring.coords] for ring in (polygon.exterior, *polygon.interiors)]


def _geometry_json(geometry: Polygon | MultiPolygon) -> dict[str, Any]:
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)  # RFC 7946 §3.1.6
    if isinstance(oriented, Polygon):
        return {"type": "Polygon", "coordinates": _rings(oriented)}
    return {"type": "MultiPolygon", "coordinates": [_rings(part) for part in oriented.geoms]}


def to_geojson(zones: Sequence[ZoneLike]) -> dict[str, Any]:
    """A FeatureCollection of the zones, properties in the documented order."""
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": zone.id,
                "kind": zone.kind,
                "names": dict(zone.names),
                "declared_by": zone.declared_by,
                "source": zone.source,
                "verified": zone.verified,
                "note": zone.note,
            },
            "geometry": _geometry_json(zone.geometry),
        }
        for zone in zones
    ]
    return {"type": "FeatureCollection", "features": features}


def _kml_polygon(parent: ET.Element, polygon: Polygon) -> None:
    element = ET.SubElement(parent, "Polygon")
    for tag, rings in (
        ("outerBoundaryIs", [polygon.exterior]),
        ("innerBoundaryIs", polygon.interiors),
    ):
        for ring in rings:
            linear = ET.SubElement(ET.SubElement(element, tag), "LinearRing")
            coordinates = ET.SubElement(linear, "coordinates")
            coordinates.text = " ".join(f"{x!r},{y!r}" for x, y in ring.coords)


def _description(zone: ZoneLike) -> str:
    lines = [f"{lang}: {name}" for lang, name in zone.names.items()]
    lines += [
        f"kind: {zone.kind}",
        f"declared by: {zone.declared_by}",
        f"source: {zone.source}",
        f"verified: {'yes' if zone.verified else 'no'}",
    ]
    if zone.note:
        lines.append(f"note: {zone.note}")
    return "\n".join(lines)


def _placemark(document: ET.Element, zone: ZoneLike) -> None:
    placemark = ET.SubElement(document, "Placemark")
    ET.SubElement(placemark, "name").text = zone.all_names()
    ET.SubElement(placemark, "description").text = _description(zone)
    extended = ET.SubElement(placemark, "ExtendedData")
    values = {
        "id": zone.id,
        "kind": zone.kind,
        "declared_by": zone.declared_by,
        "source": zone.source,
        "verified": "true" if zone.verified else "false",
        "note": zone.note,
        **{f"name:{lang}": name for lang, name in zone.names.items()},
    }
    for key, value in values.items():
        ET.SubElement(ET.SubElement(extended, "Data", name=key), "value").text = value
    oriented = shapely.orient_polygons(zone.geometry, exterior_cw=False)
    if isinstance(oriented, Polygon):
        _kml_polygon(placemark, oriented)
    else:
        multi = ET.SubElement(placemark, "MultiGeometry")
        for part in oriented.geoms:
            _kml_polygon(multi, part)


def to_kml(zones: Sequence[ZoneLike], document_name: str) -> str:
    """A KML 2.2 document with one Placemark per zone (text is XML-escaped)."""
    root = ET.Element("kml", xmlns=KML_NS)
    document = ET.SubElement(root, "Document")
    ET.SubElement(document, "name").text = document_name
    for zone in zones:
        _placemark(document, zone)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
