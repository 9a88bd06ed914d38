"""The track store: one DuckDB file of positions and static reports, owned by one process.

DuckDB lets one process open a file while it is written, and not even a reader besides (DESIGN.md
"Storage"), so :meth:`TrackStore.open` turns a lock conflict into :class:`StoreLockedError`
saying what to do. The store also refuses a second open of the same file inside one process,
since two de-duplication windows over one file would store each other's duplicates. Appends take
Arrow batches, drop duplicates and return how many they dropped. Reports within the bounded
in-memory window of the newest stored time (:mod:`seabridge.tracks.dedup`; the live path) are
matched there; older ones are matched against the stored rows of their hours in the database
(:func:`seabridge.tracks.queries.stored_matches`), so a second receiver's day, or a file
ingested twice, adds only what is new, and no index grows with all history. On reopen the
window is rebuilt from the last window of stored data. One store object may be shared by
threads: calls are serialised. This module owns the connection; SQL for reading lives in
:mod:`seabridge.tracks.queries` and file output in :mod:`seabridge.tracks.export`, and it must
not parse AIS or know about detection.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA
from seabridge.config import Settings
from seabridge.errors import StoreError, StoreLockedError
from seabridge.tracks import export, queries
from seabridge.tracks.dedup import (
    POSITION_KEY,
    STATIC_KEY,
    PositionDedup,
    PositionKeys,
    StaticDedup,
    static_keys,
)
from seabridge.tracks.schema import conform, create_or_check, to_schema
from seabridge.units import ms_to_datetime

__all__ = ["TrackStore"]

_MS_PER_MIN = 60_000
_WINDOW_SETTING = "ingest.dedup_window_min"
_BATCH_VIEW = "_seabridge_batch"
_OPEN_PATHS: set[Path] = set()
_OPEN_PATHS_LOCK = threading.Lock()


def _locked_message(path: Path, exc: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (
        f"{path}: the track store is open in {holder} (DuckDB allows one process per file, even "
        "for reading). Another seabridge process holds it: stop that process, or query through "
        "the running node's API instead."
    )


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        text = str(exc)
        if "conflicting lock" in text.lower() or "could not set lock" in text.lower():
            raise StoreLockedError(_locked_message(path, exc)) from exc
        raise StoreError(f"{path}: cannot open the track store: {text}") from exc


class TrackStore:
    """Positions and static reports in one DuckDB file, with bounded-window de-duplication.

    Open with :meth:`open`, preferably as a context manager. Times are int milliseconds since
    the epoch (UTC); time windows are half-open ``[start_ms, end_ms)``.
    """

    def __init__(
        self,
        path: Path,
        con: duckdb.DuckDBPyConnection,
        dedup_window_ms: int,
        read_only: bool,
    ) -> None:
        """Use :meth:`open`; this takes an already checked connection."""
        self.path = path
        self.read_only = read_only
        self.dedup_window_ms = dedup_window_ms
        self._con: duckdb.DuckDBPyConnection | None = con
        self._key = path.resolve()
        self._lock = threading.RLock()
        self._positions_seen = PositionDedup(dedup_window_ms)
        self._statics_seen = StaticDedup(dedup_window_ms)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        dedup_window_min: float | None = None,
        read_only: bool = False,
    ) -> TrackStore:
        """Open a track store, creating the file and its tables when new.

        Args:
            path: the DuckDB file (e.g. ``node/tracks.duckdb``).
            dedup_window_min: de-duplication window; default setting ``ingest.dedup_window_min``.
            read_only: open without writing (a new file cannot be opened read-only).

        Raises:
            StoreLockedError: another process (or this one) has the file open.
            StoreError: the file cannot be opened or is not a track store of this version.
            ConfigError: ``dedup_window_min`` is outside the setting's range.
        """
        overrides = {} if dedup_window_min is None else {_WINDOW_SETTING: dedup_window_min}
        window_ms = round(Settings(overrides)[_WINDOW_SETTING] * _MS_PER_MIN)
        key = path.resolve()
        with _OPEN_PATHS_LOCK:
            if key in _OPEN_PATHS:
                raise StoreLockedError(
                    f"{path}: the track store is already open in this process; share that "
                    "TrackStore object instead of opening the file again"
                )
            _OPEN_PATHS.add(key)
        try:
            con = _connect(path, read_only)
            try:
                con.execute("SET TimeZone = 'UTC'")
                create_or_check(con, str(path), read_only=read_only)
                store = cls(path, con, window_ms, read_only)
                if not read_only:
                    store._rebuild_windows()
            except duckdb.Error as exc:
                con.close()
                raise StoreError(f"{path}: cannot prepare the track store: {exc}") from exc
            except BaseException:
                con.close()
                raise
        except BaseException:
            with _OPEN_PATHS_LOCK:
                _OPEN_PATHS.discard(key)
            raise
        return store

    def close(self) -> None:
        """Close the file (committed appends are durable); closing twice is harmless."""
        with self._lock:
            if self._con is None:
                return
            self._con.close()
            self._con = None
            with _OPEN_PATHS_LOCK:
                _OPEN_PATHS.discard(self._key)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The open connection (for this package's modules; callers use the methods)."""
        if self._con is None:
            raise StoreError(f"{self.path}: the track store is closed")
        return self._con

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, held for one call; DuckDB errors become :class:`StoreError`."""
        with self._lock:
            try:
                yield self.con
            except duckdb.Error as exc:
                raise StoreError(f"{self.path}: track store query failed: {exc}") from exc

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise StoreError(f"{self.path}: the track store is open read-only")
        return self.con

    def _insert(self, table_name: str, table: pa.Table) -> None:
        con = self._writable()
        columns = ", ".join(table.column_names)
        con.register(_BATCH_VIEW, table)
        try:
            con.execute(f"INSERT INTO {table_name} ({columns}) SELECT {columns} FROM {_BATCH_VIEW}")
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot append to {table_name}: {exc}") from exc
        finally:
            con.unregister(_BATCH_VIEW)

    def append_positions(self, batch: pa.RecordBatch | pa.Table) -> int:
        """Store a batch of positions (``POSITION_SCHEMA``); return how many were duplicates.

        Raises:
            StoreError: the batch does not fit the schema, or the store cannot be written.
        """
        with self._lock:
            self._writable()
            table = conform(batch, POSITION_SCHEMA, "positions")
            if not table.num_rows:
                return 0
            keys = PositionKeys.from_table(table)
            dup = self._positions_seen.duplicates(keys)
            self._match_stored(
                "positions", table, dup, keys.ts_ms, POSITION_KEY, self._positions_seen.cutoff_ms()
            )
            n_dup = int(dup.sum())
            kept = table.filter(pa.array(~dup)) if n_dup else table
            if kept.num_rows:
                self._insert("positions", kept)
            self._positions_seen.remember(keys.take(~dup))
            return n_dup

    def append_statics(self, batch: pa.RecordBatch | pa.Table) -> int:
        """Store a batch of static reports (``STATIC_SCHEMA``); return how many were duplicates.

        Raises:
            StoreError: the batch does not fit the schema, or the store cannot be written.
        """
        with self._lock:
            self._writable()
            table = conform(batch, STATIC_SCHEMA, "statics")
            if not table.num_rows:
                return 0
            keys = static_keys(table)
            ts_ms = table.column("ts").cast(pa.int64()).to_numpy()
            dup = self._statics_seen.duplicates(keys, ts_ms)
            self._match_stored(
                "statics", table, dup, ts_ms, STATIC_KEY, self._statics_seen.cutoff_ms()
            )
            n_dup = int(dup.sum())
            kept = table.filter(pa.array(~dup)) if n_dup else table
            if kept.num_rows:
                self._insert("statics", kept)
            self._statics_seen.remember(keys.filter(pa.array(~dup)), ts_ms[~dup])
            return n_dup

    def _match_stored(
        self,
        table_name: str,
        table: pa.Table,
        dup: npt.NDArray[np.bool_],
        ts_ms: npt.NDArray[np.int64],
        key: tuple[str, ...],
        cutoff_ms: int | None,
    ) -> None:
        """Mark in ``dup`` the rows older than the window that the database already holds."""
        if cutoff_ms is None:  # nothing stored yet (the window is rebuilt on open)
            return
        old = np.flatnonzero(~dup & (ts_ms < cutoff_ms))
        if not len(old):
            return
        try:
            stored = queries.stored_matches(self.con, table_name, table.take(old), key)
        except duckdb.Error as exc:
            raise StoreError(
                f"{self.path}: cannot check {table_name} for duplicates: {exc}"
            ) from exc
        dup[old[stored]] = True

    def _rebuild_windows(self) -> None:
        """Remember the keys of the last window of stored data, as if just appended."""
        for table_name, schema in (("positions", POSITION_SCHEMA), ("statics", STATIC_SCHEMA)):
            newest = self.con.sql(f"SELECT epoch_ms(max(ts)) FROM {table_name}").fetchall()[0][0]
            if newest is None:
                continue
            since = ms_to_datetime(int(newest) - self.dedup_window_ms)
            sql = f"SELECT {', '.join(schema.names)} FROM {table_name} WHERE ts >= ?"
            tail = to_schema(self.con.sql(sql, params=[since]).to_arrow_table(), schema)
            if table_name == "positions":
                self._positions_seen.remember(PositionKeys.from_table(tail))
            else:
                ts_ms = tail.column("ts").cast(pa.int64()).to_numpy()
                self._statics_seen.remember(static_keys(tail), np.asarray(ts_ms))

    def positions(
        self,
        bbox: queries.BBox | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        mmsi: int | Collection[int] | None = None,
        *,
        order: Literal["mmsi", "ts"] = "mmsi",
    ) -> pa.Table:
        """Positions in ``[start_ms, end_ms)``, inside ``bbox``, of ``mmsi`` (each optional).

        Returns a ``POSITION_SCHEMA`` table sorted by (mmsi, ts), or by ts with
        ``order="ts"``. A bbox is ``(west, south, east, north)`` in degrees, edges included;
        ``west > east`` crosses the antimeridian.

        Raises:
            InputError: the bounding box is invalid.
        """
        with self._reading() as con:
            return queries.select_positions(
                con, bbox=bbox, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi, order=order
            )

    def stream_positions(
        self,
        bbox: queries.BBox | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        mmsi: int | Collection[int] | None = None,
        *,
        batch_rows: int = 65_536,
    ) -> tuple[int, Iterator[pa.RecordBatch]]:
        """The positions :meth:`positions` would return, in storage order, as
        ``POSITION_SCHEMA`` batches of at most ``batch_rows``, and how many there are.

        The query runs on its own cursor (a second connection to the same database), one
        consistent snapshot, so the store stays free for appends while the batches are read:
        the result is never held in memory whole. Consume or close the iterator.

        Raises:
            InputError: the bounding box is invalid. StoreError: the query fails.
        """
        sql, params = queries.positions_query(
            bbox=bbox, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi
        )
        count_sql = "SELECT count(*) FROM (" + sql + ")"
        with self._reading() as con:
            cursor = con.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")  # the count and the rows see one snapshot
            (rows,) = cursor.execute(count_sql, params).fetchall()[0]
            reader = cursor.sql(sql, params=params).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            cursor.close()
            raise StoreError(f"{self.path}: track store query failed: {exc}") from exc
        except BaseException:
            cursor.close()
            raise
        return int(rows), self._batches(cursor, reader)

    def _batches(
        self, cursor: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader
    ) -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                table = to_schema(pa.Table.from_batches([batch]), POSITION_SCHEMA)
                yield from table.to_batches()
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: track store query failed: {exc}") from exc
        finally:
            cursor.close()

    def copy_rows(self, table_name: Literal["positions", "statics"], batch: pa.Table) -> None:
        """Append rows copied from another track store as they are, without de-duplication
        (they were de-duplicated when first stored): a local copy of a served node's store.

        Raises:
            StoreError: the batch does not fit the table's schema, or the store is read-only.
        """
        schema = POSITION_SCHEMA if table_name == "positions" else STATIC_SCHEMA
        with self._lock:
            self._writable()
            table = conform(batch, schema, table_name)
            if table.num_rows:
                self._insert(table_name, table)

    def track(self, mmsi: int, start_ms: int | None = None, end_ms: int | None = None) -> pa.Table:
        """One vessel's positions in ``[start_ms, end_ms)``, sorted by ts."""
        return self.positions(start_ms=start_ms, end_ms=end_ms, mmsi=mmsi)

    def latest(
        self,
        at_ms: int | None = None,
        bbox: queries.BBox | None = None,
        *,
        max_age_ms: int | None = None,
    ) -> pa.Table:
        """Each vessel's latest position at or before ``at_ms`` (all data when None).

        Vessels whose latest position is outside ``bbox`` are left out; with ``max_age_ms``
        only positions at or after ``at_ms - max_age_ms`` count. Sorted by mmsi.
        """
        with self._reading() as con:
            return queries.select_latest(con, at_ms=at_ms, bbox=bbox, max_age_ms=max_age_ms)

    def statics(self, end_ms: int | None = None) -> pa.Table:
        """The static reports before ``end_ms`` (all without it), ``STATIC_SCHEMA``, sorted by
        (ts, mmsi)."""
        with self._reading() as con:
            return queries.select_statics(con, end_ms=end_ms)

    def vessels(self) -> pa.Table:
        """One row per vessel (``VESSEL_SCHEMA``): latest non-null static fields, last seen."""
        with self._reading() as con:
            return queries.select_vessels(con)

    def stats(self) -> queries.StoreStats:
        """Row counts, the number of vessels and the first and last data time."""
        with self._reading() as con:
            return queries.store_stats(con)

    def export_parquet(
        self,
        out_dir: Path,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        overwrite: bool = False,
    ) -> export.ParquetExport:
        """Write positions in ``[start_ms, end_ms)`` as a Parquet dataset partitioned by day.

        See :func:`seabridge.tracks.export.export_parquet`.
        """
        with self._reading() as con:
            return export.export_parquet(
                con, out_dir, start_ms=start_ms, end_ms=end_ms, overwrite=overwrite
            )
