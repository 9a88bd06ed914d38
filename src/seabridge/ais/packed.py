"""Single-sentence 168-bit position reports (types 1, 2, 3 and 18), decoded in bulk.

Most of any AIS feed is these four layouts, each one whole 28-character sentence. The
decoder keeps their payloads as they are and turns a whole batch into columns at once with
numpy: six-bit values, then each field as shifts and masks over the characters that hold it
(ITU-R M.1371-5, messages 1-3 and 18). Every other message, and these types when the payload
is not exactly 168 bits, goes through pyais.

The arithmetic is pyais's own: latitude and longitude as ``((10 * raw + 3) // 6) / 1e6``
(``pyais.messages.to_lat_lon``), speed and course as tenths. A test decodes every such
report in the shared AIS logs, and random payloads, both ways and requires equal values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seabridge.ais._rows import rows_of

__all__ = [
    "PACKED_CHARS",
    "PACKED_TYPES",
    "PackedPositions",
    "decode_packed",
    "find_packed",
    "second_of",
]

PACKED_TYPES = frozenset({1, 2, 3, 18})
PACKED_CHARS = 28  # 168 bits: the whole message, no fill bits
TABLE_DTYPE = np.dtype(
    [
        ("mmsi", "i8"),
        ("lat", "f8"),
        ("lon", "f8"),
        ("speed", "f8"),
        ("course", "f8"),
        ("msg_type", "i2"),
        ("heading", "f8"),
        ("status", "i2"),
    ]
)

# Six-bit value of each armoring character; the caller has checked the alphabet.
_SIXBIT = np.zeros(256, dtype=np.uint8)
for _c in range(48, 120):
    _SIXBIT[_c] = (_c - 48 - 8 if _c - 48 > 40 else _c - 48) & 0x3F

# (start bit, width, signed) of each field; types 1-3 and type 18 differ after the MMSI.
_CLASS_A = {
    "status": (38, 4, False),
    "speed": (50, 10, False),
    "lon": (61, 28, True),
    "lat": (89, 27, True),
    "course": (116, 12, False),
    "heading": (128, 9, False),
}
_CLASS_B = {
    "speed": (46, 10, False),
    "lon": (57, 28, True),
    "lat": (85, 27, True),
    "course": (112, 12, False),
    "heading": (124, 9, False),
}
_STATUS_UNDEFINED = 15  # what a report without a status field maps to

Int64s = np.ndarray[Any, np.dtype[np.int64]]
# The armoring alphabet ('0'-'W', '`'-'w'), and the first characters of types 1, 2, 3, 18.
_ARMORED = np.zeros(256, dtype=bool)
_ARMORED[48:88] = _ARMORED[96:120] = True
_PACKED_FIRST = np.zeros(256, dtype=bool)
_PACKED_FIRST[[c for c in range(48, 120) if _ARMORED[c] and _SIXBIT[c] in PACKED_TYPES]] = True
_COMMA, _ONE, _ZERO = ord(","), ord("1"), ord("0")
_FIELDS = 7  # !xxVDM,count,number,sequence,channel,payload,fill*hh


class PackedPositions:
    """Payloads of whole 168-bit position reports with their times and input lines."""

    __slots__ = ("line_nos", "payloads", "raws", "times")

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.times: list[int] = []
        self.line_nos: list[int] = []
        self.raws: list[bytes] = []

    def __len__(self) -> int:
        return len(self.payloads)

    def clear(self) -> None:
        """Forget every report (the lists stay the same objects)."""
        self.payloads.clear()
        self.times.clear()
        self.line_nos.clear()
        self.raws.clear()


def find_packed(
    sentences: list[bytes], candidate: np.ndarray[Any, np.dtype[np.bool_]]
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], list[bytes]]:
    """Which ``candidate`` sentences are whole single-sentence 168-bit reports, and their
    payloads: seven fields, ``1,1`` as count and number, 28 armored characters of type 1,
    2, 3 or 18 and no fill bits (``0`` first in the last field), the test
    :meth:`~seabridge.ais.nmea.NmeaDecoder.feed` applies to one sentence at a time."""
    count = len(sentences)
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=count)
    data = np.frombuffer(b"".join(sentences) + bytes(PACKED_CHARS + 2), dtype=np.uint8)
    ends = np.cumsum(lengths)
    commas = np.flatnonzero(data == _COMMA)
    every = rows_of(commas, _FIELDS - 1, ends - lengths, ends)
    if every is not None:  # every sentence has seven fields
        rows = np.flatnonzero(candidate)
        at = every[rows]
    else:
        per_sentence = np.bincount(np.searchsorted(ends, commas, side="right"), minlength=count)
        per_sentence = per_sentence[:count]
        rows = np.flatnonzero(candidate & (per_sentence == _FIELDS - 1))
        first = (np.cumsum(per_sentence) - per_sentence)[rows]
        at = commas[first[:, None] + np.arange(_FIELDS - 1)]
    payload = at[:, 4] + 1
    good = (
        (at[:, 1] - at[:, 0] == 2)
        & (data[at[:, 0] + 1] == _ONE)
        & (at[:, 2] - at[:, 1] == 2)
        & (data[at[:, 1] + 1] == _ONE)
        & (at[:, 5] - payload == PACKED_CHARS)
        & (data[at[:, 5] + 1] == _ZERO)
        & _PACKED_FIRST[data[payload]]
    )
    chars = data[payload[:, None] + np.arange(PACKED_CHARS)]
    good &= _ARMORED[chars].all(axis=1)
    payloads: list[bytes] = (
        np.ascontiguousarray(chars[good]).view(f"S{PACKED_CHARS}").ravel().tolist()
    )
    return rows[good], payloads


def second_of(ais_id: int, payload: bytes) -> int:
    """The report's UTC second field (bits 137-142 in types 1-3, 133-138 in type 18)."""
    high, low = int(_SIXBIT[payload[22]]), int(_SIXBIT[payload[23]])
    if ais_id == 18:
        return ((high & 0x1F) << 1) | (low >> 5)
    return ((high & 0x01) << 5) | (low >> 1)


