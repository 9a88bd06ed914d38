"""AIS messages as NMEA: every field explicit, pyais's encoding, NMEA 4.10 tag blocks.

pyais fills fields left out with defaults that are not the ITU "not available" values (speed
0, heading 0, maneuver 3 ...) and writes ``!AIVDO`` unless told otherwise (ais-notes.md §4);
it also encodes ``{"type": 3, ...}`` as a type 1 unless ``msg_type`` is given too, because
types 2 and 3 inherit type 1's default. So every message here sets every field, ``type`` and
``msg_type`` included, and sentences are ``!AIVDM`` (talker AI). Raw values are computed at
the field resolution first (ITU-R M.1371-5 table 45: position 1/10000 min, SOG and COG 0.1)
because pyais truncates speed and course when it scales them.

Positions: type 1 (SOTDMA, scheduled) or type 3 (ITDMA, sent when the reporting interval
changes) for class A; type 18 for class B "CS". Static data: type 5 for class A; type 24
parts A and B for class B. Radio fields carry plausible communication states (the SOTDMA and
ITDMA states of M.1371-5 annex 2; class B "CS" units send the fixed ``1100000000000000110``).
Tag blocks: ``\\s:station,c:epoch_seconds*hh\\``.

Two encoders give the same bytes: :func:`encode_message` is pyais's ``encode_dict``, one
message at a time; :func:`encode_positions` packs a whole tick of position reports (168 bits
each, fixed layouts) with numpy, about ten times faster, and a test holds it to pyais's
output. Static messages are encoded by pyais once per vessel and re-framed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyais.encode import ais_to_nmea_0183, data_to_payload, encode_dict

__all__ = [
    "CS_RADIO",
    "ETA_NOT_AVAILABLE",
    "HEADING_NOT_AVAILABLE",
    "Identity",
    "PositionBatch",
    "encode_message",
    "encode_positions",
    "frame",
    "itdma_radio",
    "position_dicts",
    "raw_turn",
    "sotdma_radio",
    "static_fields",
    "static_payload",
    "tag_block",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
_VDM: dict[str, Any] = {"talker_id": "AI", "sentence_type": "VDM"}
HEADING_NOT_AVAILABLE = 511
TURN_NOT_AVAILABLE = -128
ETA_NOT_AVAILABLE = (0, 0, 24, 60)
"""ETA month, day, hour, minute "not available" (M.1371-5 table 48, message 5)."""
CS_RADIO = (1 << 19) | 0b1100000000000000110
"""Type 18 radio field of a class B "CS" unit: selector 1 (ITDMA) + the fixed state."""
_SLOTS_PER_MINUTE = 2250
_MAX_ROT_DEG_MIN = 700.0  # the largest rate pyais encodes without hitting raw +-127


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


@dataclass(frozen=True, slots=True)
class PositionBatch:
    """Position reports (types 1, 3, 18) as columns of the raw values that go on the air:
    lat/lon in 1/10000 minute, speed and course in tenths, heading in degrees, ``turn`` the
    raw ROT_AIS; ``rot_deg_min`` keeps the rate pyais is given for it."""

    msg_type: I64
    mmsi: I64
    status: I64
    turn: I64
    rot_deg_min: F64
    speed: I64
    accuracy: I64
    lon: I64
    lat: I64
    course: I64
    heading: I64
    second: I64
    radio: I64
    channel: list[str]

    def __len__(self) -> int:
        return int(self.mmsi.size)

    def row(self, row: int) -> PositionBatch:
        """A batch of one report."""
        pick = slice(row, row + 1)
        return PositionBatch(
            self.msg_type[pick],
            self.mmsi[pick],
            self.status[pick],
            self.turn[pick],
            self.rot_deg_min[pick],
            self.speed[pick],
            self.accuracy[pick],
            self.lon[pick],
            self.lat[pick],
            self.course[pick],
            self.heading[pick],
            self.second[pick],
            self.radio[pick],
            self.channel[pick],
        )


def sotdma_radio(report_number: I64, ts_ms: I64, interval_s: F64, received: int) -> I64:
    """SOTDMA communication states (19 bits): UTC direct sync, the slot timeout counting
    down 7..0 per report, and the sub-message the timeout calls for (3, 5, 7: stations
    received; 2, 4, 6: slot number; 1: UTC hour and minute; 0: slot offset)."""
    timeout = 7 - report_number % 8
    slot = (ts_ms % 60_000) * _SLOTS_PER_MINUTE // 60_000
    minutes = ts_ms // 60_000
    hour_minute = ((minutes // 60) % 24) << 9 | (minutes % 60) << 2
    offset = np.minimum(np.round(interval_s * _SLOTS_PER_MINUTE / 60.0), 16_383).astype(np.int64)
    odd = timeout % 2 == 1
    sub = np.select(
        [odd & (timeout >= 3), ~odd & (timeout >= 2), timeout == 1],
        [np.full_like(timeout, min(received, 16_383)), slot, hour_minute],
        default=offset,
    )
    radio: I64 = (timeout << 14) | sub
    return radio


def itdma_radio(interval_s: F64) -> I64:
    """ITDMA communication states (19 bits): UTC direct sync, the slot increment to the next
    report, one slot, keep flag off."""
    increment = np.minimum(np.round(interval_s * _SLOTS_PER_MINUTE / 60.0), 8191)
    radio: I64 = increment.astype(np.int64) << 4
    return radio


def raw_turn(rot_deg_min: F64, available: NDArray[np.bool_]) -> tuple[I64, F64]:
    """ROT_AIS = 4.733 sqrt|ROT| (M.1371-5 table 45) rounded as pyais does, -128 where no
    rate-of-turn sensor; and the clamped rate itself (what pyais is given)."""
    rot = np.clip(rot_deg_min, -_MAX_ROT_DEG_MIN, _MAX_ROT_DEG_MIN)
    raw = np.copysign(np.round(4.733 * np.sqrt(np.abs(rot))), rot).astype(np.int64)
    special = np.isin(np.abs(rot), (127.0, 128.0))
    raw = np.where(special, rot.astype(np.int64), raw)
    return np.where(available, raw, TURN_NOT_AVAILABLE), np.where(available, rot, -128.0)


def position_dicts(batch: PositionBatch) -> list[dict[str, Any]]:
    """Every field of each report, as pyais's ``encode_dict`` takes them (scaled values
    that pyais turns back into exactly the raw ones of the batch)."""
    out: list[dict[str, Any]] = []
    columns = zip(
        batch.msg_type.tolist(),
        batch.mmsi.tolist(),
        batch.status.tolist(),
        batch.rot_deg_min.tolist(),
        batch.speed.tolist(),
        batch.accuracy.tolist(),
        batch.lon.tolist(),
        batch.lat.tolist(),
        batch.course.tolist(),
        batch.heading.tolist(),
        batch.second.tolist(),
        batch.radio.tolist(),
        strict=True,
    )
    for (
        msg_type,
        mmsi,
        status,
        rot,
        speed,
        accuracy,
        lon,
        lat,
        course,
        heading,
        second,
        radio,
    ) in columns:
        fields: dict[str, Any] = {
            "type": msg_type,
            "msg_type": msg_type,
            "repeat": 0,
            "mmsi": mmsi,
            "speed": speed / 10.0,
            "accuracy": accuracy,
            "lon": lon / 600_000.0,
            "lat": lat / 600_000.0,
            "course": course / 10.0,
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
            fields.update(status=status, turn=rot, maneuver=0, spare_1=b"\x00")
        out.append(fields)
    return out


# Field layouts of the 168-bit position reports (M.1371-5 tables for messages 1-3 and 18):
# (column or constant, width). Constants: repeat 0, maneuver 0, spare 0, raim 0; type 18's
# reserved 0, cs 1 (carrier sense), display 0, dsc 1, band 1, msg22 1, assigned 0.
_LAYOUT_A = (
    ("msg_type", 6),
    (0, 2),
    ("mmsi", 30),
    ("status", 4),
    ("turn", 8),
    ("speed", 10),
    ("accuracy", 1),
    ("lon", 28),
    ("lat", 27),
    ("course", 12),
    ("heading", 9),
    ("second", 6),
    (0, 2),
    (0, 3),
    (0, 1),
    ("radio", 19),
)
_LAYOUT_B = (
    ("msg_type", 6),
    (0, 2),
    ("mmsi", 30),
    (0, 8),
    ("speed", 10),
    ("accuracy", 1),
    ("lon", 28),
    ("lat", 27),
    ("course", 12),
    ("heading", 9),
    ("second", 6),
    (0, 2),
    (1, 1),
    (0, 1),
    (1, 1),
    (1, 1),
    (1, 1),
    (0, 1),
    (0, 1),
    ("radio", 20),
)


def _nmea_xor(text: str) -> int:
    check = 0
    for char in text.encode("ascii"):
        check ^= char
    return check


# The constant part of each sentence and its checksum share (everything but the payload).
_HEAD = {
    channel: (f"!AIVDM,1,1,,{channel},", _nmea_xor(f"AIVDM,1,1,,{channel},,0")) for channel in "AB"
}
_Piece = tuple[str | int, int, int, int, int]
_WORD_BITS = 42  # 168 bits = 4 words of 42 bits = 4 x 7 six-bit characters


def _word_plan(layout: Any) -> list[list[_Piece]]:
    """For each 42-bit word: (source, width, right shift of the value, left shift in the
    word, mask) pieces, so each field lands in the words it spans."""
    plan: list[list[_Piece]] = [[] for _ in range(4)]
    offset = 0
    for source, width in layout:
        for word in range(4):
            low, high = max(offset, word * _WORD_BITS), min(offset + width, (word + 1) * _WORD_BITS)
            if low >= high:
                continue
            drop = offset + width - high  # the value's low bits that belong to later words
            place = (word + 1) * _WORD_BITS - high
            plan[word].append((source, width, drop, place, (1 << (high - low)) - 1))
        offset += width
    assert offset == 168
    return plan


_PLANS = {False: _word_plan(_LAYOUT_A), True: _word_plan(_LAYOUT_B)}
_CHAR_SHIFTS = np.arange(36, -1, -6, dtype=np.int64)


def _payload_chars(
    batch: PositionBatch, rows: NDArray[np.intp], class_b: bool
) -> NDArray[np.int64]:
    """The 28 six-bit values of each report of ``rows``."""
    words = []
    for pieces in _PLANS[class_b]:
        word = np.zeros(rows.size, dtype=np.int64)
        for source, width, drop, place, mask in pieces:
            if isinstance(source, str):
                values = getattr(batch, source)[rows] & ((1 << width) - 1)
                word |= ((values >> drop) & mask) << place
            elif isinstance(source, int) and source:
                word |= ((source >> drop) & mask) << place
        words.append((word[:, None] >> _CHAR_SHIFTS) & 63)
    return np.concatenate(words, axis=1)


def encode_positions(batch: PositionBatch) -> list[str]:
    """The ``!AIVDM`` sentence of each report, bit-packed with numpy.

    Byte for byte what pyais's ``encode_dict`` gives for :func:`position_dicts` (a test
    compares them): the 168 bits in the field order above, six-bit ASCII armouring
    (values under 40 + 48, others + 56), no fill bits, the NMEA XOR checksum.
    """
    size = len(batch)
    if size == 0:
        return []
    values = np.empty((size, 28), dtype=np.int64)
    class_b = batch.msg_type == 18
    for mask, is_b in ((~class_b, False), (class_b, True)):
        rows = np.flatnonzero(mask)
        if rows.size:
            values[rows] = _payload_chars(batch, rows, is_b)
    chars = (values + np.where(values < 40, 48, 56)).astype(np.uint8)
    checks = np.bitwise_xor.reduce(chars, axis=1).tolist()
    payloads = chars.tobytes().decode("ascii")
    sentences = []
    for row, channel in enumerate(batch.channel):
        head, head_check = _HEAD[channel]
        payload = payloads[row * 28 : row * 28 + 28]
        sentences.append(f"{head}{payload},0*{checks[row] ^ head_check:02X}")
    return sentences


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
            "msg_type": 24,
            "repeat": 0,
            "mmsi": identity.mmsi,
            "partno": 0,
            "shipname": identity.name,
            "spare_1": b"\x00",
        }
        part_b = {
            "type": 24,
            "msg_type": 24,
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
            "msg_type": 5,
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
    """The ``!AIVDM`` sentences of one message (two for a type 5), by pyais."""
    return encode_dict(fields, radio_channel=channel, seq_id=seq_id, **_VDM)


def static_payload(fields: dict[str, Any]) -> tuple[str, int]:
    """A static message's armoured payload and fill bits, by pyais (what ``encode_dict``
    computes before framing), so a vessel's unchanging statics are encoded once."""
    payload, fill_bits = data_to_payload(int(fields["type"]), fields).encode()
    return payload, fill_bits


def frame(payload: tuple[str, int], channel: str, seq_id: int | None) -> list[str]:
    """``!AIVDM`` sentences around a payload, by pyais's framing (split at 60 characters)."""
    return ais_to_nmea_0183(payload[0], "AI", "VDM", channel, payload[1], seq_id=seq_id)
