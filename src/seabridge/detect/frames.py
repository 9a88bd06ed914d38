"""Vessel frames: every vessel's latest state at one tick of data time.

:class:`FrameBuilder` keeps, per MMSI, the latest fix and the latest fix the screening
(data-quality) rules accepted, the ship type and flag from static data (the flag of the
MMSI's MID when statics have none) and the party whose fleet holds the vessel. At each tick
:meth:`FrameBuilder.frame` turns that into a :class:`~seabridge.detect.model.VesselFrame`:
only vessels whose latest fix is at most ``max_age_ms`` old are present, rows are sorted by
MMSI (so two nodes given the same data build identical frames), and zone membership is
computed once for all rules. :func:`applies_mask` turns a rulebook entry's
:class:`~seabridge.detect.rule.Applicability` into the mask a rule is evaluated on.

Everything is numpy columns; the builder's memory is a few arrays per vessel ever seen, and
:meth:`FrameBuilder.snapshot` copies them for the engine's late-data checkpoints. No clock,
no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seabridge.ais.mid import flags_for_mmsis
from seabridge.detect.model import VesselFrame
from seabridge.detect.rule import Applicability
from seabridge.geo import ZoneSet
from seabridge.packs.parties import Party, party_index

__all__ = ["UNDERWAY_MIN_KN", "FrameBuilder", "applies_mask", "fleet_mask", "underway_mask"]

UNDERWAY_MIN_KN = 0.5  # below this SOG a vessel is not "under way" for applicability
_STATIONARY_STATUS = (1, 5)  # at anchor, moored (ITU-R M.1371-5 table 45)
_NEVER = np.iinfo(np.int64).min
_FIX_COLUMNS = ("lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status")


class _Latest:
    """The latest fix per slot (one of two sets: any fix, accepted fixes)."""

    def __init__(self, capacity: int) -> None:
        self.ts_ms = np.full(capacity, _NEVER, dtype=np.int64)
        self.lat = np.full(capacity, np.nan)
        self.lon = np.full(capacity, np.nan)
        self.sog_kn = np.full(capacity, np.nan)
        self.cog_deg = np.full(capacity, np.nan)
        self.heading_deg = np.full(capacity, np.nan)
        self.nav_status = np.full(capacity, -1, dtype=np.int8)

    def grow(self, capacity: int) -> None:
        for name, fill in (("ts_ms", _NEVER), *((c, np.nan) for c in _FIX_COLUMNS[:5])):
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        nav = np.full(capacity, -1, dtype=np.int8)
        nav[: self.nav_status.shape[0]] = self.nav_status
        self.nav_status = nav

    def update(self, slots: Any, ts_ms: Any, columns: dict[str, Any]) -> None:
        """Take each slot's last row (rows sorted by ts) where it is not older than stored."""
        if slots.size == 0:
            return
        reverse_first = np.unique(slots[::-1], return_index=True)[1]
        last = slots.size - 1 - reverse_first
        target = slots[last]
        newer = ts_ms[last] >= self.ts_ms[target]
        rows, target = last[newer], target[newer]
        self.ts_ms[target] = ts_ms[rows]
        for name in _FIX_COLUMNS:
            getattr(self, name)[target] = columns[name][rows]

    def copy(self) -> _Latest:
        twin = _Latest(0)
        for name in ("ts_ms", *_FIX_COLUMNS):
            setattr(twin, name, getattr(self, name).copy())
        return twin


