"""CSV AIS archives (Danish Maritime Authority, NOAA MarineCadastre) -> Position and Static.

Two archive families, ``dma-csv`` (the DMA's daily ``aisdk-YYYY-MM-DD.csv``) and ``noaa-csv``
(MarineCadastre / USCG NAIS daily files, three header generations), told apart by their header
line (:func:`sniff_csv_format`). Columns are found by name, case-insensitively, so column
order does not matter. The header layouts, with the sources of their spellings, and the text
-> code tables are data in :mod:`seabridge.ais._csvtables`. DMA times read
``31/12/2015 23:59:59``, NOAA times ``2021-06-21T00:00:07`` or ``2025-01-01 00:00:00`` (UTC);
DMA status and ship type are English text, NOAA's are codes (status is text in some older
years); missing values are empty, ``Unknown`` or ``Undefined``; NOAA's IMO may read
``IMO9348651``.

Each data row is one message. A row is rejected, with its line number (header = line 1),
as ``bad_row`` (wrong column count, unparseable time, non-numeric number), ``no_timestamp``
(empty time), ``invalid_mmsi`` (not a whole number inside the valid range of
:func:`seabridge.ais.mid.valid_mmsi_mask`, 2,010,000..999,999,999: leading zeros dropped by the
exporter, e.g. DMA's coast station ``2190064``, are fine), ``invalid_position`` or, given a
:class:`~seabridge.ais.horizon.Horizon`, ``future_time`` (timed after its ceiling, read once
per block: a row with a wrong year; static rows too, see that module).
A position needs lat/lon in range, not 91/181 and not exactly (0, 0) (as
:mod:`seabridge.ais.normalize`). DMA writes static messages (type 5) as rows at lat 91:
such a row with static fields is a static record, not a rejected position. SOG >= 102.25,
COG >= 360 and heading >= 360 (102.3 / 360 / 511 sentinels) become NaN; nav status 15
("undefined") and unknown text become -1, as the NMEA path does. Counters: ``lines`` counts
the non-blank data rows read; ``messages`` (and ``types``) the rows that parsed (time, MMSI and
numbers usable), as the NMEA path counts decoded messages: rows rejected as ``invalid_position``
or ``future_time`` count, like a decoded sentence with an unusable position; other rejected
rows do not.

``msg_type`` is not in the archives; it is implied by the station kind the row gives (DMA
"Type of mobile", NOAA transceiver class; ``POSITION_TYPES`` and ``STATIC_TYPES``): Class A
1 / 5, Class B 18 / 24, base station 4, AtoN 21, SAR aircraft 9, anything else 0.

Statics: a row carries static data when it has an IMO, call sign, name, ship type,
dimension or destination. NOAA repeats them on every row, so a static record is emitted
only when an MMSI's static fields differ from the last one emitted in the same file (DMA is
treated the same way). DMA ship types are text, mapped to a representative ITU code
(``DMA_SHIP_TYPES``; hazard-category digit 0, e.g. Cargo -> 70, Tanker -> 80); unknown
text is null. Dimensions: DMA's A/B/C/D are bow/stern/port/starboard; when they are absent,
and always for NOAA (Length and Width only), the ITU convention for an unknown reference
point is used: bow 0, stern = length, port 0, starboard = width (ITU-R M.1371-5, table 48
note). The flag comes from the MMSI's MID (:mod:`seabridge.ais.mid`).

The file is read in blocks of whole lines, parsed into string columns that keep their line
numbers, by :mod:`seabridge.ais._csvlines`; this module turns those columns into records.

This module must not raise for a bad row (it quarantines and goes on) and never decodes
NMEA. An unreadable file raises SourceError, an unknown or mismatched header FormatError.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from seabridge.ais._csvlines import (
    Block,
    Layout,
    chain,
    open_archive,
    parse_block,
    split_header,
    whole_lines,
)
from seabridge.ais._csvtables import (
    DMA_SHIP_TYPES,
    LAYOUTS,
    NAV_STATUS,
    POSITION_TYPES,
    STATIC_TYPES,
    CsvFormat,
    HeaderLayout,
)
from seabridge.ais.horizon import Horizon
from seabridge.ais.mid import flags_for_mmsis, valid_mmsi_mask
from seabridge.ais.normalize import (
    available_angle,
    available_speed,
    available_status,
    usable_lat_lon,
)
from seabridge.ais.quarantine import Quarantine, Reason
from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA, TS_TYPE
from seabridge.ais.summary import IngestSummary
from seabridge.errors import FormatError

__all__ = ["CsvFormat", "read_csv_archive", "sniff_csv_format"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_NUMERIC = ("lat", "lon", "sog", "cog", "heading", "imo", "length", "width", "a", "b", "c", "d")
_NA_WORDS = pa.array(["unknown", "undefined", "n/a", "nan"])

_DMA_TIME_RE = r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$"
_NOAA_TIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,3})?$"
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _norm(name: str) -> str:
    return name.strip().lstrip("\ufeff").lstrip("#").strip().lower()


def _header_layout(first_line: str) -> HeaderLayout | None:
    names = {_norm(name) for name in first_line.strip().split(",")}
    return next((layout for layout in LAYOUTS if layout.matches(names)), None)


def sniff_csv_format(first_line: str) -> CsvFormat | None:
    """Which CSV archive a header line belongs to, or None when it is neither."""
    layout = _header_layout(first_line)
    return None if layout is None else layout.fmt


def _layout(header: str, fmt: str, name: str) -> Layout:
    sniffed = _header_layout(header)
    if sniffed is None:
        raise FormatError(
            f"{name}: the first line is not a DMA or NOAA MarineCadastre AIS CSV header "
            f"({header[:80]!r}); check the file or give --format nmea"
        )
    if sniffed.fmt != fmt:
        raise FormatError(f"{name}: the header is {sniffed.fmt}, not the forced format {fmt}")
    fields = [_norm(field) for field in header.strip().split(",")]
    # The layout matched, so its signature (every required column) is among the fields.
    index = {key: fields.index(col) for key, col in sniffed.columns.items() if col in fields}
    return Layout(sniffed.fmt, len(fields), index)


@dataclass
class _Context:
    layout: Layout
    source: str
    quarantine: Quarantine
    summary: IngestSummary
    horizon: Horizon | None = None
    last_static: dict[int, str] = field(default_factory=dict)


def _reject(block: Block, ctx: _Context, rejects: list[tuple[Reason, I64]]) -> None:
    """Quarantine rejected lines (given as line indices in ``block``), in line order."""
    pairs = sorted((line, reason) for reason, lines in rejects for line in lines.tolist())
    for line, reason in pairs:
        ctx.quarantine.reject(reason, ctx.source, block.first_line_no + line, block.text(line))


def read_csv_archive(
    path: Path,
    fmt: str,
    *,
    source: str,
    quarantine: Quarantine,
    summary: IngestSummary,
    batch_rows: int = 65536,
    horizon: Horizon | None = None,
) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch]]:
    """Read a DMA or NOAA CSV archive (plain or .gz) as (positions, statics) batches.

    Args:
        path: the archive file.
        fmt: ``"dma-csv"`` or ``"noaa-csv"``; the header must match it.
        source: the name written into records and quarantine lines.
        quarantine: where rejected rows go.
        summary: counters to update (lines, messages, positions, statics, types).
        batch_rows: at most this many rows per yielded batch.
        horizon: rows timed after its ceiling are rejected as ``future_time`` (None: no
            bound).

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
    with open_archive(path, source) as stream:
        blocks = whole_lines(stream, chunk_bytes, source)
        header, first = split_header(blocks, source)
        ctx = _Context(_layout(header, fmt, source), source, quarantine, summary, horizon)
        line_no = 2
        for data in chain(first, blocks):
            block = parse_block(data, line_no, ctx.layout)
            line_no += len(block.starts)
            positions, statics = _normalize(block, ctx)
            for start in range(0, max(positions.num_rows, statics.num_rows), batch_rows):
                yield positions.slice(start, batch_rows), statics.slice(start, batch_rows)


