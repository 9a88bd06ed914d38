"""Decoded AIS messages -> Position records; the one place sentinels are mapped.

Position messages are turned into columns once per batch, so no Python code runs per
message and per field: whole 168-bit reports of types 1-3 and 18 (most of any feed) straight
from their payloads (:mod:`seabridge.ais.packed`), every other position message from its pyais
object, grouped by layout (``operator.attrgetter`` over the group); then numpy masks, and
the rows go back into input order. Sentinels become "not available" here and nowhere else
(ITU-R M.1371-5, messages 1-3, 9, 18, 19, 27):

=========  ===========================  =======================  ================
field      types 1, 2, 3, 18, 19         type 9 (SAR aircraft)    type 27 (long range)
=========  ===========================  =======================  ================
SOG        1023 raw = 102.3 kn -> NaN    1023 kn -> NaN           63 kn -> NaN
COG        3600 raw = 360.0 deg -> NaN   360.0 deg -> NaN         511 deg -> NaN
heading    511 -> NaN                    (none) NaN               (none) NaN
status     15 "undefined" -> -1          (none) -1                15 -> -1
=========  ===========================  =======================  ================

A latitude or longitude that is missing (payload too short: ``undecodable``), not available
(91 / 181), out of range, or exactly (0, 0) rejects the report (``invalid_position``); so
does an MMSI outside the ITU forms (``invalid_mmsi``: the rule of
:func:`seabridge.ais.mid.valid_mmsi_mask`, which the CSV path uses too), and, given a
ceiling, a time after it (``future_time``, :mod:`seabridge.ais.horizon`). None is ever
stored. Texts are cut at the first ``@`` (the ITU padding character, as gpsd does) and
stripped of spaces; an empty text is null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa

from seabridge.ais.mid import valid_mmsi_mask
from seabridge.ais.packed import PackedPositions, decode_packed
from seabridge.ais.records import POSITION_SCHEMA, TS_TYPE

__all__ = [
    "SOG_NOT_AVAILABLE_KN",
    "PositionGroup",
    "RawPositions",
    "available_angle",
    "available_speed",
    "available_status",
    "clean_text",
    "usable_lat_lon",
]
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


F64 = np.ndarray[Any, np.dtype[np.float64]]
Int64s = np.ndarray[Any, np.dtype[np.int64]]
SOG_NOT_AVAILABLE_KN = 102.25
"""SOG raw 1023 (102.3 kn) means "not available" for types 1-3, 18, 19 (M.1371-5 table 45);
the threshold sits between it and the largest real value, 102.2 kn."""


def usable_lat_lon(lat: F64, lon: F64) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Positions that may be stored: in range (so not the 91/181 sentinels, nor NaN) and not
    exactly (0, 0), the "null island" of receivers without a fix."""
    with np.errstate(invalid="ignore"):
        in_range = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    usable: np.ndarray[Any, np.dtype[np.bool_]] = in_range & ((lat != 0.0) | (lon != 0.0))
    return usable


def available_speed(sog_kn: F64, not_available_from: float = SOG_NOT_AVAILABLE_KN) -> F64:
    """SOG with negative and not-available values (at or above the type's sentinel) as NaN."""
    with np.errstate(invalid="ignore"):
        return np.where((sog_kn >= 0.0) & (sog_kn < not_available_from), sog_kn, np.nan)


def available_angle(angle_deg: F64) -> F64:
    """COG or heading with values outside [0, 360) (360, 511 sentinels) as NaN."""
    with np.errstate(invalid="ignore"):
        return np.where((angle_deg >= 0.0) & (angle_deg < 360.0), angle_deg, np.nan)


