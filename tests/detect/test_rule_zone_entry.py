"""zone_entry: dwell before counting, hysteresis on exit (time and margin), forgetting."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from framekit import MIN, T0, box_zone, frame_of, make_rule, moved

from seabridge.detect.model import Finding
from seabridge.detect.rule import Rule
from seabridge.detect.rules.zone_entry import ZoneEntry
from seabridge.errors import PackError
from seabridge.geo import ZoneSet
from seabridge.units import M_PER_NM

ZONES = ZoneSet(
    [box_zone("box", (26.0, 26.1), (123.5, 123.6)), box_zone("far", (27.0, 27.1), (125.0, 125.1))]
)
LAT = 26.05
EDGE_LON = 123.5  # the box's west edge: east of it is inside


def at(east_m: float) -> tuple[float, float]:
    """A point at LAT, ``east_m`` east (inside) or west (outside) of the west edge."""
    return moved(LAT, EDGE_LON, 90.0 if east_m >= 0 else 270.0, abs(east_m))


def rule(**params: float) -> Rule:
    return make_rule(ZoneEntry, params, ZONES, zones=("box",))


def tick(r: Rule, time_ms: int, east_m: float, mmsi: int = 1, sog: float = 5.0) -> list[Finding]:
    lat, lon = at(east_m)
    frame = frame_of(time_ms, [mmsi], [lat], [lon], sog_kn=sog, zones=ZONES)
    return list(r.evaluate(frame, np.ones(1, dtype=bool)))


def walk(r: Rule, positions: Sequence[tuple[int, float]]) -> list[list[Finding]]:
    """(time, east_m) fixes, one per tick."""
    return [tick(r, t, x) for t, x in positions]


@pytest.mark.parametrize(
    ("inside_for_ms", "counted"),
    [(MIN - 1, False), (MIN, True), (MIN + 1, True)],
    ids=["just-below", "exactly", "just-above"],
)
def test_dwell_boundary(inside_for_ms: int, counted: bool) -> None:
    r = rule(dwell=1.0)
    assert tick(r, T0, -500.0) == []
    assert tick(r, T0 + 10_000, 300.0) == []  # first fix inside: the dwell starts here
    found = tick(r, T0 + 10_000 + inside_for_ms, 400.0)
    assert bool(found) is counted
    if counted:
        (finding,) = found
        assert finding.key == (1, "box")
        assert finding.zone == "box"
        assert finding.started_ms == T0 + 10_000
        assert finding.metrics["duration_s"] == pytest.approx(inside_for_ms / 1000)
        assert finding.metrics["speed_kn"] == 5.0


def test_one_fix_outside_restarts_the_dwell() -> None:
    r = rule(dwell=1.0)
    walk(r, [(T0, 300.0), (T0 + 30_000, 300.0), (T0 + 40_000, -20.0)])
    assert tick(r, T0 + 70_000, 300.0) == []  # 70 s after the first fix, 0 s into the streak
    assert tick(r, T0 + 129_999, 300.0) == []
    (finding,) = tick(r, T0 + 130_000, 300.0)
    assert finding.started_ms == T0 + 70_000


def test_zero_dwell_counts_the_first_fix_inside() -> None:
    r = rule(dwell=0.0)
    (finding,) = tick(r, T0, 1.0)
    assert finding.started_ms == T0
    assert finding.metrics["duration_s"] == 0.0


def test_boundary_zigzag_is_one_stay_with_hysteresis_and_flaps_without() -> None:
    """Two minutes inside, then a track crossing the edge every minute, 60 m either side."""
    settle = [(T0 + k * 30_000, 60.0) for k in range(5)]
    zigzag = settle + [
        (T0 + (5 + k) * 30_000, -60.0 if (k // 2) % 2 == 0 else 60.0) for k in range(120)
    ]
    damped = [bool(found) for found in walk(rule(dwell=1.0, exit_dwell=5.0), zigzag)]
    assert damped.index(True) == 2  # counted at 60 s, after the dwell
    assert all(damped[2:])  # never dropped on the boundary: one event

    bare = [bool(found) for found in walk(rule(dwell=0.0, exit_dwell=0.0, exit_margin=0), zigzag)]
    entries = sum(
        1 for before, now in zip([False, *bare], bare, strict=False) if now and not before
    )
    assert entries == 31  # without hysteresis every crossing into the zone is a new stay


def test_stay_ends_after_exit_dwell_outside() -> None:
    for outside_for_ms, still_in in [(5 * MIN - 1, True), (5 * MIN, False), (5 * MIN + 1, False)]:
        r = rule(dwell=0.0, exit_dwell=5.0, exit_margin=0.1)
        tick(r, T0, 100.0)
        assert tick(r, T0 + 10_000, -100.0)  # first fix outside (within the margin)
        found = tick(r, T0 + 10_000 + outside_for_ms, -150.0)
        assert bool(found) is still_in, outside_for_ms


def test_beyond_the_margin_ends_the_stay_at_once() -> None:
    margin_m = 0.1 * M_PER_NM
    r = rule(dwell=0.0, exit_dwell=60.0, exit_margin=0.1)
    tick(r, T0, 100.0)
    assert tick(r, T0 + 10_000, -(margin_m - 20.0))  # within the margin: still in
    assert tick(r, T0 + 20_000, -(margin_m + 20.0)) == []
    # Back inside: a new stay, with a new start.
    (finding,) = tick(r, T0 + 30_000, 100.0)
    assert finding.started_ms == T0 + 30_000


def test_an_excursion_that_returns_keeps_the_original_start() -> None:
    r = rule(dwell=0.0, exit_dwell=5.0)
    tick(r, T0, 100.0)
    tick(r, T0 + MIN, -50.0)
    tick(r, T0 + 5 * MIN - 1, -50.0)  # 4 min 59.999 s outside
    (finding,) = tick(r, T0 + 5 * MIN, 100.0)
    assert finding.started_ms == T0
    # The excursion clock restarted: another 4 min outside does not end it.
    tick(r, T0 + 6 * MIN, -50.0)
    assert tick(r, T0 + 10 * MIN - 1, -50.0)


def test_a_silent_vessel_is_forgotten_after_max_age() -> None:
    r = rule(dwell=0.0, max_age=10.0)
    lat, lon = at(100.0)
    for dt, expected in [(0, True), (10 * MIN, True), (10 * MIN + 1, False)]:
        frame = frame_of(T0 + dt, [1], [lat], [lon], ts_ms=T0, zones=ZONES)
        assert bool(r.evaluate(frame, np.ones(1, dtype=bool))) is expected


def test_rows_that_do_not_apply_or_are_unusable_are_ignored() -> None:
    r = rule(dwell=0.0)
    lat, lon = at(100.0)
    frame = frame_of(T0, [1, 2], lat, lon, zones=ZONES, usable=[True, False])
    found = r.evaluate(frame, np.array([False, True]))
    assert found == []


def test_each_zone_is_its_own_situation() -> None:
    r = make_rule(ZoneEntry, {"dwell": 0.0}, ZONES, zones=("box", "far"))
    frame = frame_of(T0, [1, 2, 3], [26.05, 27.05, 20.0], [123.55, 125.05, 120.0], zones=ZONES)
    found = r.evaluate(frame, np.ones(3, dtype=bool))
    assert sorted(f.key for f in found) == [(1, "box"), (2, "far")]


def test_zones_must_be_listed_and_known() -> None:
    with pytest.raises(PackError, match="applicability 'zones'"):
        make_rule(ZoneEntry, {}, ZONES)
    with pytest.raises(PackError, match="unknown zone"):
        make_rule(ZoneEntry, {}, ZONES, zones=("nowhere",))


def test_snapshot_restore_replays_identically() -> None:
    rng = np.random.default_rng(5)
    path = [(T0 + k * 10_000, float(x)) for k, x in enumerate(rng.normal(0.0, 300.0, 200))]
    r = rule(dwell=0.5, exit_dwell=1.0)
    walk(r, path[:100])
    saved = r.snapshot()
    after = walk(r, path[100:])
    r.restore(saved)
    assert walk(r, path[100:]) == after
    assert any(after)


def _oracle(
    positions: Sequence[Sequence[tuple[int, bool, bool]]], dwell: int, exit_dwell: int
) -> list[set[int]]:
    """Per-vessel state machine in plain Python: (ts, inside, beyond margin) per tick."""
    state: dict[int, dict[str, int | bool]] = {}
    out = []
    for tick_rows in positions:
        for mmsi, (ts, is_in, beyond) in enumerate(tick_rows):
            s = state.setdefault(mmsi, {"first": -1, "counted": False, "out": -1})
            if is_in:
                s["first"] = ts if s["first"] == -1 else s["first"]
                s["out"] = -1
                if not s["counted"] and ts - int(s["first"]) >= dwell:
                    s["counted"] = True
            else:
                s["first"] = -1
                if s["counted"]:
                    s["out"] = ts if s["out"] == -1 else s["out"]
                    if ts - int(s["out"]) >= exit_dwell or beyond:
                        s["counted"] = False
                        s["out"] = -1
        out.append({m for m, s in state.items() if s["counted"]})
    return out


def test_many_vessels_match_a_per_vessel_state_machine() -> None:
    count, ticks = 2000, 40
    rng = np.random.default_rng(11)
    r = rule(dwell=1.0, exit_dwell=2.0, exit_margin=0.1)
    margin_m = 0.1 * M_PER_NM
    east = rng.uniform(-400.0, 400.0, count)
    lat = LAT + rng.uniform(-0.02, 0.02, count)
    history, got = [], []
    for k in range(ticks):
        east = east + rng.normal(0.0, 80.0, count)
        # The rule judges the margin with a buffered polygon, the oracle with a plane
        # distance; they agree to well under a metre, so keep fixes 5 m clear of the line.
        east = np.where(np.abs(east + margin_m) < 5.0, east - 10.0, east)
        lon = EDGE_LON + east / (111_320.0 * math.cos(math.radians(LAT)))
        time_ms = T0 + k * 30_000
        frame = frame_of(time_ms, np.arange(count), lat, lon, zones=ZONES)
        found = r.evaluate(frame, np.ones(count, dtype=bool))
        got.append({int(f.vessels[0]) for f in found})
        history.append([(time_ms, bool(x > 0), bool(x < -margin_m)) for x in east])
    expected = _oracle(history, 60_000, 120_000)
    for k in range(ticks):
        assert got[k] == expected[k], k
    assert sum(len(s) for s in got) > 1000
