"""The vocabulary of detection: parameters with units, rule specs, frames, findings, events.

Every rule kind declares a parameter table (:class:`ParamSpec`: name, unit, default, allowed
range, help). A rulebook gives values with units ("0.5 nm", "12 min", or a bare number in
the table's unit); :func:`to_unit` converts them once into the table's unit, which is also
the unit of the canonical form that the rulebook's SHA-256 covers.

At every tick the engine hands each rule a :class:`VesselFrame`: the latest state of every
vessel at the tick's data time, as numpy columns, with zone membership and party computed
once for all rules. A rule answers with :class:`Finding` objects keyed by what it watches
(a vessel, a pair, a vessel in a zone); the engine turns the appearance, change and
disappearance of keys into :class:`Event` records (open, update, closed, retracted), grades
their level, and names the rulebook on each.

This module holds data types only: no I/O, no clock, no rule logic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from seabridge.units import M_PER_NM, ms_to_iso

__all__ = [
    "DIMENSIONS",
    "LEVELS",
    "Event",
    "EventStatus",
    "Finding",
    "ParamSpec",
    "RulebookRef",
    "VesselFrame",
    "event_id",
    "metric_unit",
    "parse_quantity",
    "to_unit",
]

LEVELS = {1: "advisory", 2: "caution", 3: "warning", 4: "critical"}
EventStatus = Literal["open", "update", "closed", "retracted"]

# unit -> (dimension, factor to the dimension's base unit: m, s, kn, deg, 1)
DIMENSIONS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "nm": ("length", M_PER_NM),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "kn": ("speed", 1.0),
    "deg": ("angle", 1.0),
    "count": ("count", 1.0),
}
_QUANTITY = re.compile(r"^\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)\s*([a-z]+)?\s*$")

F64 = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of a rule kind: the table behind validation, CLI help and docs."""

    name: str
    unit: str
    default: float
    minimum: float
    maximum: float
    help: str

    def __post_init__(self) -> None:
        if self.unit not in DIMENSIONS:
            raise ValueError(f"parameter {self.name}: unknown unit {self.unit!r}")


def parse_quantity(value: object) -> tuple[float, str | None]:
    """``"0.5 nm"`` -> (0.5, "nm"); a bare number -> (number, None).

    Raises:
        ValueError: not a number with an optional unit.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match:
            return float(match.group(1)), match.group(2)
    raise ValueError(f"{value!r} is not a quantity such as '0.5 nm', '12 min' or 10")


def to_unit(value: object, unit: str) -> float:
    """A quantity converted to ``unit`` (a bare number is taken to be in ``unit``).

    Raises:
        ValueError: not a quantity, an unknown unit, or a unit of another dimension.
    """
    number, given = parse_quantity(value)
    if given is None or given == unit:
        return number
    if given not in DIMENSIONS:
        raise ValueError(f"unknown unit {given!r}; use one of {', '.join(DIMENSIONS)}")
    (dimension, factor), (target_dimension, target_factor) = DIMENSIONS[given], DIMENSIONS[unit]
    if dimension != target_dimension:
        raise ValueError(f"{value!r} is a {dimension}, expected a {target_dimension} in {unit}")
    return number * factor / target_factor


def metric_unit(name: str) -> str:
    """The unit a metric's name carries: ``cpa_m`` -> m, ``speed_kn`` -> kn; else "count"."""
    suffix = name.rsplit("_", 1)[-1]
    return suffix if "_" in name and suffix in DIMENSIONS else "count"


@dataclass(frozen=True, slots=True)
class RulebookRef:
    """Which exact standard an event was raised under."""

    id: str
    version: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


