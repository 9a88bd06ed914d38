"""The scenario file format: pydantic models of the YAML, validated field by field.

This module declares what a scenario may say; :mod:`seabridge.sim.scenario` reads files and
turns validation errors into messages that name the file, the line and the field path, and
:mod:`seabridge.sim.plan` resolves names (points, zones, lanes, vessels) into a plan. The
format is documented in ``docs/simulator.md``; every field here appears there.

Units are in the names (``_kn``, ``_nm``, ``_m``, ``_deg``). Times are durations after the
scenario start (``1h15m``) or ISO 8601 UTC times. Positions are ``{lat: .., lon: ..}``
mappings (never bare pairs: lat/lon order is the classic mistake), a bearing and range from a
named point or pack feature, or such a name.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from seabridge.sim.timespec import When, parse_duration_s, parse_when
from seabridge.units import datetime_to_ms, iso_to_ms

__all__ = [
    "BASE_KINDS",
    "BEHAVIOUR_KINDS",
    "SITUATION_KINDS",
    "Approach",
    "Behaviour",
    "Box",
    "Circle",
    "Fishing",
    "Fleet",
    "GoDark",
    "Hold",
    "Lane",
    "LatLon",
    "Noise",
    "Patrol",
    "PointSpec",
    "Relative",
    "Rendezvous",
    "ScenarioSpec",
    "Shadow",
    "Shape",
    "SpeedRun",
    "Station",
    "Transit",
    "TruthSpec",
    "VesselSpec",
    "ZoneEntry",
    "ZoneSpec",
]

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
# ITU-R M.1371-5 table 47: the six-bit character set of names and call signs.
SIXBIT = re.compile(r"^[A-Z0-9 !\"#$%&'()*+,\-./:;<=>?@\[\\\]^_]*$")
BASE_KINDS = ("transit", "fishing", "anchored", "moored", "patrol")
SITUATION_KINDS = ("approach", "shadow", "rendezvous", "zone_entry", "speed_run", "go_dark")
BEHAVIOUR_KINDS = BASE_KINDS + SITUATION_KINDS


def _start_ms(value: object) -> int:
    if isinstance(value, datetime):
        return datetime_to_ms(value)
    if isinstance(value, str):
        return iso_to_ms(value)
    raise ValueError("give an ISO 8601 UTC time, e.g. 2010-09-07T00:00:00Z")


def _range(value: object) -> tuple[float, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), float(value)
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (float(item) for item in value)
        if low > high:
            raise ValueError(f"[{low:g}, {high:g}]: the first value must not exceed the second")
        return low, high
    raise ValueError("give a number or a range [min, max]")


def _speed_range(value: object) -> tuple[float, float]:
    low, high = _range(value)
    if not 0.0 <= low <= high <= 102.2:
        raise ValueError("speeds are between 0 and 102.2 kn")
    return low, high


def _duration_range(value: object) -> tuple[float, float]:
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (parse_duration_s(item) for item in value)
        if low > high:
            raise ValueError("the first duration must not exceed the second")
        return low, high
    seconds = parse_duration_s(value)
    return seconds, seconds


WhenT = Annotated[When, BeforeValidator(parse_when)]
DurationS = Annotated[float, BeforeValidator(parse_duration_s)]
Range = Annotated[tuple[float, float], BeforeValidator(_range)]
SpeedRange = Annotated[tuple[float, float], BeforeValidator(_speed_range)]
DurationRange = Annotated[tuple[float, float], BeforeValidator(_duration_range)]
Mmsi = Annotated[int, Field(ge=200_000_000, le=799_999_999)]
SpeedKn = Annotated[float, Field(ge=0.0, le=102.2)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )


def _exactly_one(model: BaseModel, keys: tuple[str, ...], what: str) -> str:
    given = [key for key in keys if getattr(model, key) is not None]
    if len(given) != 1:
        listed = ", ".join(keys)
        found = ", ".join(given) if given else "none"
        raise ValueError(f"{what} needs exactly one of {listed} (found: {found})")
    return given[0]


class LatLon(_Model):
    """A position in degrees."""

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class Relative(_Model):
    """A position at a true bearing and range from a named point or pack feature."""

    from_: str = Field(alias="from")
    bearing_deg: float = Field(ge=0.0, le=360.0)
    range_nm: float = Field(ge=0.0)


def _point_kind(value: object) -> str:
    if isinstance(value, str):
        return "name"
    if isinstance(value, Relative) or (isinstance(value, dict) and "from" in value):
        return "relative"
    return "latlon"


PointSpec = Annotated[
    Annotated[LatLon, Tag("latlon")]
    | Annotated[Relative, Tag("relative")]
    | Annotated[str, Tag("name")],
    Discriminator(_point_kind),
]


class Box(_Model):
    west: float = Field(ge=-180.0, le=180.0)
    south: float = Field(ge=-90.0, le=90.0)
    east: float = Field(ge=-180.0, le=180.0)
    north: float = Field(ge=-90.0, le=90.0)

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if not (self.west < self.east and self.south < self.north):
            raise ValueError("a box needs west < east and south < north")
        return self


class Circle(_Model):
    center: PointSpec
    radius_nm: float = Field(gt=0.0)


class Shape(_Model):
    """An area: exactly one of a box, a geodesic circle, a polygon, or a zone by id."""

    box: Box | None = None
    circle: Circle | None = None
    polygon: list[PointSpec] | None = Field(default=None, min_length=3)
    zone: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Shape:
        _exactly_one(self, ("box", "circle", "polygon", "zone"), "an area")
        return self


class ZoneSpec(_Model):
    """A zone of the scenario itself (beside the pack's zones)."""

    id: str = Field(pattern=SLUG)
    box: Box | None = None
    circle: Circle | None = None
    polygon: list[PointSpec] | None = Field(default=None, min_length=3)

    @model_validator(mode="after")
    def _one(self) -> ZoneSpec:
        _exactly_one(self, ("box", "circle", "polygon"), "a zone")
        return self


class Station(_Model):
    """A receiving station: sentences carry its id as the tag block's ``s:``."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,15}$")
    position: PointSpec


class Noise(_Model):
    """Receiver noise: position jitter, dropped messages, duplicate reception."""

    jitter_m: float = Field(default=0.0, ge=0.0, le=1000.0)
    drop: float = Field(default=0.0, ge=0.0, lt=1.0)
    duplicate: float = Field(default=0.0, ge=0.0, le=1.0)


class TruthSpec(_Model):
    """What the ground truth watches beyond the scripted situations."""

    zones: list[str] = Field(default_factory=list)
    min_separation_nm: float = Field(default=1.0, ge=0.0)
    close_quarters_range_nm: float = Field(default=1.0, gt=0.0)


class Lane(_Model):
    """A shipping lane: a centre line, traffic keeping to the right in parallel slots."""

    id: str = Field(pattern=SLUG)
    route: list[PointSpec] = Field(min_length=2)
    both_ways: bool = True
    slots: int = Field(default=3, ge=1, le=20)
    slot_spacing_nm: float = Field(default=1.5, gt=0.0)
    separation_nm: float = Field(default=2.0, ge=0.0)


# -- behaviours ---------------------------------------------------------------------------


class Transit(_Model):
    at: WhenT | None = None
    route: list[PointSpec] | None = Field(default=None, min_length=1)
    lane: str | None = None
    direction: Literal["forward", "reverse"] | None = None
    slot: int | None = Field(default=None, ge=0)
    speed_kn: SpeedRange

    @model_validator(mode="after")
    def _one(self) -> Transit:
        _exactly_one(self, ("route", "lane"), "transit")
        return self


class Fishing(_Model):
    at: WhenT | None = None
    area: Shape
    speed_kn: SpeedRange = (2.5, 4.0)
    haul_speed_kn: SpeedRange = (0.3, 1.2)
    haul_every: DurationRange = (2400.0, 5400.0)
    haul_for: DurationRange = (600.0, 1200.0)
    leg: DurationRange = (480.0, 1500.0)
    cell_nm: float = Field(default=2.0, gt=0.0)


class Hold(_Model):
    """``anchored`` (nav status 1) or ``moored`` (5): no way on."""

    at: WhenT | None = None
    position: PointSpec | None = None
    area: Shape | None = None
    spacing_nm: float = Field(default=1.0, gt=0.0)


class Patrol(_Model):
    at: WhenT | None = None
    zone: str | None = None
    around: Shape | None = None
    offset_nm: float = 0.0
    speed_kn: SpeedKn
    direction: Literal["cw", "ccw"] = "cw"

    @model_validator(mode="after")
    def _one(self) -> Patrol:
        _exactly_one(self, ("zone", "around"), "patrol")
        return self


class Approach(_Model):
    target: Mmsi
    at: WhenT
    cpa_at: WhenT
    cpa_nm: float = Field(gt=0.0)
    side: Literal["port", "starboard"] = "starboard"
    until: WhenT | None = None
    max_speed_kn: SpeedKn | None = None


class Shadow(_Model):
    target: Mmsi
    at: WhenT
    until: WhenT
    range_nm: float = Field(gt=0.0)
    bearing_deg: float = Field(default=90.0, ge=-360.0, le=360.0)
    max_speed_kn: SpeedKn | None = None


class Rendezvous(_Model):
    partner: Mmsi
    at: WhenT
    meet_at: WhenT
    duration: DurationS
    position: PointSpec | None = None
    distance_m: float = Field(default=80.0, gt=0.0, le=2000.0)
    drift_kn: float = Field(default=0.5, ge=0.0, le=3.0)
    drift_course_deg: float = Field(default=45.0, ge=0.0, lt=360.0)
    within_m: float = Field(default=500.0, gt=0.0)


class ZoneEntry(_Model):
    zone: str
    at: WhenT
    enter_at: WhenT
    leave_at: WhenT | None = None
    depth_nm: float = Field(default=2.0, gt=0.0)
    speed_kn: SpeedKn = 6.0
    exit_nm: float = Field(default=1.0, gt=0.0)
    via: PointSpec | None = None
    max_speed_kn: SpeedKn | None = None


class SpeedRun(_Model):
    toward: PointSpec
    at: WhenT
    speed_kn: SpeedKn
    pass_m: float = Field(default=0.0, ge=0.0)
    beyond_nm: float = Field(default=2.0, ge=0.0)
    zone: str | None = None
    until: WhenT | None = None


class GoDark(_Model):
    at: WhenT
    duration: DurationS | None = None
    until: WhenT | None = None

    @model_validator(mode="after")
    def _one(self) -> GoDark:
        _exactly_one(self, ("duration", "until"), "go_dark")
        return self


class Behaviour(_Model):
    """One item of a vessel's ``behaviours``: a mapping with exactly one behaviour key."""

    transit: Transit | None = None
    fishing: Fishing | None = None
    anchored: Hold | None = None
    moored: Hold | None = None
    patrol: Patrol | None = None
    approach: Approach | None = None
    shadow: Shadow | None = None
    rendezvous: Rendezvous | None = None
    zone_entry: ZoneEntry | None = None
    speed_run: SpeedRun | None = None
    go_dark: GoDark | None = None

    @model_validator(mode="after")
    def _one(self) -> Behaviour:
        _exactly_one(self, BEHAVIOUR_KINDS, "a behaviour")
        return self

    @property
    def kind(self) -> str:
        return next(key for key in BEHAVIOUR_KINDS if getattr(self, key) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


class _Ship(_Model):
    """Fields shared by single vessels and fleets."""

    destination: str = Field(default="", max_length=20, pattern=SIXBIT.pattern)
    max_speed_kn: SpeedKn | None = None
    turn_deg_per_min: float | None = Field(default=None, gt=0.0, le=720.0)
    accel_kn_per_min: float | None = Field(default=None, gt=0.0, le=120.0)
    heading_sensor: bool | None = None


class VesselSpec(_Ship):
    mmsi: Mmsi
    name: str = Field(min_length=1, max_length=20, pattern=SIXBIT.pattern)
    callsign: str = Field(default="", max_length=7, pattern=SIXBIT.pattern)
    class_: Literal["A", "B"] = Field(default="A", alias="class")
    ship_type: int = Field(ge=0, le=99)
    imo: int | None = Field(default=None, ge=1_000_000, le=9_999_999)
    flag: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    party: str | None = None
    length_m: float = Field(default=30.0, gt=0.0, le=511.0)
    beam_m: float | None = Field(default=None, gt=0.0, le=126.0)
    draught_m: float | None = Field(default=None, ge=0.0, le=25.5)
    position: PointSpec
    course_deg: float | None = Field(default=None, ge=0.0, lt=360.0)
    speed_kn: SpeedKn | None = None
    behaviours: list[Behaviour] = Field(min_length=1)


class Fleet(_Ship):
    """Many generated vessels sharing one base behaviour."""

    id: str = Field(pattern=SLUG)
    count: int = Field(ge=1, le=100_000)
    mids: list[int] | dict[int, float] = Field(min_length=1)
    class_: Literal["A", "B"] | dict[Literal["A", "B"], float] = Field(default="A", alias="class")
    ship_type: int | dict[int, float] = 70
    name: str = Field(default="{merchant}", min_length=1)
    callsign_prefix: str | None = Field(default=None, max_length=4, pattern=SIXBIT.pattern)
    length_m: Range = (20.0, 60.0)
    draught_m: Range | None = None
    transit: Transit | None = None
    fishing: Fishing | None = None
    anchored: Hold | None = None
    moored: Hold | None = None

    @model_validator(mode="after")
    def _one(self) -> Fleet:
        _exactly_one(self, ("transit", "fishing", "anchored", "moored"), "a fleet")
        return self

    @property
    def kind(self) -> str:
        return _exactly_one(self, ("transit", "fishing", "anchored", "moored"), "a fleet")


class ScenarioSpec(_Model):
    """A whole scenario file."""

    scenario: str = Field(pattern=SLUG)
    title: str = Field(min_length=1)
    description: str = ""
    pack: str | None = None
    start: Annotated[int, BeforeValidator(_start_ms)]
    duration: DurationS = Field(gt=0.0)
    seed: int = Field(default=0, ge=0, lt=2**63)
    stations: list[Station] = Field(default_factory=list)
    noise: Noise = Noise()
    static_every: DurationS = Field(default=360.0, gt=0.0)
    truth: TruthSpec = TruthSpec()
    points: dict[str, PointSpec] = Field(default_factory=dict)
    zones: list[ZoneSpec] = Field(default_factory=list)
    lanes: list[Lane] = Field(default_factory=list)
    vessels: list[VesselSpec] = Field(default_factory=list)
    fleets: list[Fleet] = Field(default_factory=list)
