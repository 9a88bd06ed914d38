"""Geometry for Seabridge: WGS-84 geodesy, local planes, geodesic buffers, zones, features.

Everything is in degrees (lat, lon as arguments; GeoJSON [lon, lat] inside geometries) and
metres unless a name says otherwise (``_nm``, ``_deg``). Zones carry who declares them and
never assert sovereignty. This package may import only numpy, shapely, pyproj, pyarrow and
the ground floor (errors, units, config, packs); never typer, rich or another domain.
"""

from __future__ import annotations

from seabridge.geo._fields import all_names
from seabridge.geo.buffers import (
    DEFAULT_MAX_SEGMENT_M,
    belt,
    geodesic_buffer,
    union_buffer,
)
from seabridge.geo.derived import (
    BELT_NOTE,
    CONTIGUOUS_ZONE_NM,
    SAFETY_ZONE_M,
    TERRITORIAL_SEA_NM,
    buffer_zone,
    contiguous_zone_belt,
    derived_zones,
    safety_zones,
    territorial_sea_belt,
)
from seabridge.geo.features import DISPLAY_LANGS, Feature, distances_nm, features_from_geojson
from seabridge.geo.geodesy import LocalPlane, azimuth_deg, distance_m, forward, wrap_lon_deg
from seabridge.geo.packdata import load_features, load_zones
from seabridge.geo.zones import ZONE_KINDS, Zone, ZoneSet

__all__ = [
    "BELT_NOTE",
    "CONTIGUOUS_ZONE_NM",
    "DEFAULT_MAX_SEGMENT_M",
    "DISPLAY_LANGS",
    "SAFETY_ZONE_M",
    "TERRITORIAL_SEA_NM",
    "ZONE_KINDS",
    "Feature",
    "LocalPlane",
    "Zone",
    "ZoneSet",
    "all_names",
    "azimuth_deg",
    "belt",
    "buffer_zone",
    "contiguous_zone_belt",
    "derived_zones",
    "distance_m",
    "distances_nm",
    "features_from_geojson",
    "forward",
    "geodesic_buffer",
    "load_features",
    "load_zones",
    "safety_zones",
    "territorial_sea_belt",
    "union_buffer",
    "wrap_lon_deg",
]
