"""The Parquet archive: read it by time and vessel, and append to it with the store's invariants.

The archive is what ``seabridge tracks export`` writes (:func:`seabridge.tracks.export.
export_parquet`): ``ROOT/day=YYYY-MM-DD/*.parquet`` (UTC days) in ``POSITION_SCHEMA``, each
file sorted by (mmsi, ts) with row-group statistics. :class:`Archive` reads it from a local
path or any URI pyarrow's filesystems know (``s3://bucket/ais``, ``gs://...``; the matching
filesystem support must be installed), by time window and optionally by MMSI (row groups
are pruned on their statistics). :class:`ArchiveWriter` is an ingest sink
(:class:`~seabridge.ais.ingest.RecordSink`) that writes straight to a local archive, for bulk
history that never needs the live store: positions are buffered, and each flush rewrites
every touched day as one file, the old rows and the new merged, de-duplicated on the store's
key (:data:`~seabridge.tracks.dedup.POSITION_KEY`: exact, since the key holds the time and so
the day) and sorted by (mmsi, ts), written beside it and renamed over it (a reader sees the
old day or the new one, never half). Static reports go to ``ROOT/_statics.parquet`` (names
starting with ``_`` are not partitions to dataset readers), de-duplicated on every column but
``source``. This module reads and writes archive files only; it must not touch the store.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA, TS_TYPE
from seabridge.errors import InputError
from seabridge.tracks.dedup import POSITION_KEY, STATIC_KEY
from seabridge.tracks.export import STATICS_FILE
from seabridge.tracks.schema import conform
from seabridge.units import S_PER_DAY, ms_to_datetime

__all__ = ["MS_PER_DAY", "STATICS_FILE", "Archive", "ArchiveWriter", "day_dir"]

MS_PER_DAY = S_PER_DAY * 1000
_DAY = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")
_ROW_GROUP_ROWS = 65_536  # as tracks.export: prunes well by mmsi, compresses well
_FLUSH_ROWS = 2_000_000


def day_dir(day: int) -> str:
    """``day=YYYY-MM-DD`` of a day number (days since the epoch, UTC)."""
    return "day=" + ms_to_datetime(day * MS_PER_DAY).strftime("%Y-%m-%d")


def _day_number(text: str) -> int:
    year, month, day = (int(part) for part in text.split("-"))
    return int(np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D").astype(np.int64))


def _filesystem(root: str | Path) -> tuple[pafs.FileSystem, str]:
    text = str(root)
    if "://" in text:
        try:
            return pafs.FileSystem.from_uri(text)  # type: ignore[no-any-return]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise InputError(
                f"{text}: cannot open this archive location ({exc}); use a local directory or "
                "a URI whose filesystem is installed (e.g. s3:// with pyarrow's S3 support)"
            ) from exc
    return pafs.LocalFileSystem(), str(Path(text).resolve())


@dataclass(frozen=True, slots=True)
class _Day:
    day: int
    files: tuple[str, ...]


class Archive:
    """A day-partitioned Parquet archive of positions, read by time window and MMSI.

    Picklable (a root and a file listing), so Dask workers can open it by themselves.

    Raises:
        InputError: the root is missing, is not a directory, or holds no ``day=`` partition.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = str(root)
        fs, base = _filesystem(root)
        info = fs.get_file_info(base)
        if info.type == pafs.FileType.NotFound:
            raise InputError(
                f"{root}: no archive here; write one with `seabridge tracks export --format "
                "parquet` or `seabridge ingest ... --archive DIR`"
            )
        if info.type != pafs.FileType.Directory:
            raise InputError(f"{root}: not a directory; give the archive's root directory")
        days: list[_Day] = []
        for entry in fs.get_file_info(pafs.FileSelector(base)):
            match = _DAY.match(entry.base_name)
            if entry.type != pafs.FileType.Directory or match is None:
                continue
            files = sorted(
                f.path
                for f in fs.get_file_info(pafs.FileSelector(entry.path))
                if f.type == pafs.FileType.File
                and f.base_name.endswith(".parquet")
                and not f.base_name.startswith((".", "_"))
            )
            if files:
                days.append(_Day(_day_number(match.group(1)), tuple(files)))
        if not days:
            raise InputError(
                f"{root}: no day=YYYY-MM-DD partitions with Parquet files; is this an archive "
                "written by `seabridge tracks export --format parquet`?"
            )
        self._base = base
        self._days = {d.day: d for d in sorted(days, key=lambda d: d.day)}
        # The day read last, sorted by ts, and its times: files are sorted by (mmsi, ts), so
        # their row-group ts statistics span the whole day and a time filter would decode
        # the whole file for every chunk of it; a day is read once and sliced instead.
        self._cached: tuple[int, pa.Table, np.ndarray[Any, np.dtype[np.int64]]] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Archive, (self.root,))

    @property
    def days(self) -> list[int]:
        """The day numbers (days since the epoch) that have data, in order."""
        return list(self._days)

    def span_ms(self) -> tuple[int, int]:
        """(first, last) position time in the archive, from the row-group statistics."""
        fs, _ = _filesystem(self.root)
        first, last = self._days[self.days[0]], self._days[self.days[-1]]
        return _ts_bound(fs, first.files, min), _ts_bound(fs, last.files, max)

    def positions(
        self,
        start_ms: int,
        end_ms: int,
        mmsi: Collection[int] | None = None,
    ) -> pa.Table:
        """Positions in ``[start_ms, end_ms)`` (of ``mmsi`` only, when given), sorted by ts."""
        if end_ms <= start_ms or (mmsi is not None and not mmsi):
            return POSITION_SCHEMA.empty_table()
        wanted = None if mmsi is None else pa.array(sorted(mmsi), pa.uint32())
        parts = []
        for day in range(start_ms // MS_PER_DAY, (end_ms - 1) // MS_PER_DAY + 1):
            if day not in self._days:
                continue
            table, ts = self._day(day)
            lo, hi = np.searchsorted(ts, [start_ms, end_ms], side="left")
            part = table.slice(int(lo), int(hi - lo))
            if wanted is not None:
                part = part.filter(pc.is_in(part.column("mmsi"), value_set=wanted))
            parts.append(part)
        if not parts:
            return POSITION_SCHEMA.empty_table()
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)

    def _day(self, day: int) -> tuple[pa.Table, np.ndarray[Any, np.dtype[np.int64]]]:
        """Day ``day``'s positions sorted by ts (stable: file order within a time), and their
        times in ms; the last day read is kept."""
        cached = self._cached
        if cached is not None and cached[0] == day:
            return cached[1], cached[2]
        fs, _ = _filesystem(self.root)
        dataset = ds.dataset(
            list(self._days[day].files), schema=POSITION_SCHEMA, format="parquet", filesystem=fs
        )
        table = dataset.to_table()
        table = table.take(pc.sort_indices(table, sort_keys=[("ts", "ascending")]))
        ts = table.column("ts").cast(pa.int64()).to_numpy().astype(np.int64, copy=False)
        self._cached = (day, table, ts)
        return table, ts

    def statics(self) -> pa.Table | None:
        """The archive's static reports (sorted by ts), or None when it has none."""
        fs, base = _filesystem(self.root)
        path = f"{base}/{STATICS_FILE}"
        if fs.get_file_info(path).type != pafs.FileType.File:
            return None
        return pq.read_table(path, filesystem=fs).sort_by([("ts", "ascending")])


