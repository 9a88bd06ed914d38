"""The ingest pipeline: sources -> decoder -> Arrow batches -> a sink (the track store).

:func:`ingest` checks every source before reading any (a missing file or an unknown format
fails at once, naming the input), then reads them in order. NMEA inputs go through one
:class:`~seabridge.ais.nmea.NmeaDecoder` per input stream, CSV archives through
:mod:`seabridge.ais.csvfmt`, live sockets through :mod:`seabridge.ais.live`. Decoded
records reach the sink in batches of ``ingest.batch_rows`` (and at least once a second for
live sources). Bad lines never stop a run: they are counted and quarantined; so are
reports timed more than ``ingest.future_horizon_min`` after the run's clock (the system clock
unless one is given; :mod:`seabridge.ais.horizon`).
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from seabridge.ais.csvfmt import read_csv_archive
from seabridge.ais.horizon import Horizon
from seabridge.ais.live import parse_source_url, tcp_lines, udp_lines
from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.quarantine import Quarantine, Reason
from seabridge.ais.sources import (
    READ_ERRORS,
    FileInput,
    expand_sources,
    open_decompressed,
    read_head,
    sniff_format,
)
from seabridge.ais.summary import IngestSummary, LineChunk
from seabridge.clock import Clock, SystemClock
from seabridge.config import Settings
from seabridge.errors import FormatError, SourceError

__all__ = [
    "FORMATS",
    "IngestOptions",
    "Plan",
    "PlannedInput",
    "Progress",
    "RecordSink",
    "ingest",
    "plan_sources",
]

FORMATS = ("auto", "nmea", "dma-csv", "noaa-csv")

_CHUNK_BYTES = 1 << 20
_LIVE_FLUSH_MS = 1000

Progress = Callable[[str, int, int], None]
"""Called with (input name, bytes read so far, total bytes or 0 when unknown)."""


class RecordSink(Protocol):
    """Where decoded batches go; returns how many rows were duplicates and not stored."""

    def append_positions(self, batch: pa.RecordBatch) -> int: ...

    def append_statics(self, batch: pa.RecordBatch) -> int: ...


@dataclass
class IngestOptions:
    """How to read the inputs. ``clock`` (default: the system clock) times live lines as
    they arrive and bounds data times (``ingest.future_horizon_min``)."""

    fmt: str = "auto"
    start_ms: int | None = None
    settings: Settings | None = None
    clock: Clock | None = None
    stop: threading.Event | None = None
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class PlannedInput:
    """One input to read: its kind ("nmea", "dma-csv", "noaa-csv", "tcp", "udp")."""

    kind: str
    item: FileInput | None
    host: str = ""
    port: int = 0

    @property
    def name(self) -> str:
        return self.item.name if self.item is not None else f"{self.kind}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Every input of a run, checked before anything is read or written."""

    inputs: tuple[PlannedInput, ...]
    skipped: tuple[str, ...]  # files in directories that are neither NMEA nor a CSV archive


def plan_sources(specs: list[str], fmt: str = "auto") -> Plan:
    """Check every source first: a missing file or unknown format fails before any work.

    Inside a directory, files whose format cannot be detected or whose start cannot be read
    are skipped (and listed); a file named directly must be usable.

    Raises:
        SourceError: a source cannot be opened or read (names it).
        FormatError: an unknown ``fmt``, or a file's format cannot be detected (names it).
    """
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    inputs: list[PlannedInput] = []
    skipped: list[str] = []
    for spec in specs:
        url = parse_source_url(spec)
        if url is not None:
            inputs.append(PlannedInput(url[0], None, url[1], url[2]))
            continue
        is_dir = spec != "-" and Path(spec).is_dir()
        for item in expand_sources([spec]):
            if fmt != "auto" or item.path is None:
                # Standard input cannot be rewound after sniffing: it is NMEA unless forced.
                inputs.append(PlannedInput("nmea" if fmt == "auto" else fmt, item))
                continue
            try:
                inputs.append(PlannedInput(sniff_format(read_head(item), item.name), item))
            except (FormatError, SourceError):
                if not is_dir:
                    raise
                skipped.append(item.name)
    return Plan(tuple(inputs), tuple(skipped))


def ingest(
    sources: list[str] | Plan,
    sink: RecordSink,
    quarantine: Quarantine,
    options: IngestOptions | None = None,
) -> IngestSummary:
    """Read every source into the sink and return the run's counters.

    With ``start_ms`` the untimed clock runs on across the inputs of the run, in order.

    Raises:
        SourceError: a source cannot be opened (names it).
        FormatError: a file's format cannot be detected or is not a known one (names it).
    """
    options = options or IngestOptions()
    settings = options.settings or Settings()
    plan = sources if isinstance(sources, Plan) else plan_sources(sources, options.fmt)
    summary = IngestSummary(rejected=quarantine.counts)
    summary.skipped_files.extend(plan.skipped)
    started = time.perf_counter()
    batch_rows = int(settings["ingest.batch_rows"])
    start_ms = options.start_ms
    clock = options.clock or SystemClock()
    horizon = Horizon.from_settings(settings, clock)
    for planned in plan.inputs:
        if planned.kind in ("dma-csv", "noaa-csv"):
            _read_csv(planned, sink, quarantine, summary, batch_rows, horizon, options.progress)
            continue
        decoder = NmeaDecoder(
            planned.name,
            quarantine,
            summary,
            start_ms=start_ms,
            max_age_s=settings["ingest.multipart_max_age_s"],
            horizon=horizon,
        )
        if planned.item is not None:
            chunks = _file_chunks(planned.item, quarantine, options.progress)
            _decode(chunks, decoder, sink, summary, batch_rows, None)
        else:
            live = _live_chunks(planned, settings, clock, options)
            _decode(live, decoder, sink, summary, 0, clock)
        start_ms = decoder.clock_ms
    summary.seconds = time.perf_counter() - started
    return summary


