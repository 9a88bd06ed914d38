"""Files out of the track store: the Parquet archive, and query results as CSV, JSONL, GeoJSON.

The archive (:func:`export_parquet`) is a Hive-partitioned dataset,
``day=YYYY-MM-DD/part-0.parquet`` (UTC days), each file sorted by (mmsi, ts) with row-group
statistics, in ``POSITION_SCHEMA``: the format the batch engine reads. :func:`write_table`
writes a query result: in CSV, JSONL and GeoJSON times are ISO 8601 UTC strings
(``2024-05-01T12:00:00Z``, ``.mmm`` only when the milliseconds are not zero), MMSIs are
integers, and "not available" (NaN, null, ``nav_status`` -1) is JSON null or an empty CSV field.
Position tables are written with the query output columns
(:data:`~seabridge.tracks.schema.OUTPUT_COLUMNS`; ``source`` stays internal), other tables with
all their columns. A path that cannot be written is an :class:`~seabridge.errors.InputError`
naming it. This module writes files; it must not change the store.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TextIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from seabridge.ais.records import POSITION_SCHEMA, TS_TYPE
from seabridge.errors import InputError
from seabridge.tracks.geojson import feature_collection
from seabridge.tracks.queries import position_span, select_positions, select_statics
from seabridge.tracks.schema import OUTPUT_COLUMNS
from seabridge.units import S_PER_DAY, ms_to_datetime

__all__ = ["FORMATS", "ParquetExport", "export_parquet", "iso_times", "text_columns", "write_table"]

Format = Literal["csv", "jsonl", "geojson", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "geojson", "parquet")

_MS_PER_DAY = S_PER_DAY * 1000
# Small enough that a file sorted by (mmsi, ts) prunes well by mmsi, big enough to compress.
_ROW_GROUP_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class ParquetExport:
    """What :func:`export_parquet` wrote."""

    rows: int
    files: tuple[Path, ...]


STATICS_FILE: Final = "_statics.parquet"
"""The archive's static reports, beside the day partitions (dataset readers skip ``_`` files)."""


def _unwritable(path: Path, exc: OSError) -> InputError:
    reason = exc.strerror or str(exc)
    return InputError(f"{path}: cannot write here ({reason}); choose a writable path")


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: not a directory; give a directory for the Parquet dataset")
    try:
        if out_dir.exists() and any(out_dir.iterdir()):
            if not overwrite:
                raise InputError(
                    f"{out_dir}: directory is not empty; choose an empty or new directory, or "
                    "pass --overwrite to replace its day=YYYY-MM-DD partitions"
                )
            for partition in out_dir.glob("day=*"):
                if partition.is_dir():
                    shutil.rmtree(partition)
            (out_dir / STATICS_FILE).unlink(missing_ok=True)
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from exc


def _days(
    con: duckdb.DuckDBPyConnection, start_ms: int | None, end_ms: int | None
) -> Iterator[tuple[int, int]]:
    """``[start, end)`` of each UTC day between the first and last stored position in range."""
    span = position_span(con, start_ms, end_ms)
    if span is None:
        return
    first_day, last_day = span[0] // _MS_PER_DAY, span[1] // _MS_PER_DAY
    for day in range(first_day, last_day + 1):
        day_start, day_end = day * _MS_PER_DAY, (day + 1) * _MS_PER_DAY
        lo = day_start if start_ms is None else max(day_start, start_ms)
        hi = day_end if end_ms is None else min(day_end, end_ms)
        yield lo, hi


