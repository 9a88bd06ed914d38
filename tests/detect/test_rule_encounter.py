"""encounter: distance, duration and median-speed boundaries, interruptions, many vessels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from framekit import HOUR, LAT0, LON0, MIN, T0, frame_of, make_rule, moved

from seabridge.detect.model import Finding
from seabridge.detect.rule import Rule
from seabridge.detect.rules._common import plane_distance_m
from seabridge.detect.rules.encounter import Encounter

TICK = MIN


def rule(**params: float) -> Rule:
    return make_rule(Encounter, params)


def pair_at(
    r: Rule, time_ms: int, distance_m: float, sog: tuple[float, float] = (0.5, 0.5)
) -> list[Finding]:
    """Vessels 1 and 2, ``distance_m`` apart (45 deg), reporting at the tick."""
    lat_b, lon_b = moved(LAT0, LON0, 45.0, distance_m)
    frame = frame_of(time_ms, [2, 1], [lat_b, LAT0], [lon_b, LON0], sog_kn=list(sog))
    return list(r.evaluate(frame, np.ones(2, dtype=bool)))


def measured(distance_m: float) -> float:
    lat_b, lon_b = moved(LAT0, LON0, 45.0, distance_m)
    return float(plane_distance_m(*(np.array(v) for v in (LAT0, LON0, lat_b, lon_b))))


def hold(r: Rule, minutes: int, distance_m: float, sog: tuple[float, float] = (0.5, 0.5),
         start: int = T0) -> list[list[Finding]]:  # fmt: skip
    return [pair_at(r, start + k * TICK, distance_m, sog) for k in range(minutes + 1)]


@pytest.mark.parametrize(
    ("scale", "found"), [(1 - 1e-9, False), (1.0, True), (1 + 1e-9, True)],
    ids=["threshold-just-below", "exactly", "threshold-just-above"],
)  # fmt: skip
def test_distance_boundary(scale: float, found: bool) -> None:
    threshold = measured(480.0) * scale  # the pair is exactly at the threshold when scale=1
    results = hold(rule(distance=threshold, duration=0.5), 30, 480.0)
    assert bool(results[-1]) is found


@pytest.mark.parametrize(
    ("duration_ms", "found"),
    [(2 * HOUR - 1, True), (2 * HOUR, True), (2 * HOUR + 1, False)],
    ids=["just-below", "exactly", "just-above"],
)
def test_duration_boundary(duration_ms: int, found: bool) -> None:
    results = hold(rule(duration=duration_ms / HOUR), 120, 300.0)
    assert bool(results[-1]) is found
    assert not any(results[:-1])  # 1 h 59 min in range is never enough
    if found:
        (finding,) = results[-1]
        assert finding.key == (1, 2) and finding.vessels == (1, 2)
        assert finding.started_ms == T0
        assert finding.metrics["duration_s"] == 7200.0
        assert finding.metrics["distance_m"] == pytest.approx(measured(300.0))
        assert finding.metrics["mean_distance_m"] == pytest.approx(measured(300.0))
        assert finding.metrics["mean_speed_kn"] == pytest.approx(0.5)
        mid_lat, mid_lon = moved(LAT0, LON0, 45.0, 150.0)
        assert (finding.lat, finding.lon) == pytest.approx((mid_lat, mid_lon), abs=1e-6)


@pytest.mark.parametrize(
    ("sog", "found"), [(1.99, True), (2.0, False), (2.01, False)], ids=["below", "at", "above"]
)
def test_median_speed_boundary(sog: float, found: bool) -> None:
    results = hold(rule(duration=1.0), 60, 300.0, (sog, sog))
    assert bool(results[-1]) is found


@pytest.mark.parametrize(
    ("both_fast", "one_fast", "found"), [(30, 0, True), (30, 1, False), (31, 0, False)],
    ids=["60-of-122-fast", "61-of-122-fast", "62-of-122-fast"],
)  # fmt: skip
def test_the_median_needs_more_than_half_of_the_samples_slow(
    both_fast: int, one_fast: int, found: bool
) -> None:
    """61 ticks, two SOG samples each: the median is below only with 62 or more slow."""
    r = rule(duration=1.0)
    results = []
    for k in range(61):
        sog = (
            (5.0, 5.0) if k < both_fast else (0.0, 5.0) if k < both_fast + one_fast else (0.0, 0.0)
        )
        results.append(pair_at(r, T0 + k * TICK, 300.0, sog))
    assert bool(results[-1]) is found


def test_a_short_interruption_keeps_the_run_and_a_long_one_restarts_it() -> None:
    r = rule(duration=1.0, max_interruption=10.0)
    hold(r, 40, 300.0)
    apart = [pair_at(r, T0 + (41 + k) * TICK, 3000.0) for k in range(9)]  # 9 min apart
    assert all(not found for found in apart)  # not qualified yet: nothing to report
    back = hold(r, 20, 300.0, start=T0 + 50 * TICK)
    assert back[-1][0].started_ms == T0  # one run from the start: 70 min, qualified at 60
    r2 = rule(duration=1.0, max_interruption=10.0)
    hold(r2, 40, 300.0)
    for k in range(11):
        pair_at(r2, T0 + (41 + k) * TICK, 3000.0)  # 11 min apart
    again = hold(r2, 20, 300.0, start=T0 + 52 * TICK)
    assert not any(again)


def test_a_qualified_encounter_is_reported_through_a_tolerated_interruption() -> None:
    r = rule(duration=1.0, max_interruption=10.0)
    assert hold(r, 60, 300.0)[-1]
    gone = [pair_at(r, T0 + (61 + k) * TICK, 3000.0) for k in range(11)]
    assert [bool(found) for found in gone] == [True] * 10 + [False]
    assert gone[0][0].metrics["duration_s"] == 3600.0  # the span in range, not to the tick


def test_unusable_stale_and_non_applying_vessels_are_left_out() -> None:
    lat_b, lon_b = moved(LAT0, LON0, 45.0, 300.0)
    r = rule(duration=0.1, max_age=10.0)
    for k in range(10):
        t = T0 + k * TICK
        frames = [
            frame_of(t, [1, 2], [LAT0, lat_b], [LON0, lon_b], sog_kn=0.5, usable=[True, False]),
            frame_of(
                t, [1, 2], [LAT0, lat_b], [LON0, lon_b], sog_kn=0.5, ts_ms=[t, t - 10 * MIN - 1]
            ),
        ]
        for frame in frames:
            assert r.evaluate(frame, np.ones(2, dtype=bool)) == []
        frame = frame_of(t, [1, 2], [LAT0, lat_b], [LON0, lon_b], sog_kn=0.5)
        assert r.evaluate(frame, np.array([True, False])) == []


def test_positions_are_dead_reckoned_to_the_tick() -> None:
    """B reported 5 min ago 1 km north, heading south at 6 kn: it is 74 m away now."""
    lat_b, lon_b = moved(LAT0, LON0, 0.0, 1000.0)
    r = rule(duration=0.1, max_speed=10.0)
    for k in range(7):
        t = T0 + k * TICK
        frame = frame_of(
            t, [1, 2], [LAT0, lat_b], [LON0, lon_b], sog_kn=[0.0, 6.0], cog_deg=[0.0, 180.0],
            ts_ms=[t, t - 5 * MIN],
        )  # fmt: skip
        found = r.evaluate(frame, np.ones(2, dtype=bool))
    (finding,) = found
    assert finding.metrics["distance_m"] == pytest.approx(1000.0 - 6 * 1852 / 12, abs=2.0)


def test_snapshot_restore_replays_identically() -> None:
    rng = np.random.default_rng(1)
    frames = []
    for k in range(120):
        lat = LAT0 + rng.normal(0, 0.002, 40) + np.repeat(np.arange(10) * 0.1, 4)
        lon = LON0 + rng.normal(0, 0.002, 40)
        frames.append(
            frame_of(T0 + k * TICK, np.arange(40), lat, lon, sog_kn=rng.uniform(0, 3, 40))
        )
    r = rule(duration=0.5)
    every = np.ones(40, dtype=bool)
    for frame in frames[:60]:
        r.evaluate(frame, every)
    saved = r.snapshot()
    after = [r.evaluate(frame, every) for frame in frames[60:]]
    r.restore(saved)
    assert [r.evaluate(frame, every) for frame in frames[60:]] == after
    assert any(after)


def _oracle_runs(
    history: list[tuple[int, dict[tuple[int, int], tuple[float, float, float, float, float]]]],
    p: dict[str, float],
) -> list[dict[tuple[int, int], tuple[int, float, float]]]:
    """Pair runs in plain Python dicts over brute-force pairs, tick by tick.

    history: (time, {pair: (distance, sog_a, sog_b, lat, lon)}); returns, per tick, the
    reported pairs with (start, duration_s, mean distance).
    """
    runs: dict[tuple[int, int], dict[str, float]] = {}
    out = []
    gap = p["max_interruption"] * 60_000
    for time_ms, pairs in history:
        for pair, (distance, sog_a, sog_b, _, _) in pairs.items():
            run = runs.get(pair)
            if run is None or time_ms - run["last"] > gap:
                run = runs[pair] = dict.fromkeys(("n", "speeds", "slow", "dist"), 0.0)
                run["start"] = time_ms
            run["last"] = time_ms
            run["n"] += 1
            run["dist"] += distance
            for sog in (sog_a, sog_b):
                if math.isfinite(sog):
                    run["speeds"] += 1
                    run["slow"] += sog < p["max_speed"]
        runs = {k: v for k, v in runs.items() if time_ms - v["last"] <= gap}
        out.append(
            {
                k: (int(v["start"]), (v["last"] - v["start"]) / 1000, v["dist"] / v["n"])
                for k, v in runs.items()
                if v["last"] - v["start"] >= p["duration"] * HOUR and 2 * v["slow"] > v["speeds"]
            }
        )
    return out


def test_many_vessels_match_brute_force_pair_runs() -> None:
    count, ticks = 800, 25
    rng = np.random.default_rng(21)
    params = {"distance": 500.0, "duration": 0.1, "max_speed": 2.0, "max_interruption": 2.0}
    r = rule(**params)
    centres = rng.uniform(-0.3, 0.3, (40, 2))
    home = centres[rng.integers(0, 40, count)] + rng.normal(0, 0.004, (count, 2))
    base_sog = rng.uniform(0, 3, count)
    i_all, j_all = np.triu_indices(count, 1)
    history = []
    got = []
    for k in range(ticks):
        pos = home + rng.normal(0, 0.0015, (count, 2))
        lat, lon = LAT0 + pos[:, 0], LON0 + pos[:, 1]
        sog = np.where(rng.random(count) < 0.05, np.nan, base_sog + rng.normal(0, 0.3, count))
        time_ms = T0 + k * TICK
        frame = frame_of(time_ms, np.arange(count) + 100_000_000, lat, lon, sog_kn=sog)
        found = r.evaluate(frame, np.ones(count, dtype=bool))
        got.append(
            {
                f.key: (f.started_ms, f.metrics["duration_s"], f.metrics["mean_distance_m"])
                for f in found
            }
        )
        distance = plane_distance_m(lat[i_all], lon[i_all], lat[j_all], lon[j_all])
        close = np.flatnonzero(distance <= params["distance"])
        history.append(
            (
                time_ms,
                {
                    (int(i_all[c]) + 100_000_000, int(j_all[c]) + 100_000_000): (
                        float(distance[c]),
                        float(sog[i_all[c]]),
                        float(sog[j_all[c]]),
                        0.0,
                        0.0,
                    )
                    for c in close.tolist()
                },
            )
        )
    expected = _oracle_runs(history, params)
    reported = 0
    for k in range(ticks):
        assert got[k].keys() == expected[k].keys(), k
        for key, (start, duration, mean) in expected[k].items():
            assert got[k][key][:2] == (start, duration)
            assert got[k][key][2] == pytest.approx(mean, rel=1e-9)
        reported += len(got[k])
    assert sum(len(pairs) for _, pairs in history) > 10_000
    assert reported > 1000