def _read_csv(
    plan: PlannedInput,
    sink: RecordSink,
    quarantine: Quarantine,
    summary: IngestSummary,
    batch_rows: int,
    horizon: Horizon | None,
    progress: Progress | None,
) -> None:
    item = plan.item
    if item is None or item.path is None:
        raise SourceError("<stdin>: CSV archives are read from files; give the file's path")
    for positions, statics in read_csv_archive(
        item.path,
        plan.kind,
        source=item.name,
        quarantine=quarantine,
        summary=summary,
        batch_rows=batch_rows,
        horizon=horizon,
    ):
        _deliver(sink, summary, positions, statics)
    if progress is not None:
        progress(item.name, item.size, item.size)


def _file_chunks(
    item: FileInput, quarantine: Quarantine, progress: Progress | None
) -> Iterator[LineChunk]:
    if item.path is None:
        stdin = sys.stdin.buffer
        assert isinstance(stdin, io.BufferedIOBase)  # sys.stdin.buffer is a BufferedReader
        yield from _read_chunks(stdin, item, None, quarantine, progress)
        return
    try:
        raw = item.path.open("rb")
    except OSError as exc:
        raise SourceError(f"{item.name}: cannot open ({exc.strerror})") from exc
    with raw, open_decompressed(raw, item.path) as handle:
        yield from _read_chunks(handle, item, raw, quarantine, progress)


class _Readable(Protocol):
    def read1(self, size: int = -1, /) -> bytes: ...


def _read_block(handle: _Readable) -> tuple[bytes, Exception | None]:
    """About 1 MiB of (decompressed) bytes, and the read error that cut it short, if any.

    ``read1`` returns what one underlying read gives, so a truncated gzip file yields every
    byte before the damage (``read(n)`` would raise and drop the whole block).
    """
    parts: list[bytes] = []
    size = 0
    while size < _CHUNK_BYTES:
        try:
            part = handle.read1(_CHUNK_BYTES - size)
        except READ_ERRORS as exc:
            return b"".join(parts), exc
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts), None


def _read_chunks(
    handle: _Readable,
    item: FileInput,
    raw: io.BufferedIOBase | None,
    quarantine: Quarantine,
    progress: Progress | None,
) -> Iterator[LineChunk]:
    """Lines in chunks of about 1 MiB; progress counts bytes of the file on disk.

    A read error (a damaged or truncated gzip file) ends this input, not the run: the whole
    lines read before it are decoded, and it is counted once as ``truncated_input`` at the
    line where reading stopped.
    """
    lines_read = 0
    tail = b""
    while True:
        block, error = _read_block(handle)
        lines = (tail + block).split(b"\n")
        tail = lines.pop()
        if lines:
            lines_read += len(lines)
            yield lines, None
        if error is not None:
            quarantine.reject(Reason.TRUNCATED_INPUT, item.name, lines_read + 1, str(error))
            return
        if not block:
            if tail:
                yield [tail], None
            return
        if progress is not None:
            progress(item.name, raw.tell() if raw is not None else 0, item.size)


def _live_chunks(
    plan: PlannedInput, settings: Settings, clock: Clock, options: IngestOptions
) -> Iterator[LineChunk]:
    stop = options.stop or threading.Event()
    if plan.kind == "tcp":
        return tcp_lines(
            plan.host,
            plan.port,
            clock=clock,
            stop=stop,
            reconnect_max_s=settings["ingest.reconnect_max_s"],
        )
    return udp_lines(plan.host, plan.port, clock=clock, stop=stop)


def _decode(
    chunks: Iterator[LineChunk],
    decoder: NmeaDecoder,
    sink: RecordSink,
    summary: IngestSummary,
    batch_rows: int,
    clock: Clock | None,
) -> None:
    """Feed chunks to the decoder; hand batches to the sink when full (or, live, each second)."""
    last_flush_ms = clock.now_ms() if clock is not None else 0
    for lines, receive_ms in chunks:
        decoder.feed(lines, receive_ms)
        pending = len(decoder.positions) + len(decoder.statics)
        if clock is not None:
            now_ms = clock.now_ms()
            if pending and now_ms - last_flush_ms >= _LIVE_FLUSH_MS:
                _deliver(sink, summary, *decoder.take())
                last_flush_ms = now_ms
        elif pending >= batch_rows:
            _deliver(sink, summary, *decoder.take())
    decoder.finish()
    _deliver(sink, summary, *decoder.take())


def _deliver(
    sink: RecordSink, summary: IngestSummary, positions: pa.RecordBatch, statics: pa.RecordBatch
) -> None:
    if positions.num_rows:
        summary.duplicates += sink.append_positions(positions)
    if statics.num_rows:
        summary.duplicates += sink.append_statics(statics)