def decode_packed(payloads: list[bytes]) -> np.ndarray[Any, Any]:
    """The fields of 28-character type 1, 2, 3 or 18 payloads as one structured array.

    Speed, course and heading are raw values scaled as pyais does (sentinels such as 1023
    and 511 are left for :mod:`seabridge.ais.normalize` to map); type 18 has no status and
    gets 15, "undefined".
    """
    count = len(payloads)
    table = np.empty(count, dtype=TABLE_DTYPE)
    if count == 0:
        return table
    values = _SIXBIT[np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(count, -1)]
    msg_type = values[:, 0].astype(np.int16)
    table["msg_type"] = msg_type
    table["mmsi"] = _field(values, 8, 30, signed=False)
    class_b = msg_type == 18
    rows_a, rows_b = np.flatnonzero(~class_b), np.flatnonzero(class_b)
    for rows, layout in ((rows_a, _CLASS_A), (rows_b, _CLASS_B)):
        if rows.size == 0:
            continue
        part = values[rows]
        raw = {name: _field(part, *spec) for name, spec in layout.items()}
        table["lat"][rows] = ((10 * raw["lat"] + 3) // 6) / 1e6
        table["lon"][rows] = ((10 * raw["lon"] + 3) // 6) / 1e6
        table["speed"][rows] = raw["speed"] / 10.0
        table["course"][rows] = raw["course"] / 10.0
        table["heading"][rows] = raw["heading"]
        table["status"][rows] = raw.get("status", _STATUS_UNDEFINED)
    return table


def _field(values: np.ndarray[Any, Any], start: int, width: int, signed: bool) -> Int64s:
    """Bits [start, start + width) of every row of six-bit values, as int64."""
    first, last = start // 6, (start + width - 1) // 6
    acc: Int64s = values[:, first].astype(np.int64)
    for column in range(first + 1, last + 1):
        acc = (acc << 6) | values[:, column]
    acc = (acc >> ((last + 1) * 6 - (start + width))) & ((1 << width) - 1)
    if signed:
        acc = np.where(acc >= 1 << (width - 1), acc - (1 << width), acc)
    return acc
