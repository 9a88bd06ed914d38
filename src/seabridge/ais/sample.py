"""A small built-in NMEA sample of East China Sea traffic, encoded with pyais.

A fixture for tests that need a few minutes of timed, multi-station traffic without running
the simulator (``seabridge.sim``, which ``seabridge demo`` uses). Vessels and names are
fictional; MMSIs carry the MIDs of their flags (431 Japan, 412/413 China, 352 Panama, 477
Hong Kong). Motion is plain dead reckoning on a sphere: good enough for a sample, not a
simulator.

Every field is set explicitly, with the ITU "not available" values where unknown, because
pyais fills omitted fields with defaults that are not the ITU sentinels (ais-notes.md §4).
Sentences carry NMEA 4.10 tag blocks (``s:`` station, ``c:`` epoch seconds); some reports
are heard by two stations, and a few lines are damaged on purpose to show the quarantine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pyais.encode import encode_dict

__all__ = ["SAMPLE_START_MS", "VESSELS", "SampleVessel", "sample_lines"]

SAMPLE_START_MS = 1_283_817_600_000  # 2010-09-07T00:00:00Z
_NM_PER_DEG_LAT = 60.0


@dataclass(frozen=True, slots=True)
class SampleVessel:
    """One fictional vessel of the sample and its straight-line motion."""

    mmsi: int
    name: str
    callsign: str
    ship_type: int
    class_b: bool
    lat: float
    lon: float
    sog_kn: float
    cog_deg: float


VESSELS: tuple[SampleVessel, ...] = (
    SampleVessel(431999001, "KAIYO PATROL 7", "7JZZ1", 55, False, 25.80, 123.30, 12.0, 95.0),
    SampleVessel(413999002, "HAIAN PATROL 9", "BZZZ2", 55, False, 25.62, 123.70, 11.0, 275.0),
    SampleVessel(412999003, "MINYU 0815", "BZZZ3", 30, False, 25.70, 123.55, 3.5, 40.0),
    SampleVessel(431999004, "DAIICHI SAMPLE MARU", "JZZZ4", 30, False, 25.78, 123.52, 2.0, 200.0),
    SampleVessel(352999005, "EAST SEA TRADER", "3EZZ5", 70, False, 25.40, 123.10, 14.5, 30.0),
    SampleVessel(477999006, "ORIENT SAMPLE", "VRZZ6", 80, False, 26.10, 124.20, 13.0, 225.0),
    SampleVessel(431999007, "KUROSHIO", "JZZZ7", 37, True, 25.72, 123.40, 6.0, 150.0),
)
_VDM: dict[str, Any] = {"talker_id": "AI", "sentence_type": "VDM"}


def _tag(station: str, epoch_s: int) -> str:
    body = f"s:{station},c:{epoch_s}"
    check = 0
    for char in body.encode():
        check ^= char
    return f"\\{body}*{check:02X}\\"


def _position_at(vessel: SampleVessel, elapsed_s: float) -> tuple[float, float]:
    distance_nm = vessel.sog_kn * elapsed_s / 3600.0
    course = math.radians(vessel.cog_deg)
    lat = vessel.lat + distance_nm * math.cos(course) / _NM_PER_DEG_LAT
    lon = vessel.lon + distance_nm * math.sin(course) / (
        _NM_PER_DEG_LAT * math.cos(math.radians(lat))
    )
    return lat, lon


def _position_report(vessel: SampleVessel, elapsed_s: float, epoch_s: int) -> list[str]:
    lat, lon = _position_at(vessel, elapsed_s)
    fields: dict[str, Any] = {
        "mmsi": vessel.mmsi,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "speed": vessel.sog_kn,
        "course": vessel.cog_deg,
        "heading": round(vessel.cog_deg) % 360,
        "second": epoch_s % 60,
        "accuracy": 1,
        "raim": 0,
        "radio": 0,
    }
    if vessel.class_b:
        fields.update({"type": 18, "reserved_1": 0, "reserved_2": 0, "cs": 1, "dsc": 1, "band": 1})
    else:
        fields.update({"type": 1, "status": 0, "turn": 0, "maneuver": 0})
    return encode_dict(fields, radio_channel="A", **_VDM)


def _static_report(vessel: SampleVessel, seq_id: int) -> list[str]:
    if vessel.class_b:
        part_a: dict[str, Any] = {
            "type": 24,
            "mmsi": vessel.mmsi,
            "partno": 0,
            "shipname": vessel.name,
        }
        part_b: dict[str, Any] = {
            "type": 24,
            "mmsi": vessel.mmsi,
            "partno": 1,
            "ship_type": vessel.ship_type,
            "vendorid": "SBG",
            "model": 1,
            "serial": 1,
            "callsign": vessel.callsign,
            "to_bow": 5,
            "to_stern": 5,
            "to_port": 2,
            "to_starboard": 2,
        }
        return encode_dict(part_a, radio_channel="B", **_VDM) + encode_dict(
            part_b, radio_channel="B", **_VDM
        )
    voyage: dict[str, Any] = {
        "type": 5,
        "mmsi": vessel.mmsi,
        "ais_version": 2,
        "imo": 0,
        "callsign": vessel.callsign,
        "shipname": vessel.name,
        "ship_type": vessel.ship_type,
        "to_bow": 40,
        "to_stern": 20,
        "to_port": 6,
        "to_starboard": 6,
        "epfd": 1,
        "month": 0,
        "day": 0,
        "hour": 24,
        "minute": 60,
        "draught": 4.0,
        "destination": "",
        "dte": 0,
    }
    return encode_dict(voyage, radio_channel="B", seq_id=seq_id % 10, **_VDM)


def sample_lines(minutes: int = 60, start_ms: int = SAMPLE_START_MS) -> list[str]:
    """The sample as NMEA lines: reports every 10 s (class B: 30 s), statics every 6 min."""
    lines: list[str] = []
    start_s = start_ms // 1000
    for step in range(minutes * 6):
        elapsed_s = step * 10
        epoch_s = start_s + elapsed_s
        for index, vessel in enumerate(VESSELS):
            if vessel.class_b and step % 3:
                continue
            for sentence in _position_report(vessel, elapsed_s, epoch_s):
                lines.append(_tag("jcg-naha", epoch_s) + sentence)
                if index % 2 == 0:  # heard by a second receiver too: stored once
                    lines.append(_tag("ccg-wenzhou", epoch_s) + sentence)
            if step % 36 == index:
                lines.extend(_tag("jcg-naha", epoch_s) + s for s in _static_report(vessel, step))
        if step % 90 == 45:
            damaged = lines[-1][:-2] + ("00" if not lines[-1].endswith("00") else "11")
            lines.append(damaged)  # a corrupted checksum: quarantined, never stored
    return lines