def _ts_bound(fs: pafs.FileSystem, files: tuple[str, ...], pick: Any) -> int:
    values: list[int] = []
    for path in files:
        with fs.open_input_file(path) as handle:
            meta = pq.ParquetFile(handle).metadata
        column = meta.schema.names.index("ts")
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(column).statistics
            if stats is not None and stats.has_min_max:
                bound = stats.min if pick is min else stats.max
                values.append(int(pa.scalar(bound, TS_TYPE).cast(pa.int64()).as_py()))
    if not values:
        raise InputError(f"{files[0]}: no ts statistics; rewrite it with `seabridge tracks export`")
    return int(pick(values))


def _dedup_sorted(table: pa.Table, key: tuple[str, ...]) -> tuple[pa.Table, int]:
    """Rows sorted by (mmsi, ts, rest of the key), the first of each equal key kept."""
    if table.num_rows == 0:
        return table, 0
    columns = {name: table.column(name) for name in key}
    arrays = [
        np.asarray(columns[name].cast(pa.int64()).to_numpy())
        if name == "ts"
        else np.asarray(columns[name].to_numpy())
        for name in key
    ]
    index = np.arange(table.num_rows)
    # np.lexsort sorts by its last key first; the row index keeps equal keys in input order.
    order = np.lexsort([index, *(arrays[key.index(n)] for n in reversed(_sort_key(key)))])
    same = np.ones(order.size, dtype=bool)
    same[0] = False
    for values in arrays:
        ordered = values[order]
        same[1:] &= ordered[1:] == ordered[:-1]
    kept = order[~same]
    return table.take(pa.array(kept)), int(same.sum())


