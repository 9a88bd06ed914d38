"""Named point features (islands, rocks, platforms) and geodesic distances to them.

A feature file is a GeoJSON FeatureCollection of Point features ([lon, lat] degrees) whose
``properties`` are::

    id        str, letters/digits/. _ -       "uotsuri"
    kind      str, lower_snake_case             "island", "rock", "platform", ...
    names     {lang: name}, "en" required       {"en": "...", "ja": "...", "zh": "..."}
    source    str, where the position comes from
    verified  true / false
    note      str, optional (default "")
    ...       any other property (e.g. area_km2) is kept in Feature.properties

Disputed features carry every name (en, ja and zh at least); :meth:`Feature.missing_names`
reports the missing ones so a pack test can insist on all three. This module parses and
measures; it must not open files or decide which names to show.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely.geometry import Point

from seabridge.errors import PackError
from seabridge.geo import geodesy
from seabridge.geo._fields import all_names, check_bool, check_id, check_names, check_text
from seabridge.units import M_PER_NM

__all__ = ["DISPLAY_LANGS", "Feature", "distances_nm", "features_from_geojson"]

DISPLAY_LANGS = ("en", "ja", "zh")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,49}")
_KNOWN = ("id", "kind", "names", "source", "verified", "note")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """A named point feature at (lat, lon) degrees, with its source and verification flag.

    Raises:
        PackError: on construction, naming the feature id and the field, when a field is
            invalid.
    """

    id: str
    kind: str
    names: Mapping[str, str]
    lon: float
    lat: float
    source: str
    verified: bool
    note: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        what = f"feature {self.id!r}"
        check_id(self.id, what)
        if not isinstance(self.kind, str) or not _KIND.fullmatch(self.kind):
            raise PackError(
                f"{what}: field 'kind': {self.kind!r} is not a kind like 'island' or 'platform'"
            )
        object.__setattr__(self, "names", check_names(self.names, what))
        if not (_is_number(self.lon) and -180.0 <= self.lon <= 180.0):
            raise PackError(f"{what}: field 'lon': {self.lon!r} is not in [-180, 180]")
        if not (_is_number(self.lat) and -90.0 <= self.lat <= 90.0):
            raise PackError(f"{what}: field 'lat': {self.lat!r} is not in [-90, 90]")
        check_text(self.source, what, "source")
        check_bool(self.verified, what, "verified")
        check_text(self.note, what, "note", required=False)
        object.__setattr__(self, "lon", float(self.lon))
        object.__setattr__(self, "lat", float(self.lat))
        object.__setattr__(self, "properties", dict(self.properties))

    @property
    def point(self) -> Point:
        """The feature as a shapely Point (lon, lat)."""
        return Point(self.lon, self.lat)

    def all_names(self, sep: str = " / ") -> str:
        """Every name, English first: e.g. "Uotsuri-shima / 魚釣島 / 钓鱼岛"."""
        return all_names(self.names, sep)

    def missing_names(self, langs: Sequence[str] = DISPLAY_LANGS) -> tuple[str, ...]:
        """The languages in ``langs`` the feature has no name in."""
        return tuple(lang for lang in langs if lang not in self.names)


def _parse_feature(item: object, where: str) -> Feature:
    if not isinstance(item, Mapping) or item.get("type") != "Feature":
        raise PackError(f'{where}: expected a GeoJSON object with "type": "Feature"')
    props = item.get("properties")
    if not isinstance(props, Mapping):
        raise PackError(f'{where}: "properties" must be an object with the feature fields')
    feature_id = props.get("id")
    what = f"{where} (feature {feature_id!r})" if isinstance(feature_id, str) else where
    for name in ("id", "kind", "names", "source", "verified"):
        if name not in props:
            raise PackError(f"{what}: field {name!r} is missing")
    geometry = item.get("geometry")
    coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if (
        not isinstance(geometry, Mapping)
        or geometry.get("type") != "Point"
        or not isinstance(coords, list)
        or len(coords) not in (2, 3)
        or not all(_is_number(value) for value in coords)
    ):
        raise PackError(f"{what}: field 'geometry': expected a Point with [lon, lat]")
    try:
        return Feature(
            id=props["id"],
            kind=props["kind"],
            names=props["names"],
            lon=float(coords[0]),
            lat=float(coords[1]),
            source=props["source"],
            verified=props["verified"],
            note=props.get("note", ""),
            properties={key: value for key, value in props.items() if key not in _KNOWN},
        )
    except PackError as error:
        raise PackError(f"{where}: {error}") from None


def features_from_geojson(data: object, *, source_name: str) -> list[Feature]:
    """Features from a GeoJSON FeatureCollection of Points (format in the module docstring).

    Raises:
        PackError: naming ``source_name``, the feature index, the feature id and the field.
    """
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise PackError(
            f'{source_name}: expected a GeoJSON object with "type": "FeatureCollection"'
        )
    items = data.get("features")
    if not isinstance(items, list):
        raise PackError(f'{source_name}: "features" must be a list')
    features: list[Feature] = []
    seen: set[str] = set()
    for number, item in enumerate(items):
        feature = _parse_feature(item, f"{source_name}: feature {number}")
        if feature.id in seen:
            raise PackError(
                f"{source_name}: feature {number} (feature {feature.id!r}): field 'id': "
                "the id is used twice"
            )
        seen.add(feature.id)
        features.append(feature)
    return features


def distances_nm(features: Iterable[Feature], lat: float, lon: float) -> dict[str, float]:
    """Geodesic (WGS-84) distance in nautical miles from (lat, lon) to each feature."""
    chosen = list(features)
    if not chosen:
        return {}
    lats = np.array([feature.lat for feature in chosen])
    lons = np.array([feature.lon for feature in chosen])
    meters = geodesy.distance_m(lat, lon, lats, lons)
    return {
        feature.id: float(value) for feature, value in zip(chosen, meters / M_PER_NM, strict=True)
    }