# --- vectorized field parsing ----------------------------------------------------------


def _column(block: Block, key: str) -> pa.Array:
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
    """MMSIs and a mask of valid ones (digits only, then :func:`valid_mmsi_mask`)."""
    digits = pc.match_substring_regex(text, r"^\d{1,18}$")  # any number that fits int64
    values = pc.if_else(digits, text, pa.scalar(None, pa.string())).cast(pa.int64())
    mmsi: I64 = values.fill_null(0).to_numpy(zero_copy_only=False)
    return mmsi, valid_mmsi_mask(mmsi)


def _codes(text: pa.Array, table: Mapping[str, int], default: int = -1) -> I64:
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


def _nav_status(block: Block, fmt: CsvFormat) -> I64:
    text = _column(block, "status")
    status = _codes(text, NAV_STATUS)
    if fmt == "noaa-csv":  # a code 0-15 in most years, text in some
        is_code = pc.match_substring_regex(text, r"^\d{1,2}(\.0)?$")
        as_code = pc.if_else(is_code, text, pa.scalar(None, pa.string())).cast(pa.float64())
        numeric = as_code.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        status = np.where(numeric >= 0, numeric, status)
    return available_status(status).astype(np.int64)


def _station_types(block: Block) -> tuple[I64, I64]:
    kind = _column(block, "mobile" if "mobile" in block.columns else "transceiver")
    return _codes(kind, POSITION_TYPES, 0), _codes(kind, STATIC_TYPES, 0)