def export_parquet(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    overwrite: bool = False,
) -> ParquetExport:
    """Write positions in ``[start_ms, end_ms)`` as ``out_dir/day=YYYY-MM-DD/part-0.parquet``.

    Each file holds one UTC day sorted by (mmsi, ts), zstd-compressed, with statistics and
    sorting metadata per row group. Days without positions get no partition. The static
    reports stored before ``end_ms`` (names, ship types, flags: those of earlier days count
    too) go to ``out_dir/_statics.parquet``, sorted by (ts, mmsi), when there are any.

    Raises:
        InputError: ``out_dir`` is a file, is not empty and ``overwrite`` is False, or cannot
            be written (the message names the path).
    """
    _prepare_out_dir(out_dir, overwrite)
    files: list[Path] = []
    rows = 0
    for lo, hi in _days(con, start_ms, end_ms):
        table = select_positions(con, start_ms=lo, end_ms=hi, order="mmsi")
        if not table.num_rows:
            continue
        day = ms_to_datetime(lo).strftime("%Y-%m-%d")
        target = out_dir / f"day={day}" / "part-0.parquet"
        # A dot-file is ignored by dataset readers until the rename makes it visible whole.
        partial = target.with_name(".part-0.parquet.tmp")
        try:
            target.parent.mkdir(exist_ok=True)
            pq.write_table(
                table,
                partial,
                row_group_size=_ROW_GROUP_ROWS,
                compression="zstd",
                write_statistics=True,
                sorting_columns=[pq.SortingColumn(0), pq.SortingColumn(1)],
            )
            partial.replace(target)
        except OSError as exc:  # pyarrow's IO errors are OSErrors too
            raise _unwritable(target, exc) from exc
        files.append(target)
        rows += table.num_rows
    statics = select_statics(con, end_ms=end_ms)
    if statics.num_rows:
        target = out_dir / STATICS_FILE
        partial = out_dir / f".{STATICS_FILE}.tmp"
        try:
            pq.write_table(statics, partial, compression="zstd", write_statistics=True)
            partial.replace(target)
        except OSError as exc:
            raise _unwritable(target, exc) from exc
    return ParquetExport(rows, tuple(files))


def iso_times(times: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Timestamps as ISO 8601 UTC strings; ``.mmm`` only where the milliseconds are not zero."""
    text = pc.strftime(times.cast(TS_TYPE), format="%Y-%m-%dT%H:%M:%S")
    text = pc.replace_substring_regex(text, pattern=r"\.000$", replacement="")
    return pc.binary_join_element_wise(text, "Z", "")


def _not_available_to_null(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), None, column)
        if pa.types.is_float32(column.type):
            # Through text, so 10.1 kn is written as 10.1 and not as 10.100000381469727.
            column = column.cast(pa.string()).cast(pa.float64())
        return column
    if name == "nav_status":
        return pc.if_else(pc.equal(column, -1), None, column)
    return column


def text_columns(table: pa.Table) -> pa.Table:
    """A result prepared for text output: output columns, ISO times, "not available" as null."""
    if set(POSITION_SCHEMA.names) <= set(table.column_names):
        table = table.select(list(OUTPUT_COLUMNS))
    columns = []
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = iso_times(column)
        columns.append(_not_available_to_null(field.name, column))
    return pa.table(columns, names=table.column_names)


def _write_text(text: str | bytes, out: Path | TextIO) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if isinstance(out, Path):
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _unwritable(out, exc) from exc
    else:
        out.write(text)


def _jsonl(table: pa.Table) -> str:
    lines = [
        json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        for row in table.to_pylist()
    ]
    return "".join(line + "\n" for line in lines)


def write_table(
    table: pa.Table,
    fmt: Format,
    out: Path | TextIO,
    *,
    geometry: Literal["points", "lines"] = "points",
) -> None:
    """Write a query result as ``csv``, ``jsonl``, ``geojson`` or ``parquet``.

    Args:
        table: a positions result (``POSITION_SCHEMA``) or any other result (e.g. vessels).
        fmt: the output format.
        out: a file path, or a text stream (not for ``parquet``, which is binary).
        geometry: for GeoJSON, one Point per position or one LineString per vessel.

    Raises:
        InputError: unknown format, parquet to a text stream, GeoJSON without lat/lon, or a
            path that cannot be written (the message names it).
    """
    if fmt == "parquet":
        if not isinstance(out, Path):
            raise InputError("parquet output is binary: give a file path, not a text stream")
        try:
            pq.write_table(table, out, compression="zstd", write_statistics=True)
        except OSError as exc:  # pyarrow's IO errors are OSErrors too
            raise _unwritable(out, exc) from exc
        return
    if fmt == "geojson" and {"mmsi", "ts"} <= set(table.column_names):
        # Sort on real times: ISO strings with and without milliseconds do not sort as times.
        table = table.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    prepared = text_columns(table)
    if fmt == "csv":
        sink = io.BytesIO()
        pa_csv.write_csv(prepared, sink)
        _write_text(sink.getvalue(), out)
    elif fmt == "jsonl":
        _write_text(_jsonl(prepared), out)
    elif fmt == "geojson":
        if not {"mmsi", "lat", "lon"} <= set(prepared.column_names):
            raise InputError("GeoJSON output needs mmsi, lat and lon columns")
        document = feature_collection(prepared, geometry)
        _write_text(json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n", out)
    else:
        raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
