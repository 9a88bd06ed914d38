"""CSV AIS archives (Danish Maritime Authority, NOAA MarineCadastre) -> Position and Static.

Two archive families, told apart by their header line (:func:`sniff_csv_format`). Columns
are found by name, case-insensitively, so column order does not matter. Header spellings,
as found in public documentation and in public files:

* ``dma-csv``, the DMA's daily ``aisdk-YYYY-MM-DD.csv`` files (http://web.ais.dk/aisdata/,
  and its ``!_README_information_CSV_files``): ``# Timestamp,Type of mobile,MMSI,Latitude,
  Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,
  Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D``
  (files before ~2019 stop at ``Data source type``). Times ``31/12/2015 23:59:59`` UTC;
  status and ship type are English text; missing values are empty, ``Unknown`` or
  ``Undefined``. The README calls C "to starboard" and D "to port"; the values are the AIS
  message's fields, so C is port and D starboard as in ITU-R M.1371-5 (figure 42).
* ``noaa-csv``, MarineCadastre (USCG NAIS) daily files. 2015-2020: ``MMSI,BaseDateTime,LAT,
  LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo``
  (NOAA InPort item 52807 "NAIS2015", https://www.fisheries.noaa.gov/inport/item/52807);
  2021-2024 append ``TransceiverClass`` (public AIS_2021_06_21.csv heads); the 2025 "csv2"
  files (https://noaaocm.blob.core.windows.net/ais/csv2/) use ``mmsi,base_date_time,
  longitude,latitude,sog,cog,heading,vessel_name,imo,call_sign,vessel_type,status,length,
  width,draft,cargo,transceiver`` (headers in public parsers' fixtures). Times
  ``2021-06-21T00:00:07`` or ``2025-01-01 00:00:00`` UTC; ``VesselType`` is the raw AIS code;
  IMO may read ``IMO9348651``; ``Status`` is a code (text in some older years).

Each data row is one message. A row is rejected, with its line number (header = line 1),
as ``bad_row`` (wrong column count, unparseable time, non-numeric number), ``no_timestamp``
(empty time), ``invalid_mmsi`` (not an integer of at most 9 digits: leading zeros dropped by
the exporter, e.g. DMA's coast station ``2190064``, are restored) or ``invalid_position``.
A position needs lat/lon in range, not 91/181 and not exactly (0, 0) (as
:mod:`seabridge.ais.normalize`). DMA writes static messages (type 5) as rows at lat 91:
such a row with static fields is a static record, not a rejected position. SOG >= 102.25,
COG >= 360 and heading >= 360 (102.3 / 360 / 511 sentinels) become NaN; nav status 15
("undefined") and unknown text become -1, as the NMEA path does.

``msg_type`` is not in the archives; it is implied by the station kind the row gives:

==========================  ===================  ===================
DMA "Type of mobile" /       position msg_type    static msg_type
NOAA transceiver class
==========================  ===================  ===================
Class A / ``A``              1                    5
Class B / ``B``              18                   24
Base Station                 4                    0
AtoN                         21                   21
SAR Airborne                 9                    0
anything else, or absent     0                    0
==========================  ===================  ===================

Statics: a row carries static data when it has an IMO, call sign, name, ship type,
dimension or destination. NOAA repeats them on every row, so a static record is emitted
only when an MMSI's static fields differ from the last one emitted in the same file (DMA is
treated the same way). DMA ship types are text, mapped to a representative ITU code
(``_DMA_SHIP_TYPES``; hazard-category digit 0, e.g. Cargo -> 70, Tanker -> 80); unknown
text is null. Dimensions: DMA's A/B/C/D are bow/stern/port/starboard; when they are absent,
and always for NOAA (Length and Width only), the ITU convention for an unknown reference
point is used: bow 0, stern = length, port 0, starboard = width (ITU-R M.1371-5, table 48
note). The flag comes from the MMSI's MID (:mod:`seabridge.ais.mid`).

Not ``pyarrow.csv.open_csv``: its streaming reader gives no row number for an invalid row
(``InvalidRow.number`` is None) and skips blank lines, so quarantine line numbers would be
lost. The file is cut into blocks of whole lines, each parsed by ``pyarrow.csv.read_csv``
with bad rows located in the block; a block that cannot be accounted for exactly (odd
bytes, stray quotes) is parsed line by line with :mod:`csv`.

This module must not raise for a bad row (it quarantines and goes on) and never decodes
NMEA. An unreadable file raises SourceError, an unknown or mismatched header FormatError.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from seabridge.ais.mid import flags_for_mmsis
from seabridge.ais.normalize import (
    available_angle,
    available_speed,
    available_status,
    usable_lat_lon,
)
from seabridge.ais.quarantine import Quarantine, Reason
from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA, TS_TYPE
from seabridge.ais.summary import IngestSummary
from seabridge.errors import FormatError, SourceError

__all__ = ["CsvFormat", "read_csv_archive", "sniff_csv_format"]

CsvFormat = Literal["dma-csv", "noaa-csv"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# canonical column -> header name (normalized: "#" and spaces stripped, lower case)
_DMA_COLUMNS = {
    "ts": "timestamp", "mobile": "type of mobile", "mmsi": "mmsi", "lat": "latitude",
    "lon": "longitude", "status": "navigational status", "sog": "sog", "cog": "cog",
    "heading": "heading", "imo": "imo", "callsign": "callsign", "name": "name",
    "ship_type": "ship type", "width": "width", "length": "length",
    "destination": "destination", "a": "a", "b": "b", "c": "c", "d": "d",
}  # fmt: skip
_NOAA_2015_COLUMNS = {
    "mmsi": "mmsi", "ts": "basedatetime", "lat": "lat", "lon": "lon", "sog": "sog",
    "cog": "cog", "heading": "heading", "name": "vesselname", "imo": "imo",
    "callsign": "callsign", "ship_type": "vesseltype", "status": "status",
    "length": "length", "width": "width", "transceiver": "transceiverclass",
}  # fmt: skip
_NOAA_2025_COLUMNS = {
    "mmsi": "mmsi", "ts": "base_date_time", "lat": "latitude", "lon": "longitude",
    "sog": "sog", "cog": "cog", "heading": "heading", "name": "vessel_name", "imo": "imo",
    "callsign": "call_sign", "ship_type": "vessel_type", "status": "status",
    "length": "length", "width": "width", "transceiver": "transceiver",
}  # fmt: skip
_REQUIRED = ("ts", "mmsi", "lat", "lon")
_NUMERIC = ("lat", "lon", "sog", "cog", "heading", "imo", "length", "width", "a", "b", "c", "d")
_NA_WORDS = pa.array(["unknown", "undefined", "n/a", "nan"])

# ITU-R M.1371-5 table 45 navigational status, as the archives spell it (lower case)
_NAV_STATUS = {
    "under way using engine": 0, "at anchor": 1, "not under command": 2,
    "restricted manoeuvrability": 3, "restricted maneuverability": 3,
    "restricted manoeuverability": 3, "constrained by her draught": 4, "moored": 5,
    "aground": 6, "engaged in fishing": 7, "under way sailing": 8,
    "reserved for future amendment [hsc]": 9, "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13, "ais-sart": 14, "ais-sart (active)": 14,
}  # fmt: skip
# DMA ship-type text -> representative ITU-R M.1371-5 table 53 code
_DMA_SHIP_TYPES = {
    "wig": 20, "wing in ground": 20, "fishing": 30, "towing": 31, "towing long/wide": 32,
    "dredging": 33, "diving": 34, "military": 35, "sailing": 36, "pleasure": 37,
    "hsc": 40, "pilot": 50, "sar": 51, "tug": 52, "port tender": 53,
    "anti-pollution": 54, "law enforcement": 55, "spare 1": 56, "spare 2": 57,
    "medical": 58, "not party to conflict": 59, "passenger": 60, "cargo": 70,
    "tanker": 80, "other": 90,
}  # fmt: skip
# station kind (DMA "Type of mobile", NOAA transceiver class) -> msg_type of its records
_POSITION_TYPES = {"class a": 1, "a": 1, "class b": 18, "b": 18, "base station": 4, "aton": 21,
                   "sar airborne": 9}  # fmt: skip
_STATIC_TYPES = {"class a": 5, "a": 5, "class b": 24, "b": 24, "aton": 21}
_DMA_TIME_RE = r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$"
_NOAA_TIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,3})?$"
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_PYARROW_BLOCK_BYTES = 4 << 20


def _norm(name: str) -> str:
    return name.strip().lstrip("\ufeff").lstrip("#").strip().lower()


def sniff_csv_format(first_line: str) -> CsvFormat | None:
    """Which CSV archive a header line belongs to, or None when it is neither."""
    names = {_norm(name) for name in first_line.strip().split(",")}
    if {"timestamp", "type of mobile", "mmsi", "latitude", "longitude"} <= names:
        return "dma-csv"
    if {"mmsi", "basedatetime", "lat", "lon"} <= names:
        return "noaa-csv"
    if {"mmsi", "base_date_time", "latitude", "longitude"} <= names:
        return "noaa-csv"
    return None


@dataclass(frozen=True)
class _Layout:
    fmt: CsvFormat
    n_fields: int
    index: dict[str, int]  # canonical column -> field position


def _layout(header: str, fmt: str, name: str) -> _Layout:
    sniffed = sniff_csv_format(header)
    if sniffed is None:
        raise FormatError(
            f"{name}: the first line is not a DMA or NOAA MarineCadastre AIS CSV header "
            f"({header[:80]!r}); check the file or give --format nmea"
        )
    if sniffed != fmt:
        raise FormatError(f"{name}: the header is {sniffed}, not the forced format {fmt}")
    fields = [_norm(field) for field in header.strip().split(",")]
    if sniffed == "dma-csv":
        names = _DMA_COLUMNS
    else:
        names = _NOAA_2015_COLUMNS if "basedatetime" in fields else _NOAA_2025_COLUMNS
    index = {key: fields.index(col) for key, col in names.items() if col in fields}
    missing = [names[key] for key in _REQUIRED if key not in index]
    if missing:
        raise FormatError(f"{name}: header lacks column(s) {', '.join(missing)}")
    return _Layout(sniffed, len(fields), index)


@dataclass
class _Context:
    layout: _Layout
    source: str
    quarantine: Quarantine
    summary: IngestSummary
    last_static: dict[int, str] = field(default_factory=dict)


@dataclass
class _Block:
    """One block of whole lines: the parsed data rows and where each row came from."""

    data: bytes
    first_line_no: int
    starts: I64  # byte offset of each physical line
    lengths: I64  # its length without the line terminator
    columns: dict[str, pa.Array]  # canonical column -> strings, one per kept row
    rows: I64  # line index (in the block) of each kept row
    bad: list[int]  # line indices of rows with the wrong number of fields
    n_data: int  # non-blank lines

    def text(self, line: int) -> str:
        start = int(self.starts[line])
        return self.data[start : start + int(self.lengths[line])].decode("utf-8", "replace")

    def reject(self, ctx: _Context, rejects: list[tuple[Reason, I64]]) -> None:
        """Quarantine rejected lines (given as line indices), in line order."""
        pairs = sorted((line, reason) for reason, lines in rejects for line in lines.tolist())
        for line, reason in pairs:
            ctx.quarantine.reject(reason, ctx.source, self.first_line_no + line, self.text(line))


def read_csv_archive(
    path: Path,
    fmt: str,
    *,
    source: str,
    quarantine: Quarantine,
    summary: IngestSummary,
    batch_rows: int = 65536,
) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch]]:
    """Read a DMA or NOAA CSV archive (plain or .gz) as (positions, statics) batches.

    Args:
        path: the archive file.
        fmt: ``"dma-csv"`` or ``"noaa-csv"``; the header must match it.
        source: the name written into records and quarantine lines.
        quarantine: where rejected rows go.
        summary: counters to update (lines, messages, positions, statics, types).
        batch_rows: at most this many rows per yielded batch.

    Yields:
        Pairs of POSITION_SCHEMA and STATIC_SCHEMA batches (either may be empty).

    Raises:
        SourceError: the file cannot be opened or read.
        FormatError: ``fmt`` is unknown, or the header is not that format's.
    """
    if fmt not in ("dma-csv", "noaa-csv"):
        raise FormatError(f"{source}: unknown CSV format {fmt!r}; use dma-csv or noaa-csv")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    chunk_bytes = min(max(batch_rows * 128, 1 << 16), 1 << 26)
    with _open_archive(path, source) as stream:
        blocks = _whole_lines(stream, chunk_bytes, source)
        header, first = _split_header(blocks, source)
        ctx = _Context(_layout(header, fmt, source), source, quarantine, summary)
        line_no = 2
        for data in _chain(first, blocks):
            block = _parse_block(data, line_no, ctx.layout)
            line_no += len(block.starts)
            positions, statics = _normalize(block, ctx)
            for start in range(0, max(positions.num_rows, statics.num_rows), batch_rows):
                yield positions.slice(start, batch_rows), statics.slice(start, batch_rows)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@contextmanager
def _open_archive(path: Path, source: str) -> Iterator[_Readable]:
    """The file's bytes, decompressed when it starts with the gzip magic number."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise SourceError(f"{source}: cannot open ({exc.strerror or exc})") from exc
    with raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped
        else:
            raw.seek(0)
            yield raw


