"""A CSV archive as blocks of whole lines, parsed into string columns that keep line numbers.

Not ``pyarrow.csv.open_csv``: its streaming reader gives no row number for an invalid row
(``InvalidRow.number`` is None) and skips blank lines, so quarantine line numbers would be
lost. The file is cut into blocks of whole lines, each parsed by ``pyarrow.csv.read_csv``
with bad rows located in the block; a block that cannot be accounted for exactly (odd
bytes, stray quotes) is parsed line by line with :mod:`csv`. Private to
:mod:`seabridge.ais.csvfmt`, which turns the columns into records; this module knows nothing
of AIS fields and must not raise for a bad row (it reports the row's line instead).
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv

from seabridge.ais._csvtables import CsvFormat
from seabridge.errors import FormatError, SourceError

__all__ = ["Block", "Layout", "chain", "open_archive", "parse_block", "split_header", "whole_lines"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_PYARROW_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class Layout:
    """A header's format, field count and the position of each canonical column."""

    fmt: CsvFormat
    n_fields: int
    index: dict[str, int]  # canonical column -> field position


@dataclass
class Block:
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


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@contextmanager
def open_archive(path: Path, source: str) -> Iterator[_Readable]:
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


def whole_lines(stream: _Readable, chunk_bytes: int, source: str) -> Iterator[bytes]:
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


def split_header(blocks: Iterator[bytes], source: str) -> tuple[str, bytes]:
    first = next(blocks, b"")
    if not first:
        raise FormatError(f"{source}: the file is empty (expected a CSV header line)")
    cut = first.index(b"\n")
    return first[:cut].decode("utf-8", "replace").rstrip("\r"), first[cut + 1 :]


def chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def parse_block(data: bytes, first_line_no: int, layout: Layout) -> Block:
    """Split a block into lines and parse its rows (fast path, or line by line if needed)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10).astype(np.int64)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    lengths = ends - starts
    has_cr = (lengths > 0) & (raw[np.maximum(ends - 1, 0)] == 13)
    lengths = lengths - has_cr
    blank = lengths == 0
    block = Block(data, first_line_no, starts, lengths, {}, np.empty(0, np.int64), [], 0)
    block.n_data = int((~blank).sum())
    if not _parse_fast(block, blank, layout):
        _parse_slow(block, blank, layout)
    return block


def _parse_fast(block: Block, blank: Mask, layout: Layout) -> bool:
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


def _locate(block: Block, texts: list[str]) -> list[int] | None:
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


def _parse_slow(block: Block, blank: Mask, layout: Layout) -> None:
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
