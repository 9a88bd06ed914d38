"""What the live feed says about each vessel besides its position: name, ship type, flag, party.

The console's websocket positions carry the same properties as an ``/api/vessels`` feature
(:mod:`seabridge.node.trackview`), so a vessel that first reports after the console loaded
still has its name and its party's colour. :class:`VesselStatics` is the pipeline's small
``mmsi -> statics`` cache: seeded from the track store's vessels when the node starts, updated
as static reports are ingested (the latest non-null value of each field wins, as in
:meth:`~seabridge.tracks.TrackStore.vessels`). The party (whose fleet holds the MMSI) and the
flag (from the MID when no static report gave one) are worked out once per MMSI, so describing
a vessel costs one dict lookup. This module only reads the store.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final

import pyarrow as pa

from seabridge.ais.mid import flag_for_mmsi
from seabridge.packs.parties import Party, party_for_mmsi

__all__ = ["STATIC_KEYS", "VesselStatics"]

STATIC_KEYS: Final = ("name", "ship_type", "flag", "party")
"""The properties a live position gains (as ``/api/vessels`` rows have them)."""
_FROM_REPORTS: Final = ("name", "ship_type", "flag")


class VesselStatics:
    """The ``mmsi -> {name, ship_type, flag, party}`` cache; see the module docstring.

    Args:
        parties: The pack's parties (their fleets give each vessel its party).
    """

    def __init__(self, parties: Sequence[Party]) -> None:
        self.parties = tuple(parties)
        self._known: dict[int, dict[str, Any]] = {}
        self._reported: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._reported)

    def update(self, statics: pa.Table) -> None:
        """Take static reports (``STATIC_SCHEMA`` or ``VESSEL_SCHEMA`` rows), oldest first when
        they carry ``ts``: each non-null field replaces what was known."""
        if not statics.num_rows:
            return
        if "ts" in statics.column_names:
            statics = statics.sort_by("ts")
        columns = [key for key in ("mmsi", *_FROM_REPORTS) if key in statics.column_names]
        rows = statics.select(columns).to_pylist()
        with self._lock:
            for row in rows:
                mmsi = int(row["mmsi"])
                reported = self._reported.setdefault(mmsi, {})
                fresh = {k: row[k] for k in _FROM_REPORTS if row.get(k) not in (None, "")}
                if fresh.items() - reported.items():
                    reported.update(fresh)
                    self._known.pop(mmsi, None)  # worked out again on next use

    def of(self, mmsi: int) -> dict[str, Any]:
        """The static properties of ``mmsi`` (None for what is not known); do not modify."""
        known = self._known.get(mmsi)
        if known is None:
            with self._lock:
                reported = self._reported.get(mmsi, {})
                party = party_for_mmsi(self.parties, mmsi)
                known = {
                    "name": reported.get("name"),
                    "ship_type": reported.get("ship_type"),
                    "flag": reported.get("flag") or flag_for_mmsi(mmsi),
                    "party": None if party is None else party.id,
                }
                self._known[mmsi] = known
        return known
