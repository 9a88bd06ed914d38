"""Bounded-window de-duplication of reports heard by several receivers.

The same AIS report is often received by several stations. Positions are duplicates when
``(mmsi, ts, lat, lon, msg_type)`` are equal (:data:`POSITION_KEY`); statics when every
column but ``source`` is (:data:`STATIC_KEY`). A report is a duplicate when an identical
report is in the same batch, or was stored before. This module answers the second question
for reports whose ``ts`` is within the window of the newest ``ts`` stored before this batch:
only keys with ``ts >= newest ts - window`` are remembered, so memory is bounded by the
traffic of one window, never by all history. Reports older than that (a second receiver's
day ingested after the first's, a re-ingested file) are the store's to look up in the
database (:func:`seabridge.tracks.queries.stored_matches`), by :meth:`PositionDedup.cutoff_ms`
and :meth:`StaticDedup.cutoff_ms`.

Positions are matched through a 64-bit hash of the key held in a sorted numpy array, and every
hash hit is confirmed by comparing the key columns themselves, so a hash collision can at worst
store a duplicate, never drop a distinct report. Statics (a small share of traffic) are matched
on a string key with Arrow's hash kernels. This module keeps keys in memory only; it must not
read or write the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from seabridge.ais.records import STATIC_SCHEMA

__all__ = [
    "POSITION_KEY",
    "STATIC_KEY",
    "PositionDedup",
    "PositionKeys",
    "StaticDedup",
    "static_keys",
]

BoolArray = npt.NDArray[np.bool_]

#: The columns that make two positions the same report.
POSITION_KEY = ("mmsi", "ts", "lat", "lon", "msg_type")
#: The columns that make two static reports the same: all but ``source``.
STATIC_KEY = tuple(name for name in STATIC_SCHEMA.names if name != "source")
U64 = npt.NDArray[np.uint64]

# splitmix64 finaliser constants (Steele, Lea, Flood: "Fast splittable pseudorandom number
# generators", OOPSLA 2014).
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _mix(h: U64) -> U64:
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX_1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX_2
    return h ^ (h >> np.uint64(31))


@dataclass(frozen=True, slots=True)
class PositionKeys:
    """The de-duplication key columns of some positions, with their hash."""

    h: U64
    mmsi: npt.NDArray[np.uint32]
    ts_ms: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    msg_type: npt.NDArray[np.uint8]

    @classmethod
    def from_table(cls, table: pa.Table) -> PositionKeys:
        """Keys of an Arrow table with the position columns (no nulls in the key columns)."""
        mmsi = table.column("mmsi").to_numpy().astype(np.uint32, copy=False)
        ts_ms = table.column("ts").cast(pa.int64()).to_numpy().astype(np.int64, copy=False)
        # Adding 0.0 turns -0.0 into 0.0, which compare equal and must hash alike.
        lat = table.column("lat").to_numpy().astype(np.float64) + 0.0
        lon = table.column("lon").to_numpy().astype(np.float64) + 0.0
        msg_type = table.column("msg_type").to_numpy().astype(np.uint8, copy=False)
        h = _mix(mmsi.astype(np.uint64) | (msg_type.astype(np.uint64) << np.uint64(32)))
        h = _mix(h ^ ts_ms.view(np.uint64))
        h = _mix(h ^ lat.view(np.uint64))
        h = _mix(h ^ lon.view(np.uint64))
        return cls(h, mmsi, ts_ms, lat, lon, msg_type)

    def __len__(self) -> int:
        return len(self.h)

    def take(self, index: npt.NDArray[Any]) -> PositionKeys:
        """The keys at ``index`` (integer positions or a boolean mask)."""
        return PositionKeys(
            self.h[index],
            self.mmsi[index],
            self.ts_ms[index],
            self.lat[index],
            self.lon[index],
            self.msg_type[index],
        )

    def same(
        self, i: npt.NDArray[np.intp], other: PositionKeys, j: npt.NDArray[np.intp]
    ) -> BoolArray:
        """Whether the key at each ``i`` here equals the key at the matching ``j`` in ``other``."""
        equal: BoolArray = (
            (self.h[i] == other.h[j])
            & (self.mmsi[i] == other.mmsi[j])
            & (self.ts_ms[i] == other.ts_ms[j])
            & (self.lat[i] == other.lat[j])
            & (self.lon[i] == other.lon[j])
            & (self.msg_type[i] == other.msg_type[j])
        )
        return equal


def _empty_keys() -> PositionKeys:
    return PositionKeys(
        np.empty(0, np.uint64),
        np.empty(0, np.uint32),
        np.empty(0, np.int64),
        np.empty(0, np.float64),
        np.empty(0, np.float64),
        np.empty(0, np.uint8),
    )


def _within_batch(keys: PositionKeys) -> BoolArray:
    """True for every row that repeats an earlier row of the same batch."""
    dup = np.zeros(len(keys), dtype=np.bool_)
    if len(keys) < 2:
        return dup
    order = np.argsort(keys.h, kind="stable")
    later, earlier = order[1:], order[:-1]
    dup[later[keys.same(later, keys, earlier)]] = True
    return dup


class PositionDedup:
    """The keys of recently stored positions, sorted by hash, for a bounded window."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.newest_ms: int | None = None
        self._keys = _empty_keys()
        self._evicted_at_ms: int | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def cutoff_ms(self) -> int | None:
        """The oldest ``ts`` still inside the window, or None before anything is stored."""
        return None if self.newest_ms is None else self.newest_ms - self.window_ms

    def duplicates(self, keys: PositionKeys) -> BoolArray:
        """True for each row that is a duplicate (of an earlier row or a remembered key)."""
        dup = _within_batch(keys)
        cutoff = self.cutoff_ms()
        if cutoff is None or not len(self._keys):
            return dup
        ask = np.flatnonzero(~dup & (keys.ts_ms >= cutoff))
        if not len(ask):
            return dup
        at = np.searchsorted(self._keys.h, keys.h[ask])
        inside = at < len(self._keys)
        ask, at = ask[inside], at[inside]
        dup[ask[keys.same(ask, self._keys, at)]] = True
        return dup

    def remember(self, stored: PositionKeys) -> None:
        """Add the keys of stored rows that are inside the (advanced) window; forget old ones."""
        if not len(stored):
            return
        batch_newest = int(stored.ts_ms.max())
        if self.newest_ms is None or batch_newest > self.newest_ms:
            self.newest_ms = batch_newest
        cutoff = self.newest_ms - self.window_ms
        fresh = stored.take(stored.ts_ms >= cutoff)
        fresh = fresh.take(np.argsort(fresh.h, kind="stable"))
        at = np.searchsorted(self._keys.h, fresh.h)
        old = self._keys
        self._keys = PositionKeys(
            np.insert(old.h, at, fresh.h),
            np.insert(old.mmsi, at, fresh.mmsi),
            np.insert(old.ts_ms, at, fresh.ts_ms),
            np.insert(old.lat, at, fresh.lat),
            np.insert(old.lon, at, fresh.lon),
            np.insert(old.msg_type, at, fresh.msg_type),
        )
        # Compact once the cutoff has moved a quarter window: stale keys never match (lookups
        # check the cutoff), so they only cost memory until then.
        if self._evicted_at_ms is None:
            self._evicted_at_ms = cutoff
        elif cutoff - self._evicted_at_ms >= max(self.window_ms // 4, 1):
            self._keys = self._keys.take(self._keys.ts_ms >= cutoff)
            self._evicted_at_ms = cutoff


_KEY_SEPARATOR = "\x1f"


def static_keys(table: pa.Table) -> pa.Array:
    """One string per static row joining every column but ``source``; nulls stay distinct."""
    parts = []
    for name in table.column_names:
        if name == "source":
            continue
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        text = pc.binary_join_element_wise("v", column.cast(pa.string()), "")
        parts.append(pc.fill_null(text, "n"))
    return pc.binary_join_element_wise(*parts, _KEY_SEPARATOR).combine_chunks()


class StaticDedup:
    """The keys of recently stored static reports, for a bounded window."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.newest_ms: int | None = None
        self._keys: pa.Array = pa.array([], pa.string())
        self._ts_ms: npt.NDArray[np.int64] = np.empty(0, np.int64)

    def __len__(self) -> int:
        return len(self._ts_ms)

    def cutoff_ms(self) -> int | None:
        """The oldest ``ts`` still inside the window, or None before anything is stored."""
        return None if self.newest_ms is None else self.newest_ms - self.window_ms

    def duplicates(self, keys: pa.Array, ts_ms: npt.NDArray[np.int64]) -> BoolArray:
        """True for each row that is a duplicate (of an earlier row or a remembered key)."""
        dup = np.ones(len(ts_ms), dtype=np.bool_)
        codes = pc.dictionary_encode(keys).indices.to_numpy()
        dup[np.unique(codes, return_index=True)[1]] = False
        cutoff = self.cutoff_ms()
        if cutoff is None or not len(self._ts_ms):
            return dup
        seen: BoolArray = pc.is_in(keys, value_set=self._keys).to_numpy(zero_copy_only=False)
        return dup | (seen & (ts_ms >= cutoff))

    def remember(self, keys: pa.Array, ts_ms: npt.NDArray[np.int64]) -> None:
        """Add the keys of stored rows inside the (advanced) window; forget older ones."""
        if not len(ts_ms):
            return
        newest = int(ts_ms.max())
        if self.newest_ms is None or newest > self.newest_ms:
            self.newest_ms = newest
        cutoff = self.newest_ms - self.window_ms
        all_ts = np.concatenate([self._ts_ms, ts_ms])
        keep = all_ts >= cutoff
        self._keys = pa.concat_arrays([self._keys, keys]).filter(pa.array(keep))
        self._ts_ms = all_ts[keep]