def _whole_lines(stream: _Readable, chunk_bytes: int, source: str) -> Iterator[bytes]:
    """Blocks of whole lines, each ending in a newline (one is added to a last bare line)."""
    pending = b""
    lines_read = 0
    while True:
        try:
            data = stream.read(chunk_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"{source}: read failed after line {lines_read} ({exc})") from exc
        if not data:
            if pending:
                yield pending + b"\n"
            return
        buffer = pending + data
        cut = buffer.rfind(b"\n") + 1
        if cut:
            lines_read += buffer.count(b"\n", 0, cut)
            yield buffer[:cut]
        pending = buffer[cut:]


def _split_header(blocks: Iterator[bytes], source: str) -> tuple[str, bytes]:
    first = next(blocks, b"")
    if not first:
        raise FormatError(f"{source}: the file is empty (expected a CSV header line)")
    cut = first.index(b"\n")
    return first[:cut].decode("utf-8", "replace").rstrip("\r"), first[cut + 1 :]


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _parse_block(data: bytes, first_line_no: int, layout: _Layout) -> _Block:
    """Split a block into lines and parse its rows (fast path, or line by line if needed)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10).astype(np.int64)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    lengths = ends - starts
    has_cr = (lengths > 0) & (raw[np.maximum(ends - 1, 0)] == 13)
    lengths = lengths - has_cr
    blank = lengths == 0
    block = _Block(data, first_line_no, starts, lengths, {}, np.empty(0, np.int64), [], 0)
    block.n_data = int((~blank).sum())
    if not _parse_fast(block, blank, layout):
        _parse_slow(block, blank, layout)
    return block


def _parse_fast(block: _Block, blank: Mask, layout: _Layout) -> bool:
    """Parse with pyarrow; False when the rows cannot be matched to lines exactly."""
    invalid: list[str] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row.text)
        return "skip"

    names = [f"f{i}" for i in range(layout.n_fields)]
    wanted = {key: names[i] for key, i in layout.index.items()}
    try:
        table = pcsv.read_csv(
            pa.py_buffer(block.data),
            read_options=pcsv.ReadOptions(column_names=names, block_size=_PYARROW_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=sorted(set(wanted.values())),
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    bad = _locate(block, invalid)
    if bad is None:
        return False
    keep = ~blank
    keep[bad] = False
    rows = np.flatnonzero(keep).astype(np.int64)
    if len(rows) != table.num_rows:
        return False
    block.columns = {key: table.column(name).combine_chunks() for key, name in wanted.items()}
    block.rows, block.bad = rows, bad
    return True


def _locate(block: _Block, texts: list[str]) -> list[int] | None:
    """Line indices of the rejected row texts; None if they cannot all be found."""
    found: set[int] = set()
    data = b"\n" + block.data  # every line now follows a newline
    for text in set(texts):
        for pattern in (f"\n{text}\n".encode(), f"\n{text}\r\n".encode()):
            offset = data.find(pattern)
            while offset >= 0:  # offset in ``data`` = line start in ``block.data``
                found.add(int(np.searchsorted(block.starts, offset)))
                offset = data.find(pattern, offset + 1)
    return sorted(found) if len(found) == len(texts) else None


def _parse_slow(block: _Block, blank: Mask, layout: _Layout) -> None:
    """Parse line by line with the csv module: slow, exact, used for odd blocks only."""
    rows: list[int] = []
    values: list[list[str]] = []
    bad: list[int] = []
    keys = list(layout.index)
    for line in np.flatnonzero(~blank).tolist():
        fields = next(csv.reader([block.text(line)]), [])
        if len(fields) != layout.n_fields:
            bad.append(line)
            continue
        rows.append(line)
        values.append([fields[layout.index[key]] for key in keys])
    columns = list(zip(*values, strict=True)) if values else [()] * len(keys)
    block.columns = {
        key: pa.array(col, pa.string()) for key, col in zip(keys, columns, strict=True)
    }
    block.rows = np.asarray(rows, dtype=np.int64)
    block.bad = bad


# --- vectorized field parsing ----------------------------------------------------------


def _column(block: _Block, key: str) -> pa.Array:
    """The trimmed strings of a column; empty strings when the file has no such column."""
    values = block.columns.get(key)
    if values is None:
        return pa.repeat(pa.scalar("", pa.string()), len(block.rows))
    return pc.ascii_trim_whitespace(values)


def _not_available(text: pa.Array) -> pa.Array:
    return pc.or_(pc.equal(text, ""), pc.is_in(pc.utf8_lower(text), value_set=_NA_WORDS))


def _numbers(text: pa.Array) -> tuple[F64, Mask]:
    """Floats (NaN = not available) and a mask of values that are not numbers."""
    null = pa.scalar(None, pa.string())
    try:  # the usual case: every field is a number or empty
        values = pc.if_else(pc.equal(text, ""), null, text).cast(pa.float64())
        numbers: F64 = values.to_numpy(zero_copy_only=False)
        return numbers, np.isinf(numbers)
    except pa.ArrowInvalid:
        pass
    is_number = pc.match_substring_regex(text, _NUMBER_RE)
    bad = pc.and_(pc.invert(is_number), pc.invert(_not_available(text)))
    values = pc.if_else(is_number, text, null).cast(pa.float64())
    return values.to_numpy(zero_copy_only=False), bad.to_numpy(zero_copy_only=False)


def _timestamps(text: pa.Array, fmt: CsvFormat) -> tuple[I64, Mask, Mask]:
    """Milliseconds since the epoch, a mask of empty times and one of unparseable times."""
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    null = pa.scalar(None, pa.string())
    if fmt == "dma-csv":  # 31/12/2015 23:59:59
        text = pc.if_else(pc.match_substring_regex(text, _DMA_TIME_RE), text, null)
        seconds = pc.strptime(text, format="%d/%m/%Y %H:%M:%S", unit="ms", error_is_null=True)
        day, fraction_ms = pc.utf8_slice_codeunits(text, 0, 2), None
    else:  # 2021-06-21T00:00:07 or 2025-01-01 00:00:00, optionally .fff
        text = pc.if_else(pc.match_substring_regex(text, _NOAA_TIME_RE), text, null)
        whole = pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 19), "T", " ")
        seconds = pc.strptime(whole, format="%Y-%m-%d %H:%M:%S", unit="ms", error_is_null=True)
        day = pc.utf8_slice_codeunits(text, 8, 10)
        digits = pc.utf8_rpad(pc.utf8_slice_codeunits(text, 20, 23), width=3, padding="0")
        fraction_ms = digits.cast(pa.int64())
    # strptime rolls 30/02 over to 02/03: a day that changed means an impossible date
    ms = pc.if_else(pc.equal(pc.day(seconds), day.cast(pa.int64())), seconds.cast(pa.int64()), None)
    if fraction_ms is not None:
        ms = pc.add(ms, fraction_ms)
    unparsed = pc.is_null(ms).to_numpy(zero_copy_only=False) & ~empty
    return ms.fill_null(0).to_numpy(zero_copy_only=False), empty, unparsed


def _mmsis(text: pa.Array) -> tuple[I64, Mask]:
    """MMSIs and a mask of valid ones (an integer of 1 to 9 digits, not 0)."""
    digits = pc.match_substring_regex(text, r"^\d{1,9}$")
    values = pc.if_else(digits, text, pa.scalar(None, pa.string())).cast(pa.int64())
    mmsi = values.fill_null(0).to_numpy(zero_copy_only=False)
    return mmsi, mmsi > 0


def _codes(text: pa.Array, table: dict[str, int], default: int = -1) -> I64:
    """Map text (case-insensitive) to codes through ``table``; ``default`` elsewhere."""
    keys = pa.array(list(table), pa.string())
    index = pc.index_in(pc.utf8_lower(text), value_set=keys)
    codes = pa.array(list(table.values()), pa.int64()).take(index).fill_null(default)
    result: I64 = np.array(codes.to_numpy(zero_copy_only=False), dtype=np.int64)  # writable
    return result


def _texts(text: pa.Array) -> pa.Array:
    """Names etc.: cut at the first ``@`` (AIS padding), stripped; empty or Unknown -> null."""
    if pc.any(pc.match_substring(text, "@")).as_py():
        text = pc.ascii_trim_whitespace(pc.replace_substring_regex(text, "@.*$", ""))
    return pc.if_else(_not_available(text), pa.scalar(None, pa.string()), text)


def _nav_status(block: _Block, fmt: CsvFormat) -> I64:
    text = _column(block, "status")
    status = _codes(text, _NAV_STATUS)
    if fmt == "noaa-csv":  # a code 0-15 in most years, text in some
        is_code = pc.match_substring_regex(text, r"^\d{1,2}(\.0)?$")
        as_code = pc.if_else(is_code, text, pa.scalar(None, pa.string())).cast(pa.float64())
        numeric = as_code.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        status = np.where(numeric >= 0, numeric, status)
    return available_status(status).astype(np.int64)


def _station_types(block: _Block) -> tuple[I64, I64]:
    kind = _column(block, "mobile" if "mobile" in block.columns else "transceiver")
    return _codes(kind, _POSITION_TYPES, 0), _codes(kind, _STATIC_TYPES, 0)


# --- records ----------------------------------------------------------------------------


def _normalize(block: _Block, ctx: _Context) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Reject bad rows, then build this block's position and static batches."""
    summary, fmt = ctx.summary, ctx.layout.fmt
    summary.lines += block.n_data
    summary.messages += block.n_data
    ts_ms, no_time, bad_time = _timestamps(_column(block, "ts"), fmt)
    numbers: dict[str, F64] = {}
    bad_row = bad_time.copy()
    for key in _NUMERIC:
        text = _column(block, key)
        if key == "imo":
            text = pc.replace_substring_regex(text, "^(?i)imo", "")
        numbers[key], bad = _numbers(text)
        bad_row |= bad
    mmsi, good_mmsi = _mmsis(_column(block, "mmsi"))
    no_time = no_time & ~bad_row
    bad_mmsi = ~good_mmsi & ~bad_row & ~no_time
    ok = ~(bad_row | no_time | bad_mmsi)
    pos_type, static_type = _station_types(block)
    kinds, counts = np.unique(pos_type[ok], return_counts=True)
    summary.types.update(dict(zip(kinds.tolist(), counts.tolist(), strict=True)))
    statics, has_static = _static_fields(block, numbers, fmt)
    lat, lon = numbers["lat"], numbers["lon"]
    good_pos = usable_lat_lon(lat, lon)
    static_only = has_static & (fmt == "dma-csv")
    bad_pos = ok & ~good_pos & ~static_only
    block.reject(
        ctx,
        [
            (Reason.BAD_ROW, np.asarray(block.bad, dtype=np.int64)),
            (Reason.BAD_ROW, block.rows[bad_row]),
            (Reason.NO_TIMESTAMP, block.rows[no_time]),
            (Reason.INVALID_MMSI, block.rows[bad_mmsi]),
            (Reason.INVALID_POSITION, block.rows[bad_pos]),
        ],
    )
    positions = _positions(block, ctx, ok & good_pos, mmsi, ts_ms, numbers, pos_type)
    emit = _changed_statics(ctx, ok & has_static, mmsi, statics)
    static_batch = _statics(ctx, emit, mmsi, ts_ms, static_type, statics)
    summary.positions += positions.num_rows
    summary.statics += static_batch.num_rows
    return positions, static_batch