# --- records ----------------------------------------------------------------------------


def _normalize(block: Block, ctx: _Context) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Reject bad rows, then build this block's position and static batches."""
    summary, fmt = ctx.summary, ctx.layout.fmt
    summary.lines += block.n_data
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
    statics, has_static = _static_fields(block, numbers, fmt)
    good_pos = usable_lat_lon(numbers["lat"], numbers["lon"])
    static_only = has_static & (fmt == "dma-csv") & ~good_pos
    bad_pos = ok & ~good_pos & ~static_only
    future = ok & ~bad_pos & _after_ceiling(ts_ms, ctx.horizon)
    # A row that parsed is one message, as a decoded sentence is on the NMEA path (an
    # invalid position included); a DMA static-only row is a static message.
    kinds, counts = np.unique(np.where(static_only, static_type, pos_type)[ok], return_counts=True)
    summary.types.update(dict(zip(kinds.tolist(), counts.tolist(), strict=True)))
    summary.messages += int(ok.sum())
    _reject(
        block,
        ctx,
        [
            (Reason.BAD_ROW, np.asarray(block.bad, dtype=np.int64)),
            (Reason.BAD_ROW, block.rows[bad_row]),
            (Reason.NO_TIMESTAMP, block.rows[no_time]),
            (Reason.INVALID_MMSI, block.rows[bad_mmsi]),
            (Reason.INVALID_POSITION, block.rows[bad_pos]),
            (Reason.FUTURE_TIME, block.rows[future]),
        ],
    )
    stored = ok & ~future
    positions = _positions(block, ctx, stored & good_pos, mmsi, ts_ms, numbers, pos_type)
    emit = _changed_statics(ctx, stored & has_static, mmsi, statics)
    static_batch = _statics(ctx, emit, mmsi, ts_ms, static_type, statics)
    summary.positions += positions.num_rows
    summary.statics += static_batch.num_rows
    return positions, static_batch


def _after_ceiling(ts_ms: I64, horizon: Horizon | None) -> Mask:
    """Rows timed after the horizon's ceiling (none without a horizon)."""
    if horizon is None:
        return np.zeros(len(ts_ms), dtype=np.bool_)
    after: Mask = ts_ms > horizon.ceiling_ms()
    return after


def _positions(
    block: Block,
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
    block: Block, numbers: dict[str, F64], fmt: CsvFormat
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
        ship = _codes(_column(block, "ship_type"), DMA_SHIP_TYPES).astype(np.float64)
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
