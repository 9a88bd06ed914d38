"""Detection over the Parquet archive, cut into time partitions run in parallel (Dask).

One code path: every partition runs the same :class:`~seabridge.detect.engine.Engine` the
node runs live. The result equals one sequential run over the whole window (the events of
:func:`~seabridge.detect.batch.final_events`: same ids, same fields) under the condition
below; the design:

- **Partitions** are ``[a, b)`` windows aligned on multiples of ``partition_ms`` since the
  epoch (a UTC day by default). A partition *owns* the events whose ``start`` lies in
  ``[a, b)`` (the first partition also owns earlier starts, the last later ones), so every
  event has exactly one owner and ids, which hash the start (:func:`~seabridge.detect.model.
  event_id`), come out as in the sequential run.
- **Warm-up.** A partition's engine starts at ``a - overlap``: :func:`overlap_ms` is the
  longest *reach* of the rulebook's rules (how long a rule needs, from a fresh start, to
  hold the same state as a long-running engine for every situation that begins afterwards,
  plus the longest delay from a situation's start to its first finding) plus the engine's
  own memory (frame age, hysteresis, tick and tick delay). A situation still going at
  ``a - overlap`` began, in the partition's run as in the sequential one, before ``a``, so
  it is not owned; one that begins at or after ``a`` is seen identically by both runs.
- **Run-on.** After ``b`` the engine reads all data for one more ``overlap`` (every event
  starting before ``b`` has opened by then), then only the positions of the vessels in its
  owned events still open, evaluating only those events' rulebook entries
  (:meth:`Engine.follow`), tick by tick (:meth:`Engine.advance` keeps ticks firing without
  other vessels' data), until they close or the window ends; at the window's end it
  finishes as the sequential run does. So an event open across a boundary comes out once,
  from its owner, with the sequential start, end and metrics.
- **Merge**: the owned final states of every partition, concatenated; an id owned twice is
  a bug and raises. Input is read in time order, so the engine never retracts (no late data).

**Condition for exact equality.** (1) Rules' state for a situation depends only on the data
of the vessels in its key (true of every rule kind here: per-vessel or per-pair tables;
this is what the vessel-filtered run-on relies on). (2) The rules forget within their
reach: the data-quality screen keeps a vessel's last accepted fix for up to a day; exactness
needs each vessel's first fix in a warm-up to be judged as the sequential run judges it
(normal, continuous tracks; a vessel whose two transmitters' tracks alternate across a
warm-up start can differ). :data:`REACH` states each kind's reach from its parameters; an
unknown kind is refused rather than guessed. Tests check equality on simulated traffic cut
into many partitions, with a local executor and on a Dask LocalCluster.

Dask is imported only by :func:`dask_executor`. No clock, no CLI; files are read through
:class:`~seabridge.tracks.archive.Archive` (local paths or fsspec-style URIs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from seabridge.config import Settings
from seabridge.detect.engine import Engine, EngineSettings
from seabridge.detect.model import Event
from seabridge.detect.rulebook import Rulebook
from seabridge.errors import ConfigError, InputError
from seabridge.geo import ZoneSet
from seabridge.packs.parties import Party
from seabridge.tracks.archive import MS_PER_DAY, Archive

__all__ = [
    "REACH",
    "EngineFactory",
    "Partition",
    "PartitionResult",
    "dask_executor",
    "merge",
    "overlap_ms",
    "plan",
    "run_archive",
    "run_partition",
    "run_partitioned",
]

_MIN = 60_000
_HOUR = 3_600_000
CHUNK_MS = _HOUR


def _p(params: Mapping[str, float], name: str) -> float:
    return float(params[name])


#: Per rule kind: its reach in ms from its parameters (in the kind's table units). See the
#: module docstring; each line says which memory and which delay it covers.
REACH: dict[str, Callable[[Mapping[str, float]], float]] = {
    # fixes older than max_age are not used; no memory between ticks
    "close_quarters": lambda p: _p(p, "max_age") * _MIN,
    # inside/outside tables forgotten after max_age; opens after dwell, exits after exit_dwell
    "zone_entry": lambda p: (_p(p, "max_age") + _p(p, "dwell") + _p(p, "exit_dwell")) * _MIN,
    # "since" is rebuilt at every tick from fixes at most max_age old
    "speed_in_zone": lambda p: _p(p, "max_age") * _MIN,
    # a step longer than max_gap ends a run; two buckets to align; opens after duration
    "loitering": lambda p: (
        _p(p, "max_gap") * _MIN + 2 * _p(p, "bucket") * _MIN + _p(p, "duration") * _HOUR
    ),
    # a run survives max_interruption; fixes max_age old; opens after duration
    "encounter": lambda p: (
        (_p(p, "max_interruption") + _p(p, "max_age")) * _MIN + _p(p, "duration") * _HOUR
    ),
    "shadowing": lambda p: (
        (_p(p, "max_interruption") + _p(p, "max_age") + _p(p, "duration")) * _MIN
    ),
    # a gap starts at a real fix (seen by both runs); it opens threshold after it
    "ais_gap": lambda p: _p(p, "threshold") * _MIN,
    # secondary tracks, switch counts and jumps are forgotten after window
    "data_quality": lambda p: 2 * _p(p, "window") * _MIN,
}


def overlap_ms(rulebook: Rulebook, settings: EngineSettings | None = None) -> int:
    """The warm-up (and full-data run-on) a partition needs: the rules' longest reach plus
    the engine's frame age, hysteresis and two ticks with their delay, rounded up to a tick.

    Raises:
        ConfigError: a rule kind whose reach is not known (:data:`REACH`).
    """
    engine = settings or EngineSettings()
    reach = 0.0
    for entry in rulebook.rules:
        if entry.kind not in REACH:
            raise ConfigError(
                f"rule {entry.id!r}: kind {entry.kind!r} has no known reach, so the archive "
                "cannot be partitioned exactly; add it to seabridge.detect.scaleout.REACH or run "
                "with --engine local"
            )
        reach = max(reach, REACH[entry.kind](entry.params))
    total = (
        reach
        + engine.max_fix_age_ms
        + engine.hysteresis_ms
        + 2 * (engine.tick_ms + engine.tick_delay_ms)
    )
    return int(-(-total // engine.tick_ms) * engine.tick_ms)


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition: it owns events starting in ``[owns_from_ms, owns_until_ms)`` (None:
    unbounded), reads from ``read_from_ms``, and the whole run is ``[window_start_ms,
    window_end_ms)`` whose last position is at ``data_last_ms``."""

    index: int
    start_ms: int
    end_ms: int
    read_from_ms: int
    overlap_ms: int
    window_start_ms: int
    window_end_ms: int
    data_last_ms: int

    def owns(self, event: Event) -> bool:
        first = self.start_ms <= self.window_start_ms
        last = self.end_ms >= self.window_end_ms
        return (first or event.start_ms >= self.start_ms) and (last or event.start_ms < self.end_ms)


