"""In-process publish/subscribe for a running node: what the console's websocket streams.

Topics: ``positions`` (throttled: at most one message per ``interval_s`` of wall time, holding
the latest position of each vessel that reported since the last one), ``events``,
``incidents`` and ``hotline``. :meth:`Hub.publish` is safe from any thread and never blocks:
each :class:`Subscription` holds a bounded queue, and a slow consumer loses its oldest
messages (counted in :attr:`Subscription.dropped`), never the pipeline's time. A subscription
is an async iterator (the websocket route) and can be drained synchronously (tests).

Every message is ``{"topic": str, "seq": int, "data": dict}``; ``seq`` rises by one per
published message across all topics, so a consumer sees gaps when it dropped messages.
When a ``describe`` function is set (the pipeline sets its
:meth:`~seabridge.node.vesselinfo.VesselStatics.of`), each position row gains the vessel's
static properties when it is published, so a message says what is known at that moment.

The throttle reads a monotonic wall clock, not the node's :class:`~seabridge.clock.Clock`: a
replay clock runs at 60x or more, and the console must not redraw 60 times a second because
data time runs fast. Tests inject ``monotonic``. This module knows nothing about the web layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

__all__ = ["TOPICS", "Hub", "Subscription"]

TOPICS: Final = frozenset({"positions", "events", "incidents", "hotline"})
_DEFAULT_QUEUE: Final = 1000


class Subscription:
    """One consumer's bounded queue of messages of some topics; see the module docstring."""

    def __init__(self, hub: Hub, topics: frozenset[str], maxsize: int) -> None:
        self.topics = topics
        self.maxsize = maxsize
        self.dropped = 0
        """Messages lost because the queue was full (the oldest go first)."""
        self._hub = hub
        self._items: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self._closed = False

    def put(self, message: dict[str, Any]) -> None:
        """Queue a message (any thread); drop the oldest when full."""
        with self._lock:
            if self._closed:
                return
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(message)
        self._wake()

    def _wake(self) -> None:
        loop, ready = self._loop, self._ready
        if loop is not None and ready is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(ready.set)

    def get_nowait(self) -> dict[str, Any] | None:
        """The oldest queued message, or None."""
        with self._lock:
            return self._items.popleft() if self._items else None

    def drain(self) -> list[dict[str, Any]]:
        """Every queued message, oldest first."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop receiving; a consumer waiting in ``async for`` ends."""
        self._hub.unsubscribe(self)
        with self._lock:
            self._closed = True
        self._wake()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._loop is None:
            self._loop, self._ready = asyncio.get_running_loop(), asyncio.Event()
        assert self._ready is not None
        while True:
            self._ready.clear()
            item = self.get_nowait()
            if item is not None:
                return item
            if self._closed:
                raise StopAsyncIteration
            await self._ready.wait()


class Hub:
    """Fan-out of node messages to subscriptions; see the module docstring.

    Args:
        interval_s: The shortest wall time between two ``positions`` messages.
        monotonic: Seconds of a monotonic wall clock (tests drive a counter).
        describe: MMSI -> properties added to its position rows when they are published.
    """

    def __init__(
        self,
        *,
        interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        describe: Callable[[int], Mapping[str, Any]] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.monotonic = monotonic
        self.describe = describe
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._latest: dict[int, dict[str, Any]] = {}
        self._last_positions_s: float | None = None

    def subscribe(self, topics: Iterable[str], *, maxsize: int = _DEFAULT_QUEUE) -> Subscription:
        """A new subscription to ``topics``.

        Raises:
            ValueError: an unknown topic (the message lists the known ones).
        """
        wanted = frozenset(topics)
        unknown = wanted - TOPICS
        if unknown:
            raise ValueError(f"unknown topic(s) {sorted(unknown)}; topics: {sorted(TOPICS)}")
        sub = Subscription(self, wanted, maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def wants(self, topic: str) -> bool:
        """Whether any subscription takes ``topic`` (a producer may skip building messages)."""
        with self._lock:
            return any(topic in sub.topics for sub in self._subs)

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Send ``data`` to every subscription of ``topic`` (any thread; never blocks)."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}; topics: {sorted(TOPICS)}")
        with self._lock:
            self._seq += 1
            message = {"topic": topic, "seq": self._seq, "data": data}
            targets = [sub for sub in self._subs if topic in sub.topics]
        for sub in targets:
            sub.put(message)

    def offer_positions(self, rows: Iterable[dict[str, Any]]) -> None:
        """Remember the newest row per vessel (``mmsi``, ``ts_ms`` keys), then publish them
        when the interval has passed since the last ``positions`` message."""
        with self._lock:
            for row in rows:
                known = self._latest.get(row["mmsi"])
                if known is None or row["ts_ms"] >= known["ts_ms"]:
                    self._latest[row["mmsi"]] = row
        self.flush_positions()

    def flush_positions(self, *, force: bool = False) -> bool:
        """Publish the pending positions if the interval passed (or ``force``); True if sent."""
        now_s = self.monotonic()
        with self._lock:
            last = self._last_positions_s
            due = force or last is None or now_s - last >= self.interval_s
            if not self._latest or not due:
                return False
            rows = [self._latest[mmsi] for mmsi in sorted(self._latest)]
            self._latest = {}
            self._last_positions_s = now_s
        describe = self.describe
        if describe is not None:
            rows = [{**row, **describe(row["mmsi"])} for row in rows]
        self.publish("positions", {"positions": rows})
        return True
