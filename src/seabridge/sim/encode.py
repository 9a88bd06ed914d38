"""AIS messages as NMEA: pyais's encoder, every field explicit, and NMEA 4.10 tag blocks.

pyais fills fields left out with defaults that are not the ITU "not available" values (speed
0, heading 0, maneuver 3 ...) and writes ``!AIVDO`` unless told otherwise (ais-notes.md §4),
so every message here sets every field, and sentences are ``!AIVDM`` (talker AI). Values are
quantized to the field resolution first (ITU-R M.1371-5 table 45: position 1/10000 min, SOG
and COG 0.1) because pyais truncates speed and course when it scales them.

Positions: type 1 (SOTDMA, scheduled) or type 3 (ITDMA, sent when the reporting interval
changes) for class A; type 18 for class B "CS". Static data: type 5 for class A; type 24
parts A and B for class B. Radio fields carry plausible communication states (the SOTDMA and
ITDMA states of M.1371-5 annex 2; class B "CS" units send the fixed ``1100000000000000110``).
Tag blocks: ``\\s:station,c:epoch_seconds*hh\\``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyais.encode import encode_dict

__all__ = [
    "CS_RADIO",
    "ETA_NOT_AVAILABLE",
    "Identity",
    "encode_message",
    "itdma_radio",
    "position_fields",
    "quantize_angle",
    "quantize_latlon",
    "quantize_speed",
    "sotdma_radio",
    "static_fields",
    "tag_block",
]

_VDM: dict[str, Any] = {"talker_id": "AI", "sentence_type": "VDM"}
HEADING_NOT_AVAILABLE = 511
TURN_NOT_AVAILABLE = -128
ETA_NOT_AVAILABLE = (0, 0, 24, 60)
"""ETA month, day, hour, minute "not available" (M.1371-5 table 48, message 5)."""
CS_RADIO = (1 << 19) | 0b1100000000000000110
"""Type 18 radio field of a class B "CS" unit: selector 1 (ITDMA) + the fixed state."""
_SLOTS_PER_MINUTE = 2250
_MAX_ROT_DEG_MIN = 700.0  # the largest rate pyais encodes without hitting raw +-127


def quantize_latlon(degrees: float) -> float:
    """A latitude or longitude on the AIS grid of 1/10000 minute."""
    return round(degrees * 600_000.0) / 600_000.0


def quantize_speed(speed_kn: float) -> float:
    """SOG in 0.1 kn, capped at 102.2 (102.3 means "not available")."""
    return min(round(speed_kn * 10.0), 1022) / 10.0


def quantize_angle(angle_deg: float) -> float:
    """COG in 0.1 degree, in [0, 360)."""
    return (round(angle_deg * 10.0) % 3600) / 10.0


def tag_block(station: str, epoch_s: int) -> str:
    """An NMEA 4.10 tag block with source station and UNIX time in seconds."""
    body = f"s:{station},c:{epoch_s}"
    check = 0
    for char in body.encode("ascii"):
        check ^= char
    return f"\\{body}*{check:02X}\\"


@dataclass(frozen=True, slots=True)
class Identity:
    """What a vessel says about itself in static reports, and how it reports positions."""

    mmsi: int
    name: str
    callsign: str
    ship_type: int
    class_b: bool
    imo: int
    to_bow: int
    to_stern: int
    to_port: int
    to_starboard: int
    draught_m: float
    destination: str
    heading_sensor: bool
    accuracy: int
    eta: tuple[int, int, int, int] = ETA_NOT_AVAILABLE
    serial: int = 0


def sotdma_radio(report_number: int, ts_ms: int, interval_s: float, received: int) -> int:
    """A SOTDMA communication state (19 bits): UTC direct sync, the slot timeout counting
    down 7..0 per report, and the sub-message the timeout calls for (3, 5, 7: stations
    received; 2, 4, 6: slot number; 1: UTC hour and minute; 0: slot offset)."""
    timeout = 7 - report_number % 8
    slot = int((ts_ms % 60_000) * _SLOTS_PER_MINUTE // 60_000)
    if timeout in (3, 5, 7):
        sub = min(received, 16_383)
    elif timeout in (2, 4, 6):
        sub = slot
    elif timeout == 1:
        minutes = ts_ms // 60_000
        sub = ((minutes // 60) % 24) << 9 | (minutes % 60) << 2
    else:
        sub = min(round(interval_s * _SLOTS_PER_MINUTE / 60.0), 16_383)
    return (0 << 17) | (timeout << 14) | sub


def itdma_radio(interval_s: float) -> int:
    """An ITDMA communication state (19 bits): UTC direct sync, the slot increment to the
    next report, one slot, keep flag off."""
    increment = min(round(interval_s * _SLOTS_PER_MINUTE / 60.0), 8191)
    return (0 << 17) | (increment << 4) | (0 << 1) | 0


def _turn(rot_deg_min: float) -> float:
    """ROT in degrees per minute for pyais, which applies ROT_AIS = 4.733 sqrt|ROT| itself
    (M.1371-5 table 45); kept below the raw +-127 that mean "turning, no indicator"."""
    return max(-_MAX_ROT_DEG_MIN, min(_MAX_ROT_DEG_MIN, rot_deg_min))


def position_fields(
    identity: Identity,
    *,
    msg_type: int,
    lat: float,
    lon: float,
    sog_kn: float,
    cog_deg: float,
    rot_deg_min: float,
    nav_status: int,
    second: int,
    radio: int,
) -> dict[str, Any]:
    """Every field of a type 1, 3 or 18 position report."""
    heading = round(cog_deg) % 360 if identity.heading_sensor else HEADING_NOT_AVAILABLE
    fields: dict[str, Any] = {
        "type": msg_type,
        "repeat": 0,
        "mmsi": identity.mmsi,
        "speed": quantize_speed(sog_kn),
        "accuracy": identity.accuracy,
        "lon": quantize_latlon(lon),
        "lat": quantize_latlon(lat),
        "course": quantize_angle(cog_deg),
        "heading": heading,
        "second": second,
        "raim": 0,
        "radio": radio,
    }
    if msg_type == 18:
        fields.update(
            reserved_1=0, reserved_2=0, cs=1, display=0, dsc=1, band=1, msg22=1, assigned=0
        )
    else:
        turn = _turn(rot_deg_min) if identity.heading_sensor else TURN_NOT_AVAILABLE
        fields.update(status=nav_status, turn=turn, maneuver=0, spare_1=b"\x00")
    return fields


def static_fields(identity: Identity) -> list[dict[str, Any]]:
    """Every field of the static reports: one type 5, or type 24 parts A and B."""
    dims = {
        "to_bow": identity.to_bow,
        "to_stern": identity.to_stern,
        "to_port": identity.to_port,
        "to_starboard": identity.to_starboard,
    }
    if identity.class_b:
        part_a = {
            "type": 24,
            "repeat": 0,
            "mmsi": identity.mmsi,
            "partno": 0,
            "shipname": identity.name,
            "spare_1": b"\x00",
        }
        part_b = {
            "type": 24,
            "repeat": 0,
            "mmsi": identity.mmsi,
            "partno": 1,
            "ship_type": identity.ship_type,
            "vendorid": "SBR",
            "model": 1,
            "serial": identity.serial,
            "callsign": identity.callsign,
            **dims,
            "spare_1": b"\x00",
        }
        return [part_a, part_b]
    month, day, hour, minute = identity.eta
    return [
        {
            "type": 5,
            "repeat": 0,
            "mmsi": identity.mmsi,
            "ais_version": 2,
            "imo": identity.imo,
            "callsign": identity.callsign,
            "shipname": identity.name,
            "ship_type": identity.ship_type,
            **dims,
            "epfd": 1,
            "month": month,
            "day": day,
            "hour": hour,
            "minute": minute,
            "draught": round(identity.draught_m, 1),
            "destination": identity.destination,
            "dte": 0,
            "spare_1": b"\x00",
        }
    ]


def encode_message(fields: dict[str, Any], channel: str, seq_id: int | None = None) -> list[str]:
    """The ``!AIVDM`` sentences of one message (two for a type 5)."""
    return encode_dict(fields, radio_channel=channel, seq_id=seq_id, **_VDM)
