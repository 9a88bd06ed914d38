"""A serving node's AIS sources: the ``[[source]]`` tables of node.toml, and their readers.

``node.toml``::

    [[source]]                       # a file or a directory of files, read as they grow
    url = "feeds/receiver.nmea"      # relative to the node directory, or absolute
    format = "auto"                  # auto or nmea (CSV archives: seabridge ingest --node)
    silent_after = 600               # seconds without a line before a feed-health event
                                     # (0: never)
    [[source]]
    url = "tcp://127.0.0.1:10110"    # a receiver's TCP feed (reconnects), or udp://HOST:PORT
    name = "receiver-naha"           # optional; default: the url or simulator name
    [[source]]
    simulator = "ecs-mini"           # a built-in scenario (or a scenario file path)
    speed = 60                       # data seconds per clock second; 0: as fast as possible
    seed = 7                         # optional
    duration = 600                   # optional: seconds of the scenario to run

Every reader is polled (:meth:`Source.poll`), never blocks, and returns line chunks for the
node's decoders. What each has delivered is its *cursor* (a file's byte offset, a
simulator's count of transmissions), which the pipeline persists after the batch is stored,
so a restart resumes where the last stored batch ended. TCP and UDP readers run in a thread
each (:mod:`seabridge.ais.live`) and hand chunks over through a bounded queue; they have no
cursor: a network feed is live. This module never decodes NMEA.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from seabridge.ais.live import parse_source_url, tcp_lines, udp_lines
from seabridge.ais.sources import expand_sources, is_gzip
from seabridge.ais.summary import LineChunk
from seabridge.clock import Clock, ReplayClock
from seabridge.errors import SourceError

if TYPE_CHECKING:
    from seabridge.packs import Fields
    from seabridge.sim import Transmission

__all__ = [
    "FORMATS",
    "FileSource",
    "NetworkSource",
    "SimulatorSource",
    "Source",
    "SourceConfig",
    "open_source",
    "parse_source",
]

FORMATS: Final = ("auto", "nmea")
DEFAULT_SILENT_AFTER_S: Final = 600.0
_READ_BYTES: Final = 1 << 20
_QUEUE_CHUNKS: Final = 10_000
_SPACES: Final = (b" ", b"\t", b"\x0b", b"\x0c", b"\r")  # bytes.strip()'s, besides b"\n"


def _nonblank_lines(data: bytes) -> list[bytes]:
    """The lines of ``data`` before its last newline, CRs at their ends stripped, blank
    (whitespace-only) lines left out: ``line.rstrip(b"\\r")`` of each ``line.strip()``.

    The decoder numbers every line it is given (quarantine line numbers count the non-blank
    lines of a file) and its bulk paths take bare lines only, so this happens here. A chunk
    with no whitespace but its newlines needs no work per line: ~0.7 instead of ~1.2 ms per
    MiB of ecs-demo NMEA. (CRLF chunks keep the per-line work: dropping their CRs in bulk,
    by ``bytes.replace`` or numpy, measured no faster.)
    """
    lines = data.split(b"\n")
    lines.pop()  # the bytes after the last newline: not a whole line yet
    end = data.rfind(b"\n") + 1
    if any(data.find(space, 0, end) >= 0 for space in _SPACES):
        return [line.rstrip(b"\r") for line in lines if line.strip()]
    return lines if all(lines) else [line for line in lines if line]


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[[source]]`` of node.toml (exactly one of ``url`` and ``simulator``)."""

    name: str
    url: str | None = None
    simulator: str | None = None
    format: str = "auto"
    speed: float = 1.0
    seed: int | None = None
    silent_after_s: float = DEFAULT_SILENT_AFTER_S
    duration_s: float | None = None

    @property
    def kind(self) -> str:
        """``simulator``, ``tcp``, ``udp`` or ``file``."""
        if self.simulator is not None:
            return "simulator"
        parsed = parse_source_url(self.url or "")
        return parsed[0] if parsed is not None else "file"


