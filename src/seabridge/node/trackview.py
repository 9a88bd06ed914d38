"""Reads over a serving node's track store while its pipeline writes into it.

The serving node holds ``tracks.duckdb`` (DuckDB allows one process per file), so the
console's routers read through this view, in the same process. The
:class:`~seabridge.tracks.TrackStore` serialises every call on its one connection, so a read
waits at most for one batch append; results are plain JSON-ready dicts (ISO times, floats,
None for "not available"). Every vessel row carries its ``party`` (the pack party whose fleet
holds the MMSI, or None). This module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from seabridge.ais.mid import flag_for_mmsi
from seabridge.packs.parties import Party, party_for_mmsi
from seabridge.tracks import BBox, TrackStore
from seabridge.units import datetime_to_ms, ms_to_iso, ms_to_isos

__all__ = ["POSITION_KEYS", "TrackView"]

POSITION_KEYS = (
    "mmsi", "ts", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status",
    "name", "ship_type", "flag", "party",
)  # fmt: skip
_STATIC_KEYS = ("name", "callsign", "imo", "ship_type", "flag")
_ROW_KEYS = (
    "mmsi", "ts", "ts_ms", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status",
)  # fmt: skip


def _floats(column: pa.ChunkedArray) -> list[float | None]:
    """A float column as JSON numbers: rounded to 6 decimals, NaN and null as None."""
    return [
        None if value is None or value != value else round(value, 6) for value in column.to_pylist()
    ]


def position_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Position rows as dicts: ``mmsi``, ``ts`` (ISO), ``ts_ms`` and the measured values.

    Built a column at a time (the console gets every vessel's newest row at each step).
    """
    ts_ms = table.column("ts").cast(pa.int64()).to_numpy()
    nav = [
        None if value is None or value < 0 else value for value in table["nav_status"].to_pylist()
    ]
    columns = zip(
        table.column("mmsi").to_pylist(),
        ms_to_isos(ts_ms),
        ts_ms.tolist(),
        _floats(table.column("lat")),
        _floats(table.column("lon")),
        _floats(table.column("sog_kn")),
        _floats(table.column("cog_deg")),
        _floats(table.column("heading_deg")),
        nav,
        strict=True,
    )
    return [dict(zip(_ROW_KEYS, values, strict=True)) for values in columns]


class TrackView:
    """Thread-safe reads of a node's track store; see the module docstring.

    Args:
        store: The node's open store (the view never closes it).
        parties: The pack's parties (fleets give each vessel its party).
    """

    def __init__(self, store: TrackStore, parties: Sequence[Party]) -> None:
        self.store = store
        self.parties = tuple(parties)

    def _party(self, mmsi: int) -> str | None:
        party = party_for_mmsi(self.parties, mmsi)
        return party.id if party is not None else None

    def _statics(self) -> dict[int, dict[str, Any]]:
        vessels = self.store.vessels()
        return {int(row["mmsi"]): row for row in vessels.to_pylist()}

    def latest(
        self,
        bbox: BBox | None = None,
        at_ms: int | None = None,
        limit: int = 5000,
    ) -> list[dict[str, Any]]:
        """Each vessel's latest position at or before ``at_ms`` inside ``bbox`` (west, south,
        east, north), the newest ``limit`` of them, sorted by MMSI, with static data."""
        table = self.store.latest(at_ms, bbox)
        rows = position_rows(table)
        if len(rows) > limit:
            rows = sorted(rows, key=lambda r: r["ts_ms"], reverse=True)[: max(0, limit)]
            rows.sort(key=lambda r: r["mmsi"])
        statics = self._statics() if rows else {}
        for row in rows:
            static = statics.get(row["mmsi"], {})
            row["name"] = static.get("name")
            row["ship_type"] = static.get("ship_type")
            row["flag"] = static.get("flag") or flag_for_mmsi(row["mmsi"])
            row["party"] = self._party(row["mmsi"])
        return rows

    def track(
        self, mmsi: int, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """One vessel's positions in ``[start_ms, end_ms)``, oldest first."""
        return position_rows(self.store.track(mmsi, start_ms, end_ms))

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """A vessel's static data, last seen time and party; None when never seen."""
        static = self._statics().get(int(mmsi))
        return None if static is None else self._vessel_record(int(mmsi), static)

    def _vessel_record(self, mmsi: int, static: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {"mmsi": mmsi}
        record.update({key: static.get(key) for key in _STATIC_KEYS})
        last_seen = static.get("last_seen")
        record["last_seen"] = None if last_seen is None else ms_to_iso(datetime_to_ms(last_seen))
        record["party"] = self._party(mmsi)
        return record

    def vessels(self) -> list[dict[str, Any]]:
        """Every vessel seen (static data, last seen time, party), by MMSI."""
        statics = self._statics()
        return [self._vessel_record(mmsi, statics[mmsi]) for mmsi in sorted(statics)]

    def stats(self) -> dict[str, Any]:
        """Row counts, vessels and the first and last data time (ISO, None when empty)."""
        stats = self.store.stats()
        return {
            "positions": stats.positions,
            "statics": stats.statics,
            "vessels": stats.vessels,
            "first": None if stats.first_ms is None else ms_to_iso(stats.first_ms),
            "last": None if stats.last_ms is None else ms_to_iso(stats.last_ms),
        }