@dataclass(slots=True)
class VesselFrame:
    """Every vessel's latest state at one tick of data time, as parallel numpy columns.

    ``ts_ms`` is the time of each vessel's last fix (at or before ``time_ms``); positions are
    those fixes (not dead-reckoned). ``party`` is the index into the engine's parties of the
    fleet a vessel belongs to, or -1. ``ship_type`` is the raw AIS code from static data (0
    when unknown) and ``flag`` the ISO 3166 code from the MID ("" when unknown).
    ``zone_point`` / ``zone_index`` list (row, zone) memberships, from
    :meth:`seabridge.geo.ZoneSet.membership`. ``usable`` is False for vessels with no fix
    that the screening (data-quality) rules accepted within the frame's max age: their row
    shows the latest rejected fix, and other rules must ignore it. Usable rows show the
    latest accepted fix. Rows are sorted by MMSI.
    """

    time_ms: int
    mmsi: np.ndarray[Any, np.dtype[np.uint32]]
    ts_ms: np.ndarray[Any, np.dtype[np.int64]]
    lat: F64
    lon: F64
    sog_kn: F64
    cog_deg: F64
    heading_deg: F64
    nav_status: np.ndarray[Any, np.dtype[np.int8]]
    ship_type: np.ndarray[Any, np.dtype[np.int16]]
    flag: np.ndarray[Any, np.dtype[np.str_]]
    party: np.ndarray[Any, np.dtype[np.int16]]
    zone_point: np.ndarray[Any, np.dtype[np.intp]]
    zone_index: np.ndarray[Any, np.dtype[np.intp]]
    zone_ids: tuple[str, ...]
    usable: np.ndarray[Any, np.dtype[np.bool_]]

    def __len__(self) -> int:
        return int(self.mmsi.shape[0])

    def in_zone(self, zone_id: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows whose latest fix is inside the zone."""
        inside = np.zeros(len(self), dtype=bool)
        if zone_id in self.zone_ids:
            number = self.zone_ids.index(zone_id)
            inside[self.zone_point[self.zone_index == number]] = True
        return inside


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule sees at one tick for one key (a vessel, a pair, a vessel in a zone).

    ``key`` identifies the situation across ticks, so the engine can tell a continuing
    situation from a new one; it must be stable and made of ints and strings. ``vessels``
    are the MMSIs involved (sorted for pairs). ``started_ms`` is when the situation began in
    data time, if earlier than the tick (a loiter that began an hour ago); ``metrics`` carry
    units in their names (``cpa_m``, ``tcpa_s``, ``duration_s``, ``speed_kn``). ``level`` is
    the level the rule itself assigns (most rules leave it to the engine's grading: 0).
    """

    key: tuple[int | str, ...]
    vessels: tuple[int, ...]
    lat: float
    lon: float
    metrics: Mapping[str, float]
    zone: str | None = None
    started_ms: int | None = None
    level: int = 0


def event_id(rulebook_sha256: str, rule_id: str, key: Sequence[int | str], start_ms: int) -> str:
    """A deterministic event id: both nodes, given the same data, name an event alike."""
    text = "|".join([rulebook_sha256, rule_id, *map(str, key), str(start_ms)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Event:
    """One situation as the engine reports it (DESIGN.md "Core records")."""

    id: str
    rule_id: str
    kind: str
    rulebook: RulebookRef
    level: int
    status: EventStatus
    vessels: tuple[int, ...]
    start_ms: int
    end_ms: int | None
    lat: float
    lon: float
    zone: str | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "id", "rule_id", "kind", "rulebook", "level", "status", "vessels", "start", "end",
        "lat", "lon", "zone", "metrics",
    )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        """The event as JSON: ISO 8601 UTC times, integer MMSIs, metrics with units."""
        record: dict[str, Any] = {
            "id": self.id,
            "rule_id": self.rule_id,
            "kind": self.kind,
            "rulebook": self.rulebook.as_json(),
            "level": self.level,
            "status": self.status,
            "vessels": [int(v) for v in self.vessels],
            "start": ms_to_iso(self.start_ms),
            "end": None if self.end_ms is None else ms_to_iso(self.end_ms),
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
            "zone": self.zone,
            "metrics": {k: _json_number(v) for k, v in sorted(self.metrics.items())},
        }
        if self.reason is not None:
            record["reason"] = self.reason
        return record


def _json_number(value: float) -> float | int | None:
    if value != value:  # NaN has no JSON form
        return None
    if float(value).is_integer() and abs(value) < 2**53:
        return int(value)
    return round(float(value), 3)