def parse_source(table: Fields) -> SourceConfig:
    """A ``[[source]]`` table, checked (unknown keys refused).

    Raises:
        PackError: naming the field (node.toml's reader turns it into a ConfigError).
    """
    url = table.optional_text("url")
    simulator = table.optional_text("simulator")
    if (url is None) == (simulator is None):
        raise table.where.error("give exactly one of url (path, tcp://, udp://) and simulator")
    fmt = table.text("format", "auto", choices=FORMATS)
    speed = table.number("speed", 1.0, minimum=0.0, maximum=1_000_000.0)
    seed = table.integer("seed") if table.has("seed") else None
    duration = (
        table.number("duration", minimum=1.0, maximum=30 * 86_400.0)
        if table.has("duration")
        else None
    )
    silent_after = table.number(
        "silent_after", DEFAULT_SILENT_AFTER_S, minimum=0.0, maximum=7 * 86_400.0
    )
    name = table.text("name", url if url is not None else f"simulator:{simulator}")
    if url is not None:
        try:
            parse_source_url(url)
        except SourceError as exc:
            raise table.at("url").error(str(exc)) from None
        if any(table.has(key) for key in ("speed", "seed", "duration")):
            raise table.where.error("speed, seed and duration are for simulator sources")
    table.finish()
    return SourceConfig(name, url, simulator, fmt, speed, seed, silent_after, duration)


class Source(Protocol):
    """A reader the pipeline polls."""

    config: SourceConfig

    @property
    def name(self) -> str: ...

    def start(self) -> None: ...

    def poll(self, max_lines: int) -> list[tuple[str, LineChunk]]:
        """Chunks ready now, each with its stream name (one decoder per stream)."""
        ...

    def cursor(self) -> dict[str, Any]: ...

    def stop(self) -> None: ...


class FileSource:
    """A file, or every file of a directory, read from the cursor as it grows.

    Only whole lines are taken, so a line being written is read once it ends. A gzip file
    cannot grow: it is read by line count. CSV archives are not tailed (use ``seabridge
    ingest``); a ``[[source]]`` file is NMEA.
    """

    def __init__(self, config: SourceConfig, root: Path, cursor: dict[str, Any]) -> None:
        self.config = config
        path = Path(config.url or "")
        self.path = path if path.is_absolute() else root / path
        self._offsets: dict[str, int] = {str(k): int(v) for k, v in cursor.items()}

    @property
    def name(self) -> str:
        return self.config.name

    def start(self) -> None:
        if not self.path.exists():
            raise SourceError(f"source {self.name}: {self.path} does not exist")

    def poll(self, max_lines: int) -> list[tuple[str, LineChunk]]:
        chunks: list[tuple[str, LineChunk]] = []
        if not self.path.exists():
            return chunks
        for item in expand_sources([str(self.path)]):
            if item.path is None:
                continue
            lines = self._read(item.path, item.name)
            if lines:
                chunks.append((item.name, (lines, None)))
                if sum(len(c[1][0]) for c in chunks) >= max_lines:
                    break
        return chunks

    def _read(self, path: Path, name: str) -> list[bytes]:
        offset = self._offsets.get(name, 0)
        try:
            if is_gzip(path):
                return self._read_gzip(path, name, offset)
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(_READ_BYTES)
        except OSError:
            return []  # a file being replaced: read it at the next poll
        self._offsets[name] = offset + data.rfind(b"\n") + 1
        return _nonblank_lines(data)

    def _read_gzip(self, path: Path, name: str, done: int) -> list[bytes]:
        import gzip

        with gzip.open(path, "rb") as handle:
            lines = handle.read().split(b"\n")
        self._offsets[name] = len(lines)
        return _nonblank_lines(b"\n".join([*lines[done:], b""]))  # every piece a line

    def cursor(self) -> dict[str, Any]:
        return dict(self._offsets)

    def stop(self) -> None:
        return None


