"""The ingest pipeline: sources -> decoder -> Arrow batches -> a sink (the track store).

:func:`ingest` checks every source before reading any (a missing file or an unknown format
fails at once, naming the input), then reads them in order. NMEA inputs go through one
:class:`~seabridge.ais.nmea.NmeaDecoder` per input stream, CSV archives through
:mod:`seabridge.ais.csvfmt`, live sockets through :mod:`seabridge.ais.live`. Decoded
records reach the sink in batches of ``ingest.batch_rows`` (and at least once a second for
live sources). Bad lines never stop a run: they are counted and quarantined.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import pyarrow as pa

from seabridge.ais.csvfmt import read_csv_archive
from seabridge.ais.live import parse_source_url, tcp_lines, udp_lines
from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.sources import FileInput, expand_sources, read_head, sniff_format
from seabridge.ais.summary import IngestSummary, LineChunk
from seabridge.clock import Clock, SystemClock
from seabridge.config import Settings
from seabridge.errors import FormatError, SourceError

__all__ = ["IngestOptions", "Progress", "RecordSink", "ingest"]

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
    """How to read the inputs."""

    fmt: str = "auto"
    start_ms: int | None = None
    settings: Settings | None = None
    clock: Clock | None = None
    stop: threading.Event | None = None
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class _Planned:
    kind: str  # "nmea", "dma-csv", "noaa-csv", "tcp", "udp"
    item: FileInput | None
    host: str = ""
    port: int = 0


def _plan(specs: list[str], fmt: str) -> tuple[list[_Planned], list[str]]:
    """Check every source first; returns the plan and the files skipped in directories."""
    planned: list[_Planned] = []
    skipped: list[str] = []
    for spec in specs:
        url = parse_source_url(spec)
        if url is not None:
            planned.append(_Planned(url[0], None, url[1], url[2]))
            continue
        is_dir = spec != "-" and Path(spec).is_dir()
        for item in expand_sources([spec]):
            if fmt != "auto" or item.path is None:
                # Standard input cannot be rewound after sniffing: it is NMEA unless forced.
                planned.append(_Planned("nmea" if fmt == "auto" else fmt, item))
                continue
            try:
                planned.append(_Planned(sniff_format(read_head(item), item.name), item))
            except FormatError:
                if not is_dir:
                    raise
                skipped.append(item.name)
    return planned, skipped


def ingest(
    specs: list[str], sink: RecordSink, quarantine: Quarantine, options: IngestOptions | None = None
) -> IngestSummary:
    """Read every source into the sink and return the run's counters.

    Raises:
        SourceError: a source cannot be opened or read (names it).
        FormatError: a file's format cannot be detected or is not a known one (names it).
    """
    options = options or IngestOptions()
    settings = options.settings or Settings()
    if options.fmt not in ("auto", "nmea", "dma-csv", "noaa-csv"):
        raise FormatError(f"unknown format {options.fmt!r}; use auto, nmea, dma-csv or noaa-csv")
    planned, skipped = _plan(specs, options.fmt)
    summary = IngestSummary(rejected=quarantine.counts)
    summary.skipped_files.extend(skipped)
    started = time.perf_counter()
    batch_rows = int(settings["ingest.batch_rows"])
    for plan in planned:
        if plan.kind in ("dma-csv", "noaa-csv"):
            assert plan.item is not None
            _read_csv(plan, sink, quarantine, summary, batch_rows, options.progress)
            continue
        name = plan.item.name if plan.item is not None else f"{plan.kind}://{plan.host}:{plan.port}"
        decoder = NmeaDecoder(
            name,
            quarantine,
            summary,
            start_ms=options.start_ms,
            max_age_s=settings["ingest.multipart_max_age_s"],
        )
        if plan.item is not None:
            chunks = _file_chunks(plan.item, options.progress)
            _decode(chunks, decoder, sink, summary, batch_rows, None)
        else:
            clock = options.clock or SystemClock()
            _decode(_live_chunks(plan, settings, clock, options), decoder, sink, summary, 0, clock)
    summary.seconds = time.perf_counter() - started
    return summary


def _read_csv(
    plan: _Planned,
    sink: RecordSink,
    quarantine: Quarantine,
    summary: IngestSummary,
    batch_rows: int,
    progress: Progress | None,
) -> None:
    item = plan.item
    assert item is not None
    if item.path is None:
        raise SourceError("<stdin>: CSV archives are read from files; give the file's path")
    for positions, statics in read_csv_archive(
        item.path,
        plan.kind,
        source=item.name,
        quarantine=quarantine,
        summary=summary,
        batch_rows=batch_rows,
    ):
        _deliver(sink, summary, positions, statics)
    if progress is not None:
        progress(item.name, item.size, item.size)


def _file_chunks(item: FileInput, progress: Progress | None) -> Iterator[LineChunk]:
    if item.path is None:
        yield from _read_chunks(sys.stdin.buffer, item, None, progress)
        return
    try:
        raw = item.path.open("rb")
    except OSError as exc:
        raise SourceError(f"{item.name}: cannot open ({exc.strerror})") from exc
    with raw:
        if item.path.suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield from _read_chunks(unzipped, item, raw, progress)
        else:
            yield from _read_chunks(raw, item, raw, progress)


class _LineReader(Protocol):
    def readlines(self, hint: int = -1, /) -> list[bytes]: ...


def _read_chunks(
    handle: _LineReader, item: FileInput, raw: BinaryIO | None, progress: Progress | None
) -> Iterator[LineChunk]:
    """Lines in chunks of about 1 MiB; progress counts bytes of the file on disk."""
    while True:
        try:
            lines = handle.readlines(_CHUNK_BYTES)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{item.name}: read failed ({exc})") from exc
        if not lines:
            return
        yield lines, None
        if progress is not None:
            progress(item.name, raw.tell() if raw is not None else 0, item.size)


def _live_chunks(
    plan: _Planned, settings: Settings, clock: Clock, options: IngestOptions
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
