"""ais_gap: silences longer than the threshold inside the area of interest, and their end."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from framekit import (
    HOUR,
    MIN,
    T0,
    Fix,
    Replay,
    box_zone,
    fixes_table,
    frame_from_fixes,
    make_rule,
    spans,
    track,
)

from seabridge.detect.model import Finding
from seabridge.detect.rule import Rule
from seabridge.detect.rules._common import kn_from, plane_distance_m
from seabridge.detect.rules.ais_gap import AisGap
from seabridge.errors import PackError
from seabridge.geo import ZoneSet

ZONES = ZoneSet([box_zone("aoi", (25.0, 27.0), (122.0, 125.0))])


def rule(**params: float) -> Rule:
    return make_rule(AisGap, params, ZONES, zones=("aoi",))


def gap_track(silence_ms: int, lat: float = 26.0, lon: float = 123.5) -> list[Fix]:
    """Ten minutes of reports, a silence, ten more minutes 20 km on."""
    before = track(1, T0, 61, 10.0, lat, lon, sog_kn=10.0, cog_deg=0.0)
    resume = before[-1].ts_ms + silence_ms
    after = track(1, resume, 61, 10.0, lat + 0.2, lon, sog_kn=10.0, cog_deg=0.0)
    return before + after


@pytest.mark.parametrize(
    ("silence_ms", "gap"),
    [(HOUR - 1, False), (HOUR, False), (HOUR + 1, True)],
    ids=["just-below", "exactly", "just-above"],
)
def test_threshold_boundary(silence_ms: int, gap: bool) -> None:
    fixes = gap_track(silence_ms)
    results = Replay(rule(threshold=60.0), fixes).run(T0, fixes[-1].ts_ms + MIN)
    found = spans(results)
    assert bool(found) is gap
    if gap:
        # The gap ended between two ticks: one finding, with everything known.
        (tick,) = found[(1,)]
        (finding,) = results[tick]
        last, first = fixes[60], fixes[61]
        assert finding.started_ms == last.ts_ms
        assert (finding.lat, finding.lon) == (last.lat, last.lon)
        assert finding.metrics["duration_s"] == (HOUR + 1) / 1000
        distance = float(
            plane_distance_m(*(np.array(v) for v in (last.lat, last.lon, first.lat, first.lon)))
        )
        assert finding.metrics["distance_m"] == pytest.approx(distance)
        assert finding.metrics["distance_m"] == pytest.approx(22_180.0 - 3_087.0, rel=0.01)
        expected_kn = float(kn_from(np.array(distance), np.array(float(HOUR + 1))))
        assert finding.metrics["implied_speed_kn"] == pytest.approx(expected_kn)


def test_a_long_silence_is_reported_while_it_lasts_then_closed_with_its_metrics() -> None:
    fixes = gap_track(3 * HOUR)
    results = Replay(rule(threshold=60.0), fixes).run(T0, fixes[-1].ts_ms)
    ticks = spans(results)[(1,)]
    last, first = fixes[60], fixes[61]
    assert ticks[0] == last.ts_ms + HOUR + 10_000  # the first tick *more* than 1 h after
    assert ticks == list(range(ticks[0], ticks[-1] + 1, 10_000))  # one event
    assert ticks[-1] == first.ts_ms  # the tick after the fix that ends the gap
    silent: Finding = results[ticks[0]][0]
    assert silent.started_ms == last.ts_ms
    assert silent.metrics["duration_s"] == 3610.0
    assert math.isnan(silent.metrics["distance_m"])
    assert math.isnan(silent.metrics["implied_speed_kn"])
    closing: Finding = results[ticks[-1]][0]
    assert closing.started_ms == last.ts_ms
    assert closing.metrics["duration_s"] == 3 * 3600.0
    assert closing.metrics["implied_speed_kn"] == pytest.approx(
        closing.metrics["distance_m"] / 1852 / 3, rel=1e-9
    )


def test_no_gap_when_last_seen_outside_the_area() -> None:
    fixes = gap_track(3 * HOUR, lat=28.0)  # north of the area of interest
    assert spans(Replay(rule(), fixes).run(T0, fixes[-1].ts_ms + MIN)) == {}


def test_without_zones_a_gap_counts_anywhere() -> None:
    fixes = gap_track(3 * HOUR, lat=28.0)
    anywhere = make_rule(AisGap, {}, ZONES)
    assert spans(Replay(anywhere, fixes).run(T0, fixes[-1].ts_ms + MIN))


def test_unknown_zones_are_refused() -> None:
    with pytest.raises(PackError, match="unknown zone"):
        make_rule(AisGap, {}, ZONES, zones=("nowhere",))


def test_a_vessel_the_entry_does_not_apply_to_is_not_watched() -> None:
    r = rule()
    fixes = gap_track(3 * HOUR)
    r.observe(fixes_table(fixes[:61]))
    r.evaluate(frame_from_fixes(fixes[60].ts_ms, [fixes[60]]), np.zeros(1, dtype=bool))
    frame = frame_from_fixes(fixes[60].ts_ms + 2 * HOUR, [fixes[60]])
    assert r.evaluate(frame, np.zeros(1, dtype=bool)) == []
    r.observe(fixes_table(fixes[61:]))
    assert r.evaluate(frame_from_fixes(fixes[-1].ts_ms, fixes[-1:]), np.zeros(1, dtype=bool)) == []


def test_a_vessel_silent_beyond_max_gap_is_forgotten() -> None:
    fixes = gap_track(5 * HOUR)
    results = Replay(rule(threshold=60.0, max_gap=2.0), fixes, tick_ms=MIN).run(
        T0, fixes[-1].ts_ms + MIN
    )
    ticks = spans(results)[(1,)]
    assert ticks[-1] == fixes[60].ts_ms + 2 * HOUR  # silent for max_gap, not longer
    assert all(math.isnan(f.metrics["distance_m"]) for t in ticks for f in results[t])


def test_a_gap_inside_one_batch_is_found() -> None:
    r = rule()
    fixes = gap_track(2 * HOUR)
    r.observe(fixes_table(fixes[:1]))
    r.evaluate(frame_from_fixes(T0, fixes[:1]), np.ones(1, dtype=bool))
    r.observe(fixes_table(fixes[1:]))
    (finding,) = r.evaluate(frame_from_fixes(fixes[-1].ts_ms, fixes[-1:]), np.ones(1, dtype=bool))
    assert finding.started_ms == fixes[60].ts_ms
    assert finding.metrics["duration_s"] == 7200.0


def test_snapshot_restore_replays_identically() -> None:
    fixes = gap_track(2 * HOUR) + [replace(f, mmsi=2) for f in gap_track(90 * MIN, lat=26.5)]
    r = rule()
    replay = Replay(r, fixes, tick_ms=MIN)
    replay.run(T0, T0 + HOUR)
    saved, position, latest = r.snapshot(), replay.position, dict(replay.latest)
    after = replay.run(T0 + HOUR + MIN, T0 + 4 * HOUR)
    r.restore(saved)
    replay.position, replay.latest = position, latest
    again = replay.run(T0 + HOUR + MIN, T0 + 4 * HOUR)
    assert repr(again) == repr(after)  # repr: NaN metrics compare equal
    assert len(spans(after)) == 2


def test_many_vessels_match_gaps_found_offline() -> None:
    """600 vessels with random silences, against the gaps of each track computed alone."""
    rng = np.random.default_rng(9)
    count, minutes = 600, 240
    threshold_min = 30
    lat = rng.uniform(24.5, 27.5, count)  # some outside the area (25-27 N)
    lon = rng.uniform(122.5, 124.5, count)
    fixes: list[Fix] = []
    per_vessel: list[list[Fix]] = [[] for _ in range(count)]
    silent_until = np.zeros(count, dtype=np.int64)
    for k in range(minutes):
        starts = (rng.random(count) < 0.004) & (silent_until <= k)
        silent_until = np.where(starts, k + rng.integers(10, 90, count), silent_until)
        reporting = np.flatnonzero(silent_until <= k)
        lat[reporting] += 0.0003
        ts = (T0 + k * MIN + rng.integers(0, 1000, count)).tolist()
        lat_now, lon_now = lat.tolist(), lon.tolist()
        for i in reporting.tolist():
            fix = Fix(i, ts[i], lat_now[i], lon_now[i])
            fixes.append(fix)
            per_vessel[i].append(fix)
    r = rule(threshold=float(threshold_min))
    results = Replay(r, fixes, tick_ms=MIN).run(T0, T0 + minutes * MIN)
    got = {
        (f.vessels[0], start, start + round(f.metrics["duration_s"] * 1000))
        for found in results.values()
        for f in found
        if not math.isnan(f.metrics["distance_m"]) and (start := f.started_ms) is not None
    }
    expected = set()
    for i, own in enumerate(per_vessel):
        for a, b in itertools.pairwise(own):
            inside = 25.0 < a.lat < 27.0
            if b.ts_ms - a.ts_ms > threshold_min * MIN and inside:
                expected.add((i, a.ts_ms, b.ts_ms))
    assert got == expected
    assert len(expected) > 100
