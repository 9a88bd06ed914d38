"""Decoded AIS messages -> Position and Static records; the one place sentinels are mapped.

Position columns are collected raw (as pyais decodes them) and mapped to "not available"
per batch with numpy masks, by message type (ITU-R M.1371-5):

=========  ===========================  =======================  ================
field      types 1, 2, 3, 18, 19         type 9 (SAR aircraft)    type 27 (long range)
=========  ===========================  =======================  ================
SOG        1023 raw = 102.3 kn -> NaN    1023 kn -> NaN           63 kn -> NaN
COG        3600 raw = 360.0 deg -> NaN   360.0 deg -> NaN         511 deg -> NaN
heading    511 -> NaN                    (none)                   (none)
status     15 "undefined" -> -1          (none) -1                15 -> -1
=========  ===========================  =======================  ================

Latitude and longitude are checked before a row is added (see :func:`valid_lat_lon`):
91 / 181 (not available), out-of-range values and exactly (0, 0) are rejected.
Names, call signs and destinations are cut at the first ``@`` (the ITU padding character,
as gpsd does) and stripped of spaces; an empty text is null.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from seabridge.ais.records import POSITION_SCHEMA, TS_TYPE

__all__ = ["POSITION_TYPES", "STATIC_TYPES", "RawPositions", "clean_text", "valid_lat_lon"]

POSITION_TYPES = frozenset({1, 2, 3, 9, 18, 19, 27})
STATIC_TYPES = frozenset({5, 19, 24})


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


class RawPositions:
    """Position columns as decoded, mapped to records in :meth:`flush`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.mmsi: list[int] = []
        self.ts: list[int] = []
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.sog: list[float] = []
        self.cog: list[float] = []
        self.heading: list[float] = []
        self.status: list[int] = []
        self.msg_type: list[int] = []

    def __len__(self) -> int:
        return len(self.mmsi)

    def flush(self) -> pa.RecordBatch:
        """Map sentinels and return the rows as one POSITION_SCHEMA batch; start empty."""
        msg_type = np.asarray(self.msg_type, dtype=np.uint8)
        sog = np.asarray(self.sog, dtype=np.float64)
        cog = np.asarray(self.cog, dtype=np.float64)
        heading = np.asarray(self.heading, dtype=np.float64)
        status = np.asarray(self.status, dtype=np.int16)
        is_sar = msg_type == 9
        is_long_range = msg_type == 27
        is_class = ~(is_sar | is_long_range)
        sog[
            (is_class & (sog >= 102.25)) | (is_sar & (sog >= 1023)) | (is_long_range & (sog >= 63))
        ] = np.nan
        cog[cog >= 360.0] = np.nan
        heading[heading >= 360.0] = np.nan
        status[(status >= 15) | (status < 0)] = -1
        rows = len(msg_type)
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(np.asarray(self.mmsi, dtype=np.uint32)),
                pa.array(np.asarray(self.ts, dtype=np.int64)).cast(TS_TYPE),
                pa.array(np.asarray(self.lat, dtype=np.float64)),
                pa.array(np.asarray(self.lon, dtype=np.float64)),
                pa.array(sog.astype(np.float32)),
                pa.array(cog.astype(np.float32)),
                pa.array(heading.astype(np.float32)),
                pa.array(status.astype(np.int8)),
                pa.array(msg_type),
                pa.repeat(pa.scalar(self.source, pa.string()), rows),
            ],
            schema=POSITION_SCHEMA,
        )
        self.__init__(self.source)  # type: ignore[misc]
        return batch