def available_status(status: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Navigational status 0-14; 15 ("undefined", the default) and anything else -> -1."""
    return np.where((status >= 0) & (status < 15), status, -1).astype(np.int8)


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


class RawPositions:
    """Decoded position messages, turned into POSITION_SCHEMA batches by :meth:`flush`.

    The decoder appends each position message (types 1-3, 9, 18, 19, 27) with its time and
    input lines to the group of its type, ``groups_by_type[ais_id]``, directly: this is the
    hot path, and a method call per message would cost more than the appends.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._groups = {key: PositionGroup() for key in _GROUPS if key in (1, 18, 9, 27)}
        self.groups_by_type = {ais_id: self._groups[key] for ais_id, key in _GROUP_OF.items()}
        self.packed = PackedPositions()

    def __len__(self) -> int:
        return len(self.packed) + sum(len(group.messages) for group in self._groups.values())

    def flush(self, reject: Rejecter, ceiling_ms: int | None = None) -> pa.RecordBatch:
        """Map sentinels, reject unusable positions (and those timed after ``ceiling_ms``,
        when given: ``future_time``), return one batch in input order and start empty."""
        parts: list[tuple[list[pa.Array], Int64s]] = []
        packed = self.packed
        if packed.payloads:
            line_nos, raws = packed.line_nos, packed.raws
            part = self._columns(
                decode_packed(packed.payloads),
                packed.times,
                np.array(line_nos, dtype=np.int64),
                lambda index: ((line_nos[index], raws[index]),),
                _GROUPS[1],
                reject,
                ceiling_ms,
            )
            packed.clear()
            if part is not None:
                parts.append(part)
        for key, group in self._groups.items():
            if group.messages:
                has_status, has_heading, _ = layout = _GROUPS[key]
                fields = _FIELDS + ("heading",) * has_heading + ("status",) * has_status
                first_lines = np.fromiter(
                    (lines[0][0] for lines in group.lines), np.int64, len(group.lines)
                )
                part = self._columns(
                    _table(group.messages, fields),
                    group.times,
                    first_lines,
                    group.lines.__getitem__,
                    layout,
                    reject,
                    ceiling_ms,
                )
                group.clear()
                if part is not None:
                    parts.append(part)
        if not parts:
            return pa.RecordBatch.from_pylist([], schema=POSITION_SCHEMA)
        batch = pa.RecordBatch.from_arrays(
            [pa.concat_arrays([part[i] for part, _ in parts]) for i in range(len(POSITION_SCHEMA))],
            schema=POSITION_SCHEMA,
        )
        if len(parts) == 1:
            return batch
        order = np.argsort(np.concatenate([lines for _, lines in parts]), kind="stable")
        return batch.take(pa.array(order))

    def _columns(
        self,
        table: np.ndarray[Any, Any],
        times_list: list[int],
        line_nos: Int64s,
        lines_of: Callable[[int], Lines],
        layout: tuple[bool, bool, float],
        reject: Rejecter,
        ceiling_ms: int | None,
    ) -> tuple[list[pa.Array], Int64s] | None:
        """The POSITION_SCHEMA columns of a group's usable rows, with their input line
        numbers; every other row is rejected under its reason (a fault of the report first,
        then a time after ``ceiling_ms``)."""
        has_status, has_heading, sog_na = layout
        lat, lon = table["lat"], table["lon"]
        missing = np.isnan(lat) | np.isnan(lon)
        good_mmsi = valid_mmsi_mask(table["mmsi"])
        usable = usable_lat_lon(lat, lon) & good_mmsi
        times = np.array(times_list, dtype=np.int64)
        stored = usable if ceiling_ms is None else usable & (times <= ceiling_ms)
        for index in np.flatnonzero(~stored).tolist():
            if not good_mmsi[index]:
                reason = "invalid_mmsi"
            elif not usable[index]:
                reason = "undecodable" if missing[index] else "invalid_position"
            else:
                reason = "future_time"
            reject(reason, lines_of(index))
        keep = np.flatnonzero(stored)
        if keep.size == 0:
            return None
        if keep.size < len(table):
            table, times, line_nos = table[keep], times[keep], line_nos[keep]
        rows = keep.size
        heading = available_angle(table["heading"]) if has_heading else np.full(rows, np.nan)
        status = available_status(table["status"]) if has_status else np.full(rows, -1, np.int8)
        columns = [
            pa.array(table["mmsi"].astype(np.uint32)),  # valid MMSIs fit 30 bits
            pa.array(times).cast(TS_TYPE),
            pa.array(np.ascontiguousarray(table["lat"])),
            pa.array(np.ascontiguousarray(table["lon"])),
            pa.array(available_speed(table["speed"], sog_na), pa.float32()),
            pa.array(available_angle(table["course"]), pa.float32()),
            pa.array(heading, pa.float32()),
            pa.array(status),
            pa.array(table["msg_type"].astype(np.uint8)),
            pa.repeat(pa.scalar(self.source, pa.string()), rows),
        ]
        return columns, line_nos


_FIELDS = ("mmsi", "lat", "lon", "speed", "course", "msg_type")
_FIELD_TYPES = {"mmsi": "i8", "status": "i2", "msg_type": "i2"}  # the rest: float64


def _table(messages: list[Any], fields: tuple[str, ...]) -> np.ndarray[Any, Any]:
    """The fields of every message as one structured array, in one pass over the messages.

    A field beyond a short payload is None in pyais: NaN for floats, -1 for integers.
    """
    dtype = np.dtype([(name, _FIELD_TYPES.get(name, "f8")) for name in fields])
    getter = attrgetter(*fields)
    try:
        return np.fromiter(map(getter, messages), dtype=dtype, count=len(messages))
    except (TypeError, ValueError):
        rows = list(map(getter, messages))
        table = np.empty(len(rows), dtype=dtype)
        for number, name in enumerate(fields):
            column = [row[number] for row in rows]
            if dtype[name].kind == "f":
                table[name] = np.array(column, dtype=np.float64)  # None -> NaN
            else:
                table[name] = [-1 if value is None else value for value in column]
        return table
