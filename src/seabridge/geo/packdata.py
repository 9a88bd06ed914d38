"""A pack's geometry: its features and its zones (declared plus derived), parsed by geo.

:mod:`seabridge.packs` only locates and reads files; this module turns the ``features``,
``zones`` and ``derived_zones`` files of a pack into :class:`~seabridge.geo.Feature` objects
and one :class:`~seabridge.geo.ZoneSet`. Errors are PackError naming the file and field.
"""

from __future__ import annotations

from collections.abc import Sequence

from seabridge.geo.derived import derived_zones
from seabridge.geo.features import Feature, features_from_geojson
from seabridge.geo.zones import ZoneSet
from seabridge.packs import Pack

__all__ = ["load_features", "load_zones"]


def load_features(pack: Pack) -> list[Feature]:
    """The features of ``pack`` (its ``[files] features``)."""
    return features_from_geojson(pack.read_json("features"), source_name=str(pack.file("features")))


def load_zones(pack: Pack, features: Sequence[Feature] | None = None) -> ZoneSet:
    """The zones of ``pack``: its ``zones`` file plus the zones derived from its features."""
    declared = ZoneSet.from_geojson(pack.read_json("zones"), source_name=str(pack.file("zones")))
    zones = list(declared.zones)
    if "derived_zones" in pack.files:
        by_id = {feature.id: feature for feature in (features or load_features(pack))}
        spec = pack.read_toml("derived_zones")
        zones += derived_zones(spec, by_id, source_name=str(pack.file("derived_zones")))
    return ZoneSet(zones)