def _sort_key(key: tuple[str, ...]) -> list[str]:
    return ["mmsi", "ts", *(name for name in key if name not in ("mmsi", "ts"))]


class ArchiveWriter:
    """An ingest sink that appends to a local archive (see the module docstring).

    Use as a context manager; :meth:`close` writes what is buffered. ``duplicates`` counts
    the rows dropped so far (known at each flush: :meth:`append_positions` returns 0).

    Raises:
        InputError: the root is a file or cannot be written.
    """

    def __init__(self, root: Path, *, flush_rows: int = _FLUSH_ROWS) -> None:
        if "://" in str(root):
            raise InputError(f"{root}: ingest writes local archives only; copy it up afterwards")
        if root.exists() and not root.is_dir():
            raise InputError(f"{root}: not a directory; give a directory for the archive")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{root}: cannot create the archive ({exc.strerror})") from exc
        self.root = root
        self.flush_rows = flush_rows
        self.duplicates = 0
        self.rows_written = 0
        self._positions: list[pa.Table] = []
        self._buffered = 0
        self._statics: list[pa.Table] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def append_positions(self, batch: pa.RecordBatch | pa.Table) -> int:
        table = conform(batch, POSITION_SCHEMA, "positions")
        if table.num_rows:
            self._positions.append(table)
            self._buffered += table.num_rows
            if self._buffered >= self.flush_rows:
                self.flush()
        return 0

    def append_statics(self, batch: pa.RecordBatch | pa.Table) -> int:
        table = conform(batch, STATIC_SCHEMA, "statics")
        if table.num_rows:
            self._statics.append(table)
        return 0

    def flush(self) -> None:
        """Merge the buffered positions into their days (one rewrite per touched day)."""
        if not self._positions:
            return
        table = pa.concat_tables(self._positions)
        self._positions, self._buffered = [], 0
        day = pc.divide(table.column("ts").cast(pa.int64()), MS_PER_DAY).to_numpy()
        for number in np.unique(day).tolist():
            self._merge_day(int(number), table.filter(pa.array(day == number)))

    def _merge_day(self, day: int, new: pa.Table) -> None:
        folder = self.root / day_dir(day)
        old = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))
        parts = [conform(pq.read_table(p), POSITION_SCHEMA, "positions") for p in old]
        merged, dropped = _dedup_sorted(pa.concat_tables([*parts, new]), POSITION_KEY)
        self.duplicates += dropped
        self.rows_written += merged.num_rows - sum(p.num_rows for p in parts)
        target = folder / "part-0.parquet"
        partial = folder / ".part-0.parquet.tmp"
        try:
            folder.mkdir(exist_ok=True)
            pq.write_table(
                merged.select(POSITION_SCHEMA.names),
                partial,
                row_group_size=_ROW_GROUP_ROWS,
                compression="zstd",
                write_statistics=True,
                sorting_columns=[pq.SortingColumn(0), pq.SortingColumn(1)],
            )
            partial.replace(target)
            for path in old:
                if path != target:
                    path.unlink()
        except OSError as exc:
            raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from exc

    def close(self) -> None:
        """Write the buffered positions and the static reports."""
        self.flush()
        if not self._statics:
            return
        target = self.root / STATICS_FILE
        parts = (
            [conform(pq.read_table(target), STATIC_SCHEMA, "statics")] if target.exists() else []
        )
        table = pa.concat_tables([*parts, *self._statics])
        self._statics = []
        keys = [name for name in STATIC_KEY if name in table.column_names]
        grouped = table.group_by(keys, use_threads=False).aggregate([("source", "first")])
        grouped = grouped.rename_columns([*keys, "source"])
        merged = grouped.select(STATIC_SCHEMA.names).cast(STATIC_SCHEMA)
        self.duplicates += table.num_rows - merged.num_rows
        partial = self.root / f".{STATICS_FILE}.tmp"
        pq.write_table(merged.sort_by([("ts", "ascending"), ("mmsi", "ascending")]), partial)
        partial.replace(target)
