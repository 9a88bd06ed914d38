"""Batch detection over the track store: the live engine, fed from history.

:func:`run_store` reads a time window of the store in data-time order, a chunk (up to an
hour) at a time, and feeds it to the same :class:`~seabridge.detect.engine.Engine` the
node runs live: one code path. Chunk boundaries do not change the outcome (the engine's
ticks depend on data time only). :func:`final_events` reduces an event stream to one
record per event in its final state. No clock; the store is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from seabridge.detect.engine import Engine
from seabridge.detect.model import Event
from seabridge.tracks import TrackStore

__all__ = ["CHUNK_MS", "Progress", "final_events", "run_store"]

CHUNK_MS = 3_600_000
MIN_CHUNK_MS = 60_000

#: Called after each chunk with (data time reached, window start, window end), in ms.
Progress = Callable[[int, int, int], None]


def run_store(
    store: TrackStore,
    engine: Engine,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    chunk_ms: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Event]:
    """Every event the engine emits over ``[start_ms, end_ms)`` of the store, in order.

    The vessels' static data (ship type, flag) is fed first; then positions in time order,
    ``chunk_ms`` at a time (default: a fiftieth of the window, between a minute and an
    hour, so progress moves); then :meth:`Engine.finish`. An empty window yields nothing.
    """
    stats = store.stats()
    if stats.first_ms is None or stats.last_ms is None:
        return
    start = stats.first_ms if start_ms is None else start_ms
    end = stats.last_ms + 1 if end_ms is None else end_ms
    if end <= start:
        return
    if chunk_ms is None:
        chunk_ms = min(CHUNK_MS, max(MIN_CHUNK_MS, (end - start) // 50))
    engine.feed_statics(store.vessels())
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + chunk_ms, end)
        batch = store.positions(start_ms=chunk_start, end_ms=chunk_end, order="ts")
        yield from engine.feed_positions(batch)
        if progress is not None:
            progress(chunk_end, start, end)
        chunk_start = chunk_end
    yield from engine.finish()


def final_events(events: Iterable[Event]) -> list[Event]:
    """One record per event in its final state: closed, retracted, or open (an event still
    open at the end of the data is reported with status ``open``), in order of first
    appearance."""
    last: dict[str, Event] = {}
    for event in events:
        last[event.id] = event
    result = []
    for event in last.values():
        if event.status == "update":
            event = replace(event, status="open")
        result.append(event)
    return result