def plan(
    window_start_ms: int,
    window_end_ms: int,
    data_last_ms: int,
    overlap: int,
    partition_ms: int = MS_PER_DAY,
) -> list[Partition]:
    """Partitions covering ``[window_start_ms, window_end_ms)``, aligned on ``partition_ms``."""
    if partition_ms <= 0:
        raise InputError("the partition length must be positive")
    parts: list[Partition] = []
    lo = window_start_ms
    while lo < window_end_ms:
        hi = min((lo // partition_ms + 1) * partition_ms, window_end_ms)
        parts.append(
            Partition(
                index=len(parts),
                start_ms=lo,
                end_ms=hi,
                read_from_ms=max(window_start_ms, lo - overlap),
                overlap_ms=overlap,
                window_start_ms=window_start_ms,
                window_end_ms=window_end_ms,
                data_last_ms=data_last_ms,
            )
        )
        lo = hi
    return parts


@dataclass(frozen=True, slots=True)
class EngineFactory:
    """What a worker needs to build the engine (picklable): rulebook, zones, parties and
    the ``detect.*`` settings."""

    rulebook: Rulebook
    zones: ZoneSet
    parties: tuple[Party, ...]
    settings: EngineSettings = field(default_factory=EngineSettings)

    @classmethod
    def of(
        cls,
        rulebook: Rulebook,
        zones: ZoneSet,
        parties: Sequence[Party],
        settings: Settings | EngineSettings | None = None,
    ) -> EngineFactory:
        values = (
            settings
            if isinstance(settings, EngineSettings)
            else EngineSettings.from_settings(settings)
        )
        return cls(rulebook, zones, tuple(parties), values)

    def __call__(self) -> Engine:
        return Engine(self.rulebook, self.zones, self.parties, settings=self.settings)


@dataclass(slots=True)
class PartitionResult:
    """A partition's owned events (final states) and what it read."""

    partition: Partition
    events: list[Event]
    positions: int = 0
    run_on_positions: int = 0
    run_on_end_ms: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the process's CPU time during the run (all its threads)


def _chunks(lo: int, hi: int, chunk_ms: int) -> Iterator[tuple[int, int]]:
    while lo < hi:
        yield lo, min(lo + chunk_ms, hi)
        lo = min(lo + chunk_ms, hi)


def run_partition(
    archive: Archive | str,
    factory: EngineFactory,
    part: Partition,
    chunk_ms: int = CHUNK_MS,
) -> PartitionResult:
    """Run one partition (warm-up, own window, run-on) and keep the events it owns."""
    started, cpu_started = time.perf_counter(), time.process_time()
    source = archive if isinstance(archive, Archive) else Archive(archive)
    engine = factory()
    statics = source.statics()
    if statics is not None:
        engine.feed_statics(statics)
    last: dict[str, Event] = {}

    def take(events: Iterable[Event]) -> None:
        for event in events:
            if part.owns(event):
                last[event.id] = event

    result = PartitionResult(part, [])
    full_until = min(part.end_ms + part.overlap_ms, part.window_end_ms)
    for lo, hi in _chunks(part.read_from_ms, full_until, chunk_ms):
        batch = source.positions(lo, hi)
        result.positions += batch.num_rows
        take(engine.feed_positions(batch))
    reached = full_until
    for lo, hi in _chunks(full_until, part.window_end_ms, chunk_ms):
        following = [e for e in last.values() if e.status in ("open", "update")]
        if not following:
            break
        vessels = {v for e in following for v in e.vessels}
        # Only the entries of the events followed: an entry without one can add no owned
        # event now, and its per-tick cost does not shrink with the data (the AIS gap rule
        # would see every vessel not followed fall silent, at every tick).
        engine.follow({e.rule_id for e in following})
        batch = source.positions(lo, hi, mmsi=vessels)
        result.run_on_positions += batch.num_rows
        take(engine.feed_positions(batch))
        reached = hi
        take(engine.advance(min(hi - 1, part.data_last_ms)))
    if reached >= part.window_end_ms:
        take(engine.advance(part.data_last_ms))
        take(engine.finish())
    result.run_on_end_ms = reached
    result.events = [_final(event) for event in last.values()]
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.process_time() - cpu_started
    return result


def _final(event: Event) -> Event:
    """As :func:`~seabridge.detect.batch.final_events`: an event still open reads ``open``."""
    return replace(event, status="open") if event.status == "update" else event


def merge(results: Iterable[PartitionResult]) -> list[Event]:
    """Every partition's owned events, in order of (start, id).

    Raises:
        RuntimeError: an event owned by two partitions (a planning bug, never data).
    """
    merged: dict[str, Event] = {}
    for result in results:
        for event in result.events:
            if event.id in merged:
                raise RuntimeError(f"event {event.id} owned by two partitions")
            merged[event.id] = event
    return sorted(merged.values(), key=lambda e: (e.start_ms, e.id))


#: Maps run_partition over partitions; yields results as they complete.
Executor = Callable[
    [Callable[..., PartitionResult], Sequence[Partition]], Iterator[PartitionResult]
]


def _window(
    archive: Archive, start_ms: int | None, end_ms: int | None
) -> tuple[int, int, int] | None:
    """(window start, window end, last data time in it), or None when it holds no data."""
    first, last = archive.span_ms()
    lo = first if start_ms is None else max(start_ms, first)
    hi = last + 1 if end_ms is None else min(end_ms, last + 1)
    if hi <= lo:
        return None
    data_last = last
    if hi <= last:  # the window ends inside the data: find its last position
        day = (hi - 1) // MS_PER_DAY
        while day * MS_PER_DAY + MS_PER_DAY > lo:
            table = archive.positions(max(lo, day * MS_PER_DAY), hi)
            if table.num_rows:
                data_last = int(table.column("ts").cast("int64")[-1].as_py())
                break
            day -= 1
        else:
            return None
    return lo, hi, data_last


def run_partitioned(
    archive: Archive,
    factory: EngineFactory,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    partition_ms: int = MS_PER_DAY,
    executor: Executor | None = None,
    chunk_ms: int = CHUNK_MS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Event], list[PartitionResult]]:
    """Partitioned detection over the archive: merged final events and per-partition results.

    ``executor`` maps partitions to workers (:func:`dask_executor`); None runs them one after
    the other in this process. ``progress`` is called with (partitions done, total).
    """
    window = _window(archive, start_ms, end_ms)
    if window is None:
        return [], []
    overlap = overlap_ms(factory.rulebook, factory.settings)
    parts = plan(*window, overlap, partition_ms)

    def one(part: Partition) -> PartitionResult:
        return run_partition(archive, factory, part, chunk_ms)

    results: list[PartitionResult] = []
    if progress is not None:
        progress(0, len(parts))
    runs = executor(one, parts) if executor is not None else map(one, parts)
    for result in runs:
        results.append(result)
        if progress is not None:
            progress(len(results), len(parts))
    results.sort(key=lambda r: r.partition.index)
    return merge(results), results


def run_archive(
    archive: Archive,
    engine: Engine,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    chunk_ms: int = CHUNK_MS,
    progress: Callable[[int, int, int], None] | None = None,
) -> Iterator[Event]:
    """One sequential run over the archive (``--engine local``), as
    :func:`~seabridge.detect.batch.run_store` over the store: statics first, then positions
    in time order, then :meth:`Engine.finish`."""
    window = _window(archive, start_ms, end_ms)
    if window is None:
        return
    lo, hi, _ = window
    statics = archive.statics()
    if statics is not None:
        engine.feed_statics(statics)
    for chunk_lo, chunk_hi in _chunks(lo, hi, chunk_ms):
        yield from engine.feed_positions(archive.positions(chunk_lo, chunk_hi))
        if progress is not None:
            progress(chunk_hi, lo, hi)
    yield from engine.finish()


def dask_executor(client: Any) -> Executor:
    """An executor on a ``dask.distributed.Client``: each task carries the archive root and
    the engine factory (rulebook, zones, parties); workers read the archive themselves, and
    results come back as partitions finish."""
    from dask.distributed import as_completed

    def execute(
        function: Callable[..., PartitionResult], parts: Sequence[Partition]
    ) -> Iterator[PartitionResult]:
        futures = client.map(function, parts, pure=False)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            yield future.result()

    return execute
