"""Names in a scenario -> things: points, areas, zones, times, the pack's features and parties.

A scenario refers to pack features (``kuba``), its own named points, pack zones
(``senkaku-diaoyu-12nm``) and its own zones, and areas given as boxes, circles, polygons or
zone ids. :class:`Names` resolves each, and a name that resolves to nothing becomes a
:class:`~seabridge.sim.scenario.ScenarioError` naming the file, the field path and what is
known. Pack files are read through :mod:`seabridge.geo` and :mod:`seabridge.packs`.
"""

from __future__ import annotations

from shapely.geometry import MultiPolygon, Point, Polygon

from seabridge import geo
from seabridge.errors import PackError
from seabridge.packs import Party, load_parties
from seabridge.sim import schema as s
from seabridge.sim.scenario import Scenario, ScenarioError
from seabridge.sim.situations import PlaneZone
from seabridge.sim.timespec import When
from seabridge.units import M_PER_NM

__all__ = ["Names"]

_MAX_DEPTH = 8


class Names:
    """Resolves the names of one scenario (its pack is read once, on construction)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.spec = scenario.spec
        self.start_ms = self.spec.start
        self.features: dict[str, tuple[float, float]] = {}
        self.zones: dict[str, Polygon | MultiPolygon] = {}
        self.parties: tuple[Party, ...] = ()
        self._plane_zones: dict[str, PlaneZone] = {}
        self._load_pack()

    def error(self, where: str, message: str) -> ScenarioError:
        return self.scenario.error(where, message)

    def _load_pack(self) -> None:
        pack = self.scenario.pack
        if pack is None:
            return
        try:
            if "features" in pack.files:
                features = geo.load_features(pack)
                self.features = {f.id: (f.lat, f.lon) for f in features}
                if "zones" in pack.files:
                    zones = geo.load_zones(pack, features)
                    self.zones = {zone.id: zone.geometry for zone in zones}
            if "parties" in pack.files:
                self.parties = load_parties(pack)
        except PackError as exc:
            raise self.error("pack", str(exc)) from None

    def add_zones(self) -> None:
        """The scenario's own zones, beside the pack's."""
        for number, zone in enumerate(self.spec.zones):
            if zone.id in self.zones:
                raise self.error(f"zones[{number}].id", f"zone {zone.id!r} is defined twice")
            self.zones[zone.id] = self.shape(zone, f"zones[{number}]")

    def time_s(self, when: When) -> float:
        return when.resolve_s(self.start_ms)

    def point(self, spec: s.PointSpec, where: str, depth: int = 0) -> tuple[float, float]:
        if isinstance(spec, s.LatLon):
            return spec.lat, spec.lon
        if isinstance(spec, s.Relative):
            lat, lon = self.point(spec.from_, f"{where}.from", depth + 1)
            lat2, lon2 = geo.forward(lat, lon, spec.bearing_deg, spec.range_nm * M_PER_NM)
            return float(lat2), float(lon2)
        if depth > _MAX_DEPTH:
            raise self.error(where, f"point {spec!r} refers to itself")
        if spec in self.spec.points:
            return self.point(self.spec.points[spec], f"points.{spec}", depth + 1)
        if spec in self.features:
            return self.features[spec]
        known = sorted(self.spec.points) + sorted(self.features)
        raise self.error(
            where,
            f"unknown point {spec!r}; known: {', '.join(known) or 'none'} "
            "(scenario points, then the pack's features)",
        )

    def zone(self, zone_id: str, where: str) -> Polygon | MultiPolygon:
        if zone_id not in self.zones:
            known = ", ".join(sorted(self.zones)) or "none"
            raise self.error(where, f"unknown zone {zone_id!r}; known: {known}")
        return self.zones[zone_id]

    def plane_zone(self, zone_id: str, where: str) -> PlaneZone:
        if zone_id not in self._plane_zones:
            self._plane_zones[zone_id] = PlaneZone.of(zone_id, self.zone(zone_id, where))
        return self._plane_zones[zone_id]

    def shape(self, spec: s.Shape | s.ZoneSpec, where: str) -> Polygon | MultiPolygon:
        if isinstance(spec, s.Shape) and spec.zone is not None:
            return self.zone(spec.zone, f"{where}.zone")
        if spec.box is not None:
            box = spec.box
            return Polygon(
                [
                    (box.west, box.south),
                    (box.east, box.south),
                    (box.east, box.north),
                    (box.west, box.north),
                ]
            )
        if spec.circle is not None:
            lat, lon = self.point(spec.circle.center, f"{where}.circle.center")
            return geo.geodesic_buffer(Point(lon, lat), spec.circle.radius_nm * M_PER_NM)
        assert spec.polygon is not None
        corners = [self.point(p, f"{where}.polygon[{i}]") for i, p in enumerate(spec.polygon)]
        polygon = Polygon([(lon, lat) for lat, lon in corners])
        if not polygon.is_valid:
            raise self.error(f"{where}.polygon", "the polygon crosses itself")
        return polygon
