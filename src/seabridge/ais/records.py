"""The normalized records every source produces: Position and Static, as Arrow.

Positions and statics travel as Arrow record batches with the schemas below (DESIGN.md
"Core records"). "Not available" is NaN for float columns, -1 for ``nav_status`` and null
for strings and integers. The AIS sentinels (lat 91, lon 181, SOG 102.3, COG 360, heading
511; ITU-R M.1371-5 table 45) are mapped to "not available" in :mod:`seabridge.ais.normalize`
(the helpers there are shared by the NMEA and CSV paths). Static reports are collected in
plain lists and converted once per batch; positions by
:class:`seabridge.ais.normalize.RawPositions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

import pyarrow as pa

__all__ = [
    "POSITION_SCHEMA",
    "STATIC_SCHEMA",
    "StaticBuilder",
]

TS_TYPE = pa.timestamp("ms", tz="UTC")

POSITION_SCHEMA = pa.schema(
    [
        pa.field("mmsi", pa.uint32(), nullable=False),
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("sog_kn", pa.float32()),
        pa.field("cog_deg", pa.float32()),
        pa.field("heading_deg", pa.float32()),
        pa.field("nav_status", pa.int8()),
        pa.field("msg_type", pa.uint8(), nullable=False),
        pa.field("source", pa.string()),
    ]
)

STATIC_SCHEMA = pa.schema(
    [
        pa.field("mmsi", pa.uint32(), nullable=False),
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("msg_type", pa.uint8(), nullable=False),
        pa.field("imo", pa.uint32()),
        pa.field("callsign", pa.string()),
        pa.field("name", pa.string()),
        pa.field("ship_type", pa.uint8()),
        pa.field("dim_bow_m", pa.uint16()),
        pa.field("dim_stern_m", pa.uint16()),
        pa.field("dim_port_m", pa.uint8()),
        pa.field("dim_starboard_m", pa.uint8()),
        pa.field("destination", pa.string()),
        pa.field("flag", pa.string()),
        pa.field("source", pa.string()),
    ]
)


class StaticBuilder:
    """Collects static-data columns row by row and emits one Arrow batch at a time."""

    def __init__(self) -> None:
        self.rows: list[tuple[object, ...]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def append(
        self,
        *,
        mmsi: int,
        ts_ms: int,
        msg_type: int,
        imo: int | None,
        callsign: str | None,
        name: str | None,
        ship_type: int | None,
        dim_bow_m: int | None,
        dim_stern_m: int | None,
        dim_port_m: int | None,
        dim_starboard_m: int | None,
        destination: str | None,
        flag: str | None,
        source: str,
    ) -> None:
        """Add one static report; fields a message type does not carry are None."""
        self.rows.append(
            (
                mmsi,
                ts_ms,
                msg_type,
                imo,
                callsign,
                name,
                ship_type,
                dim_bow_m,
                dim_stern_m,
                dim_port_m,
                dim_starboard_m,
                destination,
                flag,
                source,
            )
        )

    def keep(self, mask: Sequence[bool]) -> None:
        """Keep only the rows whose entry in ``mask`` (one per row, in order) is true."""
        self.rows = list(compress(self.rows, mask))

    def flush(self) -> pa.RecordBatch:
        """Return the collected rows as one batch and start empty."""
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * len(STATIC_SCHEMA)
        arrays = []
        for field, values in zip(STATIC_SCHEMA, columns, strict=True):
            if field.name == "ts":
                arrays.append(pa.array(values, pa.int64()).cast(TS_TYPE))
            else:
                arrays.append(pa.array(values, field.type))
        self.rows = []
        return pa.RecordBatch.from_arrays(arrays, schema=STATIC_SCHEMA)