def _positions(
    block: _Block,
    ctx: _Context,
    keep: Mask,
    mmsi: I64,
    ts_ms: I64,
    numbers: dict[str, F64],
    msg_type: I64,
) -> pa.RecordBatch:
    sog = available_speed(numbers["sog"])
    cog = available_angle(numbers["cog"])
    heading = available_angle(numbers["heading"])
    status = _nav_status(block, ctx.layout.fmt)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(mmsi[keep].astype(np.uint32)),
            pa.array(ts_ms[keep]).cast(TS_TYPE),
            pa.array(numbers["lat"][keep]),
            pa.array(numbers["lon"][keep]),
            pa.array(sog[keep].astype(np.float32)),
            pa.array(cog[keep].astype(np.float32)),
            pa.array(heading[keep].astype(np.float32)),
            pa.array(status[keep].astype(np.int8)),
            pa.array(msg_type[keep].astype(np.uint8)),
            pa.repeat(pa.scalar(ctx.source, pa.string()), int(keep.sum())),
        ],
        schema=POSITION_SCHEMA,
    )


def _int_array(values: F64, low: int, high: int, arrow_type: pa.DataType) -> pa.Array:
    """Rounded numbers as ``arrow_type``; null where not available or outside low..high."""
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(values) & (values >= low) & (values <= high)
    ints = np.where(valid, np.rint(np.where(valid, values, 0)), 0).astype(np.int64)
    return pa.array(ints, mask=~valid).cast(arrow_type)


