"""Feed health: a source that falls silent, or whose lines are mostly quarantined, raises an event.

The events have the shape of the detection engine's (:class:`~seabridge.detect.model.Event`)
and the kind of the screening rule, ``data_quality``, with rule id ``feed_health``, level 1
(advisory), no vessels, and the problem in the key: ``(source, "silent")`` with metric
``silent_s``, or ``(source, "quarantine_rate")`` with metrics ``rate`` (a fraction),
``rejected`` and ``lines`` over the window. An event opens when the problem appears and
closes when it goes away. They are placed at the centre of the pack's zones (a feed has no
position), are stamped with the engine's rulebook, and are measured on the node's clock:
feed health is about the node's receivers, not the data's time.

Settings: ``feed.quarantine_rate_max``, ``feed.quarantine_min_lines``, ``feed.window_s``;
each source's ``silent_after`` (node.toml). This module never reads the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from seabridge.config import Settings
from seabridge.detect.model import Event, RulebookRef, event_id

__all__ = ["RULE_ID", "FeedHealth"]

RULE_ID = "feed_health"
_KIND = "data_quality"


@dataclass
class _Feed:
    silent_after_ms: int
    started_ms: int
    last_line_ms: int | None = None
    window_start_ms: int = 0
    lines: int = 0
    rejected: int = 0
    open: dict[str, Event] = field(default_factory=dict)


class FeedHealth:
    """Watches every source; :meth:`check` returns the events to emit.

    Args:
        ref: The rulebook the node's engine runs (stamped on the events).
        settings: ``feed.*`` settings.
        where: (lat, lon) to place the events at.
    """

    def __init__(self, ref: RulebookRef, settings: Settings, where: tuple[float, float]) -> None:
        self.ref = ref
        self.rate_max = settings["feed.quarantine_rate_max"]
        self.min_lines = int(settings["feed.quarantine_min_lines"])
        self.window_ms = round(settings["feed.window_s"] * 1000)
        self.lat, self.lon = where
        self._feeds: dict[str, _Feed] = {}

    def watch(self, source: str, silent_after_s: float, now_ms: int) -> None:
        """Start watching ``source`` (silence counts from now; 0 s: never silent)."""
        self._feeds[source] = _Feed(round(silent_after_s * 1000), now_ms, window_start_ms=now_ms)

    def seen(self, source: str, lines: int, rejected: int, now_ms: int) -> None:
        """``lines`` read from ``source`` now, ``rejected`` of them quarantined."""
        feed = self._feeds[source]
        if lines:
            feed.last_line_ms = now_ms
        feed.lines += lines
        feed.rejected += rejected

    def up(self, source: str) -> bool:
        """Whether the source has no open silence event."""
        return "silent" not in self._feeds[source].open

    def open_events(self) -> list[Event]:
        return [event for feed in self._feeds.values() for event in feed.open.values()]

    def check(self, now_ms: int) -> list[Event]:
        """Open or close events for every source at ``now_ms``."""
        out: list[Event] = []
        for name, feed in self._feeds.items():
            since = feed.last_line_ms if feed.last_line_ms is not None else feed.started_ms
            silent_ms = now_ms - since
            silent = 0 < feed.silent_after_ms < silent_ms
            out += self._toggle(name, feed, "silent", silent, now_ms, {"silent_s": silent_ms / 1e3})
            if now_ms - feed.window_start_ms >= self.window_ms:
                if feed.lines >= self.min_lines or (feed.lines == 0 and feed.rejected == 0):
                    rate = feed.rejected / feed.lines if feed.lines else 0.0
                    metrics = {"rate": rate, "rejected": feed.rejected, "lines": feed.lines}
                    bad = rate > self.rate_max
                    out += self._toggle(name, feed, "quarantine_rate", bad, now_ms, metrics)
                feed.window_start_ms, feed.lines, feed.rejected = now_ms, 0, 0
        return out

    def _toggle(
        self,
        source: str,
        feed: _Feed,
        problem: str,
        present: bool,
        now_ms: int,
        metrics: dict[str, float],
    ) -> list[Event]:
        known = feed.open.get(problem)
        if present and known is None:
            key = (source, problem)
            event = Event(
                id=event_id(self.ref.sha256, RULE_ID, key, now_ms),
                rule_id=RULE_ID,
                kind=_KIND,
                rulebook=self.ref,
                level=1,
                status="open",
                vessels=(),
                start_ms=now_ms,
                end_ms=None,
                lat=self.lat,
                lon=self.lon,
                zone=None,
                metrics=metrics,
                reason=f"source {source}: {problem.replace('_', ' ')}",
            )
            feed.open[problem] = event
            return [event]
        if not present and known is not None:
            del feed.open[problem]
            return [replace(known, status="closed", end_ms=now_ms, metrics=metrics)]
        return []
