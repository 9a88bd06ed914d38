"""Decoded AIS messages -> Position records; the one place sentinels are mapped.

Decoded position messages are kept as pyais objects, grouped by layout, and turned into
columns once per batch (``operator.attrgetter`` over the group, then numpy masks), so no
Python code runs per message and per field. Sentinels become "not available" here and
nowhere else (ITU-R M.1371-5, messages 1-3, 9, 18, 19, 27):

=========  ===========================  =======================  ================
field      types 1, 2, 3, 18, 19         type 9 (SAR aircraft)    type 27 (long range)
=========  ===========================  =======================  ================
SOG        1023 raw = 102.3 kn -> NaN    1023 kn -> NaN           63 kn -> NaN
COG        3600 raw = 360.0 deg -> NaN   360.0 deg -> NaN         511 deg -> NaN
heading    511 -> NaN                    (none) NaN               (none) NaN
status     15 "undefined" -> -1          (none) -1                15 -> -1
=========  ===========================  =======================  ================

A latitude or longitude that is missing (payload too short: ``undecodable``), not available
(91 / 181), out of range, or exactly (0, 0) rejects the report (``invalid_position``); it is
never stored. Texts are cut at the first ``@`` (the ITU padding character, as gpsd does) and
stripped of spaces; an empty text is null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa

from seabridge.ais.records import POSITION_SCHEMA, TS_TYPE

__all__ = ["POSITION_TYPES", "RawPositions", "clean_text", "valid_lat_lon"]

POSITION_TYPES = frozenset({1, 2, 3, 9, 18, 19, 27})
# Layout groups: (has nav status, has heading, SOG not-available threshold).
_GROUPS: dict[int, tuple[bool, bool, float]] = {
    1: (True, True, 102.25),
    2: (True, True, 102.25),
    3: (True, True, 102.25),
    18: (False, True, 102.25),
    19: (False, True, 102.25),
    9: (False, False, 1023.0),
    27: (True, False, 63.0),
}
_GROUP_OF = {1: 1, 2: 1, 3: 1, 18: 18, 19: 18, 9: 9, 27: 27}

Lines = Sequence[tuple[int, bytes]]
Rejecter = Callable[[str, Lines], None]


def valid_lat_lon(lat: float | None, lon: float | None) -> bool:
    """True for a usable position: in range, not the 91/181 sentinels, not exactly (0, 0)."""
    if lat is None or lon is None:
        return False
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return False
    return not (lat == 0.0 and lon == 0.0)


def clean_text(text: str | None) -> str | None:
    """Cut an AIS six-bit text at the first ``@`` and strip spaces; None when empty."""
    if not text:
        return None
    cleaned = text.split("@", 1)[0].strip()
    return cleaned or None


class PositionGroup:
    """Position messages of one layout, with their times and input lines (parallel lists)."""

    __slots__ = ("lines", "messages", "times")

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.times: list[int] = []
        self.lines: list[Lines] = []

    def clear(self) -> None:
        """Forget every message (the lists stay the same objects)."""
        self.messages.clear()
        self.times.clear()
        self.lines.clear()


def _floats(messages: list[Any], name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    values = map(attrgetter(name), messages)
    try:
        return np.fromiter(values, dtype=np.float64, count=len(messages))
    except TypeError:  # None for a field beyond a short payload: NaN
        return np.array(list(map(attrgetter(name), messages)), dtype=np.float64)


def _ints(messages: list[Any], name: str, dtype: type[np.generic]) -> np.ndarray[Any, Any]:
    return np.fromiter(map(attrgetter(name), messages), dtype=dtype, count=len(messages))


class RawPositions:
    """Decoded position messages, turned into POSITION_SCHEMA batches by :meth:`flush`.

    The decoder appends to the group of a message's type directly (``groups_by_type``):
    this is the hot path, one call per message saved.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._groups = {key: PositionGroup() for key in _GROUPS if key in (1, 18, 9, 27)}
        self.groups_by_type = {ais_id: self._groups[key] for ais_id, key in _GROUP_OF.items()}

    def __len__(self) -> int:
        return sum(len(group.messages) for group in self._groups.values())

    def add(self, message: Any, ais_id: int, time_ms: int, lines: Lines) -> None:
        """Keep one decoded position message (types 1-3, 9, 18, 19, 27)."""
        group = self.groups_by_type[ais_id]
        group.messages.append(message)
        group.times.append(time_ms)
        group.lines.append(lines)

    def flush(self, reject: Rejecter) -> pa.RecordBatch:
        """Map sentinels, reject unusable positions, return one batch and start empty."""
        parts: list[list[pa.Array]] = []
        for key, group in self._groups.items():
            columns = self._columns(key, group, reject)
            group.clear()
            if columns is not None:
                parts.append(columns)
        if not parts:
            return pa.RecordBatch.from_pylist([], schema=POSITION_SCHEMA)
        return pa.RecordBatch.from_arrays(
            [pa.concat_arrays([part[i] for part in parts]) for i in range(len(POSITION_SCHEMA))],
            schema=POSITION_SCHEMA,
        )

    def _columns(self, key: int, group: PositionGroup, reject: Rejecter) -> list[pa.Array] | None:
        if not group.messages:
            return None
        has_status, has_heading, sog_na = _GROUPS[key]
        messages = group.messages
        lat, lon = _floats(messages, "lat"), _floats(messages, "lon")
        missing = np.isnan(lat) | np.isnan(lon)
        usable = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0) & ((lat != 0.0) | (lon != 0.0))
        for index in np.flatnonzero(~usable):
            reason = "undecodable" if missing[index] else "invalid_position"
            reject(reason, group.lines[index])
        keep = np.flatnonzero(usable)
        if keep.size == 0:
            return None
        messages = [messages[i] for i in keep] if keep.size < len(messages) else messages
        times = np.array(group.times, dtype=np.int64)[keep]
        sog = _floats(messages, "speed")
        sog[sog >= sog_na] = np.nan
        cog = _floats(messages, "course")
        cog[cog >= 360.0] = np.nan
        heading = np.full(keep.size, np.nan)
        if has_heading:
            heading = _floats(messages, "heading")
            heading[heading >= 360.0] = np.nan
        status = np.full(keep.size, -1, dtype=np.int8)
        if has_status:
            raw_status = _ints(messages, "status", np.int16)
            status = np.where((raw_status >= 0) & (raw_status < 15), raw_status, -1).astype(np.int8)
        return [
            pa.array(_ints(messages, "mmsi", np.uint32)),
            pa.array(times).cast(TS_TYPE),
            pa.array(lat[keep]),
            pa.array(lon[keep]),
            pa.array(sog.astype(np.float32)),
            pa.array(cog.astype(np.float32)),
            pa.array(heading.astype(np.float32)),
            pa.array(status),
            pa.array(_ints(messages, "msg_type", np.uint8)),
            pa.repeat(pa.scalar(self.source, pa.string()), keep.size),
        ]