def _static_fields(
    block: _Block, numbers: dict[str, F64], fmt: CsvFormat
) -> tuple[dict[str, pa.Array], Mask]:
    """The static columns of every row, and a mask of rows that carry any of them."""
    a, b, c, d = (numbers[key] for key in "abcd")
    no_dims = np.isnan(a) & np.isnan(b) & np.isnan(c) & np.isnan(d)
    with np.errstate(invalid="ignore"):
        length = np.where(numbers["length"] > 0, numbers["length"], np.nan)
        width = np.where(numbers["width"] > 0, numbers["width"], np.nan)
    has_size = ~np.isnan(length) | ~np.isnan(width)
    from_size = no_dims & has_size  # ITU: unknown reference point -> A = C = 0
    a = np.where(from_size, 0.0, a)
    b = np.where(from_size, length, b)
    c = np.where(from_size, 0.0, c)
    d = np.where(from_size, width, d)
    with np.errstate(invalid="ignore"):
        imo = np.where(numbers["imo"] > 0, numbers["imo"], np.nan)
    if fmt == "dma-csv":
        ship = _codes(_column(block, "ship_type"), _DMA_SHIP_TYPES).astype(np.float64)
        ship[ship < 0] = np.nan
    else:
        ship, _ = _numbers(_column(block, "ship_type"))
    fields = {
        "imo": _int_array(imo, 1, 2**32 - 1, pa.uint32()),
        "callsign": _texts(_column(block, "callsign")),
        "name": _texts(_column(block, "name")),
        "ship_type": _int_array(ship, 0, 255, pa.uint8()),
        "dim_bow_m": _int_array(a, 0, 65535, pa.uint16()),
        "dim_stern_m": _int_array(b, 0, 65535, pa.uint16()),
        "dim_port_m": _int_array(c, 0, 255, pa.uint8()),
        "dim_starboard_m": _int_array(d, 0, 255, pa.uint8()),
        "destination": _texts(_column(block, "destination")),
    }
    present = np.zeros(len(block.rows), np.bool_)
    for key, values in fields.items():
        valid = pc.is_valid(values)
        if key == "ship_type":  # 0 = "not available" (ITU-R M.1371-5 table 53)
            valid = pc.and_(valid, pc.not_equal(values, 0))
        present |= valid.fill_null(False).to_numpy(zero_copy_only=False)
    return fields, present


