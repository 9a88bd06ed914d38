"""Correlation: the key both nodes compute alike, and the join rules."""

from __future__ import annotations

import pytest
from incident_kit import CCG_SHIP, CN_FISHER, JCG_SHIP, T0, event

from seabridge.errors import IncidentError
from seabridge.incidents.correlate import (
    Candidate,
    CorrelationKey,
    find_join,
    find_peer_match,
    key_for,
    window_start,
)

WINDOW = 30 * 60_000


def candidate(
    incident_id: str, first: object, status: str = "notified", *, more: tuple[object, ...] = ()
) -> Candidate:
    events = (first, *more)
    return Candidate(
        id=incident_id,
        status=status,
        key=key_for(first, WINDOW),  # type: ignore[arg-type]
        vessels=frozenset(v for e in events for v in e.vessels),  # type: ignore[attr-defined]
        event_ids=frozenset(e.id for e in events),  # type: ignore[attr-defined]
        zone_starts=tuple((e.zone, e.start_ms) for e in events if e.zone),  # type: ignore[attr-defined]
    )


def test_key_sorts_vessels_and_aligns_the_window() -> None:
    a = key_for(event("a", (CCG_SHIP, JCG_SHIP), start_ms=T0 + 60_000), WINDOW)
    b = key_for(event("b", (JCG_SHIP, CCG_SHIP), start_ms=T0 + 29 * 60_000), WINDOW)
    assert a == b
    assert a.vessels == (CCG_SHIP, JCG_SHIP)
    assert a.window_ms == window_start(T0 + 60_000, WINDOW) == T0
    assert a.text == f"close_quarters|{CCG_SHIP}+{JCG_SHIP}|-|2026-01-01T00:00:00Z"
    assert CorrelationKey.parse(a.text) == a
    zoned = key_for(event("z", (JCG_SHIP,), kind="zone_entry", zone="uotsuri-12nm"), WINDOW)
    assert CorrelationKey.parse(zoned.text) == zoned


@pytest.mark.parametrize("text", ["", "a|b", "k|x+y|-|2026-01-01T00:00:00Z", "k|1|-|soon"])
def test_bad_keys_are_refused(text: str) -> None:
    with pytest.raises(IncidentError, match="correlation key"):
        CorrelationKey.parse(text)


def test_window_must_be_positive() -> None:
    with pytest.raises(IncidentError):
        window_start(T0, 0)


def test_same_vessels_in_any_order_join() -> None:
    first = event("a", (JCG_SHIP, CCG_SHIP))
    later = event("b", (CCG_SHIP, JCG_SHIP), kind="encounter", start_ms=T0 + 5 * 3600_000)
    assert find_join(later, [candidate("i1", first)], WINDOW) == "i1"


def test_an_update_stays_with_its_incident_whatever_its_state() -> None:
    first = event("a")
    update = event("a", status="closed")
    assert find_join(update, [candidate("i1", first, "resolved")], WINDOW) == "i1"


def test_same_zone_within_the_window_joins_and_outside_it_does_not() -> None:
    first = event("a", (JCG_SHIP,), kind="zone_entry", zone="uotsuri-12nm")
    near = event("b", (CN_FISHER,), kind="zone_entry", zone="uotsuri-12nm", start_ms=T0 + 600_000)
    far = event("c", (CN_FISHER,), kind="zone_entry", zone="uotsuri-12nm", start_ms=T0 + WINDOW + 1)
    elsewhere = event("d", (CN_FISHER,), kind="zone_entry", zone="kuba-12nm", start_ms=T0)
    candidates = [candidate("i1", first)]
    assert find_join(near, candidates, WINDOW) == "i1"
    assert find_join(far, candidates, WINDOW) is None
    assert find_join(elsewhere, candidates, WINDOW) is None


def test_only_active_incidents_take_new_events() -> None:
    first = event("a")
    again = event("b")
    for status in ("de-escalating", "resolved", "closed", "retracted"):
        assert find_join(again, [candidate("i1", first, status)], WINDOW) is None
    for status in ("open", "notified", "acknowledged", "escalated"):
        assert find_join(again, [candidate("i1", first, status)], WINDOW) == "i1"


def test_other_vessels_open_a_new_incident() -> None:
    first = event("a", (JCG_SHIP, CCG_SHIP))
    other = event("b", (JCG_SHIP, CN_FISHER))
    assert find_join(other, [candidate("i1", first)], WINDOW) is None


def test_peer_key_matches_equal_key_or_a_neighbouring_window() -> None:
    ours = event("a", start_ms=T0 + WINDOW - 1_000)  # just before the window boundary
    theirs = key_for(event("x", start_ms=T0 + WINDOW + 1_000), WINDOW)  # just after it
    assert theirs != key_for(ours, WINDOW)
    assert find_peer_match(theirs, [candidate("i1", ours)], WINDOW) == "i1"
    assert (
        find_peer_match(key_for(ours, WINDOW), [candidate("i1", ours, "de-escalating")], WINDOW)
        == "i1"
    )
    assert find_peer_match(theirs, [candidate("i1", ours, "closed")], WINDOW) is None
    later = key_for(event("y", start_ms=T0 + 3 * WINDOW), WINDOW)
    assert find_peer_match(later, [candidate("i1", ours)], WINDOW) is None