class NetworkSource:
    """A TCP client or UDP listener in a thread of its own; chunks wait in a bounded queue
    (a full queue slows the TCP reader down, which TCP turns into back-pressure)."""

    def __init__(self, config: SourceConfig, clock: Clock, reconnect_max_s: float) -> None:
        parsed = parse_source_url(config.url or "")
        assert parsed is not None
        self.config = config
        self.kind, self.host, self.port = parsed
        self._clock = clock
        self._reconnect_max_s = reconnect_max_s
        self._stop = threading.Event()
        self._queue: queue.Queue[LineChunk] = queue.Queue(_QUEUE_CHUNKS)
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    @property
    def name(self) -> str:
        return self.config.name

    def start(self) -> None:
        if self.kind == "udp":  # bound now: a port in use fails the start, naming it
            lines = udp_lines(self.host, self.port, clock=self._clock, stop=self._stop)
        else:
            lines = tcp_lines(
                self.host,
                self.port,
                clock=self._clock,
                stop=self._stop,
                reconnect_max_s=self._reconnect_max_s,
            )
        self._thread = threading.Thread(
            target=self._run, args=(lines,), name=f"source {self.name}", daemon=True
        )
        self._thread.start()

    def _run(self, lines: Iterator[LineChunk]) -> None:
        try:
            for chunk in lines:
                if not chunk[0]:
                    continue
                while not self._stop.is_set():
                    try:
                        self._queue.put(chunk, timeout=0.5)
                        break
                    except queue.Full:
                        continue
        except SourceError as exc:
            self.error = str(exc)

    def poll(self, max_lines: int) -> list[tuple[str, LineChunk]]:
        chunks: list[tuple[str, LineChunk]] = []
        count = 0
        while count < max_lines:
            try:
                chunk = self._queue.get_nowait()
            except queue.Empty:
                break
            chunks.append((self.name, chunk))
            count += len(chunk[0])
        return chunks

    def cursor(self) -> dict[str, Any]:
        return {}

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class SimulatorSource:
    """A built-in scenario's NMEA, paced by a replay clock ``speed`` times the node's clock
    (0: as fast as the pipeline polls). The cursor counts transmissions handed over; the
    simulation is deterministic, so a restart skips that many and goes on."""

    def __init__(
        self, config: SourceConfig, clock: Clock, cursor: dict[str, Any], speed: float | None
    ) -> None:
        self.config = config
        self._clock = clock
        self._speed = config.speed if speed is None else speed
        self._done = int(cursor.get("transmissions", 0))
        self._iter: Iterator[Transmission] | None = None
        self._next: Transmission | None = None
        self._replay: ReplayClock | None = None
        self.finished = False

    @property
    def name(self) -> str:
        return self.config.name

    def start(self) -> None:
        from seabridge.sim import Simulation, load_scenario

        scenario = load_scenario(self.config.simulator or "")
        simulation = Simulation(scenario, seed=self.config.seed, duration_s=self.config.duration_s)
        self._iter = iter(simulation.transmissions())
        for _ in range(self._done):
            if next(self._iter, None) is None:
                break
        self._advance()
        if self._next is not None and self._speed > 0:
            self._replay = ReplayClock(self._next.ts_ms, self._speed, wall=self._clock)

    def _advance(self) -> None:
        assert self._iter is not None
        self._next = next(self._iter, None)
        if self._next is None:
            self.finished = True

    def poll(self, max_lines: int) -> list[tuple[str, LineChunk]]:
        if self._iter is None:
            return []
        until_ms = self._replay.now_ms() if self._replay is not None else None
        lines: list[bytes] = []
        while self._next is not None and len(lines) < max_lines:
            if until_ms is not None and self._next.ts_ms > until_ms:
                break
            lines.extend(line.encode("ascii") for line in self._next.lines())
            self._done += 1
            self._advance()
        return [(self.name, (lines, None))] if lines else []

    def cursor(self) -> dict[str, Any]:
        return {"transmissions": self._done}

    def stop(self) -> None:
        self._iter = None


def open_source(
    config: SourceConfig,
    root: Path,
    clock: Clock,
    cursor: dict[str, Any],
    *,
    replay_speed: float | None = None,
    reconnect_max_s: float = 60.0,
) -> Source:
    """The reader of ``config`` (not started), resuming from ``cursor``."""
    kind = config.kind
    if kind == "simulator":
        return SimulatorSource(config, clock, cursor, replay_speed)
    if kind in ("tcp", "udp"):
        return NetworkSource(config, clock, reconnect_max_s)
    return FileSource(config, root, cursor)