def _changed_statics(ctx: _Context, candidate: Mask, mmsi: I64, fields: dict[str, pa.Array]) -> I64:
    """Row indices (in file order) whose static fields differ from the MMSI's last emitted."""
    rows = np.flatnonzero(candidate)
    if len(rows) == 0:
        return rows.astype(np.int64)
    index = pa.array(rows)
    parts = [values.take(index).cast(pa.string()) for values in fields.values()]
    keys = pc.binary_join_element_wise(
        *parts, "\x1f", null_handling="replace", null_replacement="\x00"
    ).dictionary_encode()
    key_text: list[str] = keys.dictionary.to_pylist()
    codes = keys.indices.to_numpy(zero_copy_only=False)
    ids = mmsi[rows]
    order = np.lexsort((rows, ids))  # by MMSI, then file order
    ids, codes = ids[order], codes[order]
    first = np.concatenate(([True], ids[1:] != ids[:-1]))
    last = np.concatenate((ids[1:] != ids[:-1], [True]))
    changed = first | np.concatenate(([True], codes[1:] != codes[:-1]))
    for i in np.flatnonzero(first).tolist():
        if ctx.last_static.get(int(ids[i])) == key_text[codes[i]]:
            changed[i] = False
    for i in np.flatnonzero(last).tolist():
        ctx.last_static[int(ids[i])] = key_text[codes[i]]
    return np.sort(rows[order][changed])


def _statics(
    ctx: _Context,
    emit: I64,
    mmsi: I64,
    ts_ms: I64,
    msg_type: I64,
    fields: dict[str, pa.Array],
) -> pa.RecordBatch:
    index = pa.array(emit, pa.int64())
    ids = mmsi[emit]
    columns: dict[str, pa.Array] = {
        "mmsi": pa.array(ids.astype(np.uint32)),
        "ts": pa.array(ts_ms[emit]).cast(TS_TYPE),
        "msg_type": pa.array(msg_type[emit].astype(np.uint8)),
        **{key: values.take(index) for key, values in fields.items()},
        "flag": flags_for_mmsis(ids),
        "source": pa.repeat(pa.scalar(ctx.source, pa.string()), len(emit)),
    }
    return pa.RecordBatch.from_arrays(
        [columns[f.name] for f in STATIC_SCHEMA], schema=STATIC_SCHEMA
    )
