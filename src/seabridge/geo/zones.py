"""Zones with claim metadata, and fast containment of many points in a set of zones.

A :class:`Zone` is a polygon in lon/lat degrees plus who declares it (``declared_by``: ISO
3166 state codes, or ``"geometric"`` for zones that are pure geometry such as a 12 nm belt
around a feature), its names in every language, its source and whether it is verified. A
zone never asserts sovereignty; it records a declaration or a measurement.

:class:`ZoneSet` answers "which zones contain these points" for millions of points with
shapely 2 array functions: an STRtree over the zones picks candidates, and each candidate
zone tests points through a prepared polygon behind a classified grid
(:mod:`seabridge.geo._raster`). GeoJSON (RFC 7946) and KML 2.2 reading and writing live in
:mod:`seabridge.geo._zonefile`. This module must not read files or know about packs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon

from seabridge.errors import PackError
from seabridge.geo import _zonefile
from seabridge.geo._fields import (
    all_names,
    check_bool,
    check_declared_by,
    check_id,
    check_names,
    check_text,
)
from seabridge.geo._raster import RasterIndex

__all__ = ["ZONE_KINDS", "Zone", "ZoneSet"]

ZONE_KINDS = (
    "territorial_sea_belt",
    "contiguous_zone_belt",
    "eez_claim",
    "baseline",
    "joint_development_zone",
    "safety_zone",
    "area_of_interest",
    "custom",
)
# Few enough points that one STRtree query beats building the per-zone grids.
_SMALL_BATCH = 256
# Below this share of the points' bounding box, a zone filters by its own box first.
_BOX_FILTER_SHARE = 0.25

BoolArray = NDArray[np.bool_]
IndexArray = NDArray[np.intp]


def _check_geometry(geometry: object, what: str) -> None:
    if not isinstance(geometry, Polygon | MultiPolygon):
        kind = getattr(geometry, "geom_type", type(geometry).__name__)
        raise PackError(f"{what}: field 'geometry': expected a Polygon or MultiPolygon, not {kind}")
    if geometry.is_empty:
        raise PackError(f"{what}: field 'geometry': the polygon is empty")
    coords = shapely.get_coordinates(geometry)
    if not np.all(np.isfinite(coords)):
        raise PackError(f"{what}: field 'geometry': a coordinate is not a finite number")
    if np.any(np.abs(coords[:, 0]) > 180.0) or np.any(np.abs(coords[:, 1]) > 90.0):
        raise PackError(
            f"{what}: field 'geometry': coordinates must be [lon, lat] with lon in "
            "[-180, 180] and lat in [-90, 90] (are lat and lon swapped?)"
        )
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        lon = shapely.get_coordinates(ring)[:, 0]
        if lon.max() - lon.min() > 180.0:
            raise PackError(
                f"{what}: field 'geometry': a ring spans {lon.max() - lon.min():.1f} deg of "
                "longitude, so it crosses the antimeridian; split the zone at 180 deg"
            )
    if not shapely.is_valid(geometry):
        reason = shapely.is_valid_reason(geometry)
        raise PackError(f"{what}: field 'geometry': not a valid polygon: {reason}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """One zone: a polygon (lon/lat degrees) and who declares it, with names and a source.

    Raises:
        PackError: on construction, naming the zone id and the field, when a field is
            invalid (see :data:`ZONE_KINDS`, :func:`check_names`, :func:`check_declared_by`;
            geometry must be a valid (Multi)Polygon that does not cross the antimeridian).
    """

    id: str
    kind: str
    names: Mapping[str, str]
    declared_by: str
    source: str
    verified: bool
    note: str = ""
    geometry: Polygon | MultiPolygon

    def __post_init__(self) -> None:
        what = f"zone {self.id!r}"
        check_id(self.id, what)
        if self.kind not in ZONE_KINDS:
            raise PackError(
                f"{what}: field 'kind': unknown kind {self.kind!r}; "
                f"expected one of {', '.join(ZONE_KINDS)}"
            )
        object.__setattr__(self, "names", check_names(self.names, what))
        check_declared_by(self.declared_by, what)
        check_text(self.source, what, "source")
        check_bool(self.verified, what, "verified")
        check_text(self.note, what, "note", required=False)
        _check_geometry(self.geometry, what)

    def all_names(self, sep: str = " / ") -> str:
        """Every name of the zone, English first (see :func:`all_names`)."""
        return all_names(self.names, sep)


def _coords(lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lat_arr = np.ascontiguousarray(lat, dtype=np.float64).reshape(-1)
    lon_arr = np.ascontiguousarray(lon, dtype=np.float64).reshape(-1)
    if lat_arr.shape != lon_arr.shape:
        raise ValueError(f"lat and lon differ in length: {lat_arr.size} and {lon_arr.size}")
    return lat_arr, lon_arr


class ZoneSet:
    """An ordered set of zones with unique ids and vectorized point containment.

    Containment excludes a zone's boundary and never contains NaN, like
    ``shapely.contains_xy``. Points are (lat, lon) degrees, one-dimensional arrays.
    """

    def __init__(self, zones: Iterable[Zone]) -> None:
        self._zones = tuple(zones)
        self._index: dict[str, int] = {}
        for number, zone in enumerate(self._zones):
            if zone.id in self._index:
                raise PackError(f"zone {zone.id!r}: field 'id': the id is used twice")
            self._index[zone.id] = number
        self._rasters: dict[int, RasterIndex] = {}
        self._tree: shapely.STRtree | None = None

    @classmethod
    def from_geojson(cls, data: Mapping[str, Any], *, source_name: str) -> ZoneSet:
        """Zones from a GeoJSON FeatureCollection (format: :mod:`seabridge.geo._zonefile`).

        Raises:
            PackError: naming ``source_name``, the feature index, the zone id and the field.
        """
        zones = []
        for number, fields in enumerate(_zonefile.parse_collection(data, source_name)):
            try:
                zones.append(Zone(**fields))
            except PackError as error:
                raise PackError(f"{source_name}: feature {number}: {error}") from None
        try:
            return cls(zones)
        except PackError as error:
            raise PackError(f"{source_name}: {error}") from None

    def to_geojson(self) -> dict[str, Any]:
        """An RFC 7946 FeatureCollection; exteriors counter-clockwise, holes clockwise."""
        return _zonefile.to_geojson(self._zones)

    def to_kml(self, *, document_name: str = "Seabridge zones") -> str:
        """A KML 2.2 document; each description lists the zone's names in all languages."""
        return _zonefile.to_kml(self._zones, document_name)

    @property
    def zones(self) -> tuple[Zone, ...]:
        return self._zones

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(zone.id for zone in self._zones)

    def __len__(self) -> int:
        return len(self._zones)

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._zones)

    def __contains__(self, zone_id: object) -> bool:
        return zone_id in self._index

    def __getitem__(self, zone_id: str) -> Zone:
        return self._zones[self.index(zone_id)]

    def index(self, zone_id: str) -> int:
        """The position of a zone in the set (its column in :meth:`contains_matrix`)."""
        try:
            return self._index[zone_id]
        except KeyError:
            raise KeyError(f"no zone {zone_id!r}; known: {', '.join(self._index)}") from None

    def _raster(self, number: int) -> RasterIndex:
        raster = self._rasters.get(number)
        if raster is None:
            raster = self._rasters[number] = RasterIndex(self._zones[number].geometry)
        return raster

    def _strtree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree([zone.geometry for zone in self._zones])
        return self._tree

    def contains(self, zone_id: str, lat: ArrayLike, lon: ArrayLike) -> BoolArray:
        """Whether each point is inside one zone."""
        lat_arr, lon_arr = _coords(lat, lon)
        number = self.index(zone_id)
        if lat_arr.size <= _SMALL_BATCH and number not in self._rasters:
            geometry = self._zones[number].geometry
            return np.asarray(shapely.contains_xy(geometry, lon_arr, lat_arr), dtype=np.bool_)
        return self._raster(number).contains(lon_arr, lat_arr)

    def membership(self, lat: ArrayLike, lon: ArrayLike) -> tuple[IndexArray, IndexArray]:
        """Every (point index, zone index) pair with the point inside the zone.

        Pairs are ordered by zone index, then point index. This is the fast form; see
        :meth:`zones_containing` for ids per point.
        """
        lat_arr, lon_arr = _coords(lat, lon)
        if lat_arr.size <= _SMALL_BATCH:
            return self._membership_small(lat_arr, lon_arr)
        return self._membership_large(lat_arr, lon_arr)

    def _membership_small(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[IndexArray, IndexArray]:
        if not self._zones or lat.size == 0:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        pairs = self._strtree().query(shapely.points(lon, lat), predicate="within")
        order = np.lexsort((pairs[0], pairs[1]))
        return pairs[0][order].astype(np.intp), pairs[1][order].astype(np.intp)

    def _membership_large(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[IndexArray, IndexArray]:
        bounds = _finite_bounds(lon, lat)
        if bounds is None or not self._zones:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        candidates = np.sort(self._strtree().query(shapely.box(*bounds)))
        box_area = max((bounds[2] - bounds[0]) * (bounds[3] - bounds[1]), 1e-300)
        points: list[IndexArray] = []
        numbers: list[IndexArray] = []
        for number in candidates.tolist():
            xmin, ymin, xmax, ymax = self._zones[number].geometry.bounds
            if (xmax - xmin) * (ymax - ymin) < _BOX_FILTER_SHARE * box_area:
                near = np.flatnonzero((lon > xmin) & (lon < xmax) & (lat > ymin) & (lat < ymax))
                hits = near[self._raster(number).contains(lon[near], lat[near])]
            else:
                hits = np.flatnonzero(self._raster(number).contains(lon, lat))
            points.append(hits)
            numbers.append(np.full(hits.size, number, dtype=np.intp))
        if not points:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        return np.concatenate(points), np.concatenate(numbers)

    def contains_matrix(self, lat: ArrayLike, lon: ArrayLike) -> BoolArray:
        """A dense (points x zones) boolean matrix; column j is zone ``self.zones[j]``."""
        lat_arr, lon_arr = _coords(lat, lon)
        point_index, zone_index = self.membership(lat_arr, lon_arr)
        matrix = np.zeros((lat_arr.size, len(self._zones)), dtype=np.bool_)
        matrix[point_index, zone_index] = True
        return matrix

    def zones_containing(self, lat: ArrayLike, lon: ArrayLike) -> list[tuple[str, ...]]:
        """For each point, the ids of the zones that contain it, in set order."""
        matrix = self.contains_matrix(lat, lon)
        if matrix.shape[0] == 0:
            return []
        if matrix.shape[1] == 0:
            return [() for _ in range(matrix.shape[0])]
        packed = np.packbits(matrix, axis=1)
        combos, inverse = np.unique(packed, axis=0, return_inverse=True)
        ids = np.array(self.ids, dtype=object)
        unpacked = np.unpackbits(combos, axis=1, count=len(self._zones)).astype(np.bool_)
        labels = np.empty(len(combos), dtype=object)
        labels[:] = [tuple(ids[row].tolist()) for row in unpacked]
        result: list[tuple[str, ...]] = labels[inverse.reshape(-1)].tolist()
        return result


def _finite_bounds(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[float, float, float, float] | None:
    """The bounding box of the finite points, clipped to the globe; None if there are none."""
    bounds = (
        float(np.fmin.reduce(lon, initial=math.inf)),
        float(np.fmin.reduce(lat, initial=math.inf)),
        float(np.fmax.reduce(lon, initial=-math.inf)),
        float(np.fmax.reduce(lat, initial=-math.inf)),
    )
    xmin, ymin = max(bounds[0], -180.0), max(bounds[1], -90.0)
    xmax, ymax = min(bounds[2], 180.0), min(bounds[3], 90.0)
    if not (xmin <= xmax and ymin <= ymax):
        return None
    return xmin, ymin, xmax, ymax
