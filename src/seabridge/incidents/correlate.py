"""Correlation: which incident an event (or a peer's notification) belongs to.

Both nodes may detect the same situation. An incident therefore carries a
:class:`CorrelationKey` made of what both sides compute alike from the event that opened it:
the rule kind, the sorted MMSIs, the zone, and the start of the time window (of the
mechanism's ``correlation_window``) holding the event's start. The key travels in the
``incident`` field of hotline notifications, so a peer's notification with our key joins our
incident instead of opening a second one.

Join rules for a new event, in order (only incidents still :data:`ACTIVE` take events):

1. an incident already holding an event with this id (an update of it);
2. an incident whose correlation key equals the event's;
3. an incident with exactly the same set of vessels (in any order, any rule kind);
4. an incident with an event in the same zone that started within the window of this one.

A peer's key matches an incident with the same key, or with the same kind, vessels and zone
and a window start at most one window apart (the two nodes' first detections may straddle a
window boundary). This module is pure: no storage, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from seabridge.detect.model import Event
from seabridge.errors import IncidentError
from seabridge.incidents.lifecycle import ACTIVE

__all__ = ["Candidate", "CorrelationKey", "find_join", "find_peer_match", "key_for", "window_start"]

_NO_ZONE = "-"


def window_start(start_ms: int, window_ms: int) -> int:
    """The start of the window of ``window_ms`` (aligned to the Unix epoch) holding
    ``start_ms``."""
    if window_ms <= 0:
        raise IncidentError(f"the correlation window must be positive, not {window_ms} ms")
    return start_ms - start_ms % window_ms


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, order=True)
class CorrelationKey:
    """(kind, sorted vessels, zone, window start): the same situation on both nodes.

    Its text form, ``kind|mmsi+mmsi|zone|YYYY-MM-DDTHH:MM:SSZ`` (``-`` for no zone), is what
    the hotline carries.
    """

    kind: str
    vessels: tuple[int, ...]
    zone: str | None
    window_ms: int

    @property
    def text(self) -> str:
        vessels = "+".join(str(v) for v in self.vessels)
        return f"{self.kind}|{vessels}|{self.zone or _NO_ZONE}|{_iso(self.window_ms)}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> CorrelationKey:
        """The key of a text form.

        Raises:
            IncidentError: not ``kind|mmsi+mmsi|zone|time``.
        """
        parts = text.split("|") if isinstance(text, str) else []
        try:
            kind, vessels, zone, time = parts
            mmsis = tuple(sorted(int(v) for v in vessels.split("+"))) if vessels else ()
            moment = datetime.strptime(time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise IncidentError(
                f"{str(text)[:80]!r} is not a correlation key (kind|mmsi+mmsi|zone|"
                "YYYY-MM-DDTHH:MM:SSZ)"
            ) from None
        if not kind:
            raise IncidentError(f"{text!r}: the correlation key has no kind")
        return cls(kind, mmsis, None if zone == _NO_ZONE else zone, int(moment.timestamp()) * 1000)


def key_for(event: Event, window_ms: int) -> CorrelationKey:
    """The correlation key of the incident ``event`` would open."""
    vessels = tuple(sorted(int(v) for v in event.vessels))
    return CorrelationKey(event.kind, vessels, event.zone, window_start(event.start_ms, window_ms))


@dataclass(frozen=True, slots=True)
class Candidate:
    """What correlation needs to know of one incident."""

    id: str
    status: str
    key: CorrelationKey
    vessels: frozenset[int]
    event_ids: frozenset[str]
    zone_starts: tuple[tuple[str, int], ...] = ()
    """(zone, start_ms) of each of its events that has a zone."""


def find_join(event: Event, candidates: Sequence[Candidate], window_ms: int) -> str | None:
    """The id of the incident ``event`` joins, or ``None`` to open a new one.

    An event already attached to an incident stays with it whatever its state; otherwise only
    active incidents are joined, by the rules of the module docstring, oldest first.
    """
    for candidate in candidates:
        if event.id in candidate.event_ids:
            return candidate.id
    active = [c for c in candidates if c.status in ACTIVE]
    key = key_for(event, window_ms)
    vessels = frozenset(int(v) for v in event.vessels)
    for candidate in active:
        if candidate.key == key:
            return candidate.id
    for candidate in active:
        if vessels and candidate.vessels == vessels:
            return candidate.id
    if event.zone is not None:
        for candidate in active:
            if any(
                zone == event.zone and abs(start - event.start_ms) <= window_ms
                for zone, start in candidate.zone_starts
            ):
                return candidate.id
    return None


def find_peer_match(
    key: CorrelationKey, candidates: Sequence[Candidate], window_ms: int
) -> str | None:
    """The id of the incident a peer's notification with ``key`` joins, or ``None``.

    Any incident not final may match (a peer may notify while ours is de-escalating): first an
    equal key, then the same kind, vessels and zone with window starts at most one window
    apart.
    """
    live = [c for c in candidates if c.status not in ("closed", "retracted")]
    for candidate in live:
        if candidate.key == key:
            return candidate.id
    for candidate in live:
        other = candidate.key
        if (other.kind, other.vessels, other.zone) == (key.kind, key.vessels, key.zone) and abs(
            other.window_ms - key.window_ms
        ) <= window_ms:
            return candidate.id
    return None