class FrameBuilder:
    """Latest state per vessel, and frames at tick times.

    Args:
        parties: The parties whose fleets :attr:`VesselFrame.party` indexes.
        zones: The zones whose membership every frame carries.
        max_age_ms: A vessel is present while its latest fix is at most this old.
    """

    def __init__(self, parties: Sequence[Party], zones: ZoneSet, *, max_age_ms: int) -> None:
        self.parties = tuple(parties)
        self.zones = zones
        self.max_age_ms = max_age_ms
        self._size = 0
        capacity = 64
        self._mmsi = np.zeros(capacity, dtype=np.uint32)
        self._ship_type = np.zeros(capacity, dtype=np.int16)
        self._flag = np.full(capacity, "", dtype="<U2")
        self._party = np.full(capacity, -1, dtype=np.int16)
        self._any = _Latest(capacity)
        self._ok = _Latest(capacity)
        self._order = np.zeros(0, dtype=np.intp)  # slots sorted by MMSI
        self._sorted = np.zeros(0, dtype=np.uint32)  # the MMSIs in that order

    def __len__(self) -> int:
        """Vessels ever seen (by a fix or a static report)."""
        return self._size

    # -- slots --------------------------------------------------------------------------

    def _grow(self, capacity: int) -> None:
        for name, fill in (("_mmsi", 0), ("_ship_type", 0), ("_flag", ""), ("_party", -1)):
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        self._any.grow(capacity)
        self._ok.grow(capacity)

    def _slots(self, mmsi: Any) -> Any:
        """The slot of each MMSI, creating slots for new vessels."""
        unique, inverse = np.unique(mmsi, return_inverse=True)
        where, known = self._find(unique)
        if not known.all():
            new = unique[~known].astype(np.uint32)
            first = self._size
            self._size += new.size
            if self._size > self._mmsi.shape[0]:
                self._grow(max(self._size, 2 * self._mmsi.shape[0]))
            span = slice(first, self._size)
            self._mmsi[span] = new
            flags = flags_for_mmsis(new).fill_null("")
            self._flag[span] = np.asarray(flags.to_pylist(), dtype="<U2")
            self._party[span] = party_index(self.parties, new)
            self._order = np.argsort(self._mmsi[: self._size], kind="stable")
            self._sorted = self._mmsi[self._order]
            where, known = self._find(unique)
        return self._order[where][inverse.reshape(-1)]

    def _find(self, unique: Any) -> tuple[Any, Any]:
        """(position in the MMSI-sorted slots, whether known) for sorted unique MMSIs."""
        if self._sorted.size == 0:
            return np.zeros(unique.size, dtype=np.intp), np.zeros(unique.size, dtype=np.bool_)
        where = np.searchsorted(self._sorted, unique)
        clipped = np.minimum(where, self._sorted.size - 1)
        known = (where < self._sorted.size) & (self._sorted[clipped] == unique)
        return clipped, known

    # -- input --------------------------------------------------------------------------

    def apply(self, fixes: pa.Table, accepted: Any = None) -> None:
        """New fixes (POSITION_SCHEMA, sorted by ts); ``accepted`` marks the usable ones."""
        if fixes.num_rows == 0:
            return
        slots = self._slots(fixes.column("mmsi").to_numpy())
        ts_ms = fixes.column("ts").cast(pa.int64()).to_numpy()
        columns = {
            "lat": fixes.column("lat").to_numpy(),
            "lon": fixes.column("lon").to_numpy(),
            "sog_kn": _floats(fixes.column("sog_kn")),
            "cog_deg": _floats(fixes.column("cog_deg")),
            "heading_deg": _floats(fixes.column("heading_deg")),
            "nav_status": fixes.column("nav_status").fill_null(-1).to_numpy(),
        }
        self._any.update(slots, ts_ms, columns)
        if accepted is None:
            self._ok.update(slots, ts_ms, columns)
        else:
            keep = np.flatnonzero(accepted)
            self._ok.update(slots[keep], ts_ms[keep], {k: v[keep] for k, v in columns.items()})

    def apply_statics(self, statics: pa.Table) -> None:
        """Ship type and flag from static reports (any table with ``mmsi`` and optionally
        ``ship_type`` and ``flag`` columns, e.g. STATIC_SCHEMA or the store's vessels). Later
        rows win; nulls leave what is known."""
        if statics.num_rows == 0:
            return
        slots = self._slots(statics.column("mmsi").to_numpy())
        names = statics.column_names
        if "ship_type" in names:
            column = statics.column("ship_type")
            known = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
            values = column.fill_null(0).to_numpy().astype(np.int16)
            self._assign_last(self._ship_type, slots[known], values[known])
        if "flag" in names:
            column = statics.column("flag")
            valid = pc.and_(column.is_valid(), pc.equal(pc.utf8_length(column.fill_null("")), 2))
            known = np.flatnonzero(valid.to_numpy(zero_copy_only=False))
            values = np.asarray(column.fill_null("").to_pylist(), dtype="<U2")
            self._assign_last(self._flag, slots[known], values[known])

    @staticmethod
    def _assign_last(target: Any, slots: Any, values: Any) -> None:
        if slots.size == 0:
            return
        reverse_first = np.unique(slots[::-1], return_index=True)[1]
        last = slots.size - 1 - reverse_first
        target[slots[last]] = values[last]

    # -- output -------------------------------------------------------------------------

    def frame(self, time_ms: int) -> VesselFrame:
        """Every vessel whose latest fix is at most ``max_age_ms`` old at ``time_ms``."""
        oldest = time_ms - self.max_age_ms
        order = self._order
        rows = order[self._any.ts_ms[order] >= oldest]
        usable = self._ok.ts_ms[rows] >= oldest

        def pick(name: str) -> Any:
            return np.where(usable, getattr(self._ok, name)[rows], getattr(self._any, name)[rows])

        lat, lon = pick("lat"), pick("lon")
        if len(self.zones) and rows.size:
            zone_point, zone_index = self.zones.membership(lat, lon)
        else:
            zone_point = zone_index = np.empty(0, dtype=np.intp)
        return VesselFrame(
            time_ms=time_ms,
            mmsi=self._mmsi[rows],
            ts_ms=pick("ts_ms"),
            lat=lat,
            lon=lon,
            sog_kn=pick("sog_kn"),
            cog_deg=pick("cog_deg"),
            heading_deg=pick("heading_deg"),
            nav_status=pick("nav_status"),
            ship_type=self._ship_type[rows],
            flag=self._flag[rows],
            party=self._party[rows],
            zone_point=zone_point,
            zone_index=zone_index,
            zone_ids=self.zones.ids,
            usable=usable,
        )

    # -- checkpoints --------------------------------------------------------------------

    def snapshot(self) -> Any:
        """A copy of everything the builder holds (for late-data replays)."""
        return (
            self._size,
            self._mmsi.copy(),
            self._ship_type.copy(),
            self._flag.copy(),
            self._party.copy(),
            self._any.copy(),
            self._ok.copy(),
            self._order.copy(),
            self._sorted.copy(),
        )

    def restore(self, saved: Any) -> None:
        """Go back to a state returned by :meth:`snapshot` (which stays reusable)."""
        size, mmsi, ship_type, flag, party, any_fix, ok_fix, order, ordered = saved
        self._size, self._sorted = size, ordered.copy()
        self._mmsi, self._ship_type = mmsi.copy(), ship_type.copy()
        self._flag, self._party = flag.copy(), party.copy()
        self._any, self._ok, self._order = any_fix.copy(), ok_fix.copy(), order.copy()


def _floats(column: pa.ChunkedArray) -> Any:
    """A float column as float64 numpy, nulls as NaN."""
    return column.cast(pa.float64()).fill_null(np.nan).to_numpy()


def underway_mask(frame: VesselFrame) -> Any:
    """Rows under way: SOG known and at least 0.5 kn, not at anchor or moored."""
    moving = np.nan_to_num(frame.sog_kn, nan=0.0) >= UNDERWAY_MIN_KN
    return moving & ~np.isin(frame.nav_status, _STATIONARY_STATUS)


def applies_mask(
    frame: VesselFrame,
    applies: Applicability,
    parties: Sequence[Party],
    *,
    with_fleets: bool = True,
    with_zones: bool = True,
) -> Any:
    """The rows a rulebook entry applies to (every filter that is set must hold).

    ``with_fleets=False`` leaves the fleet filter out: pair rules apply it to the pair
    (at least one of the two in a listed fleet), not to each vessel. ``with_zones=False``
    leaves the zone filter out, for rules that watch the zones themselves (ZONE_AWARE).
    """
    mask = np.ones(len(frame), dtype=np.bool_)
    if applies.ship_types is not None:
        in_range = np.zeros(len(frame), dtype=np.bool_)
        for first, last in applies.ship_types:
            in_range |= (frame.ship_type >= first) & (frame.ship_type <= last)
        mask &= in_range
    if applies.flags is not None:
        mask &= np.isin(frame.flag, applies.flags)
    if with_zones and applies.zones is not None:
        inside = np.zeros(len(frame), dtype=np.bool_)
        for zone_id in applies.zones:
            inside |= frame.in_zone(zone_id)
        mask &= inside
    if with_fleets and applies.fleets is not None:
        mask &= fleet_mask(frame.party, applies.fleets, parties)
    if applies.underway_only:
        mask &= underway_mask(frame)
    return mask


def fleet_mask(party: Any, fleets: Sequence[str], parties: Sequence[Party]) -> Any:
    """Rows whose party (index into ``parties``) is one of ``fleets`` (party ids)."""
    wanted = [i for i, p in enumerate(parties) if p.id in fleets]
    return np.isin(party, np.asarray(wanted, dtype=np.int16))
