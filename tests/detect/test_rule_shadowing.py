"""shadowing: band edges, speed and duration boundaries, interruptions, many vessels; the
columnar findings against the row-by-row definition."""

from __future__ import annotations

import numpy as np
import pytest
from framekit import LAT0, LON0, MIN, T0, Replay, frame_of, make_rule, moved, spans, track

from seabridge.detect.model import Finding
from seabridge.detect.rule import Rule
from seabridge.detect.rules._common import Table, plane_distance_m, split_pair_key
from seabridge.detect.rules.shadowing import Shadowing
from seabridge.units import M_PER_NM


def rule(**params: float) -> Rule:
    return make_rule(Shadowing, params)


def pair_at(r: Rule, time_ms: int, range_m: float, sog: float = 10.0) -> list[Finding]:
    """Vessels 1 and 2, ``range_m`` apart, reporting at the tick (no course: no reckoning)."""
    lat_b, lon_b = moved(LAT0, LON0, 30.0, range_m)
    frame = frame_of(time_ms, [1, 2], [LAT0, lat_b], [LON0, lon_b], sog_kn=sog)
    return list(r.evaluate(frame, np.ones(2, dtype=bool)))


def hold(r: Rule, minutes: int, range_m: float, sog: float = 10.0, start: int = T0) -> bool:
    found = [pair_at(r, start + k * MIN, range_m, sog) for k in range(minutes + 1)]
    return bool(found[-1])


def measured(range_m: float) -> float:
    lat_b, lon_b = moved(LAT0, LON0, 30.0, range_m)
    return float(plane_distance_m(*(np.array(v) for v in (LAT0, LON0, lat_b, lon_b))))


def in_nm_exactly(range_m: float) -> float:
    """The parameter value (nm) that the rule turns back into exactly ``range_m``."""
    value = range_m / M_PER_NM
    for _ in range(8):
        if value * M_PER_NM == range_m:
            return value
        value = float(np.nextafter(value, np.inf if value * M_PER_NM < range_m else -np.inf))
    raise AssertionError(f"no float in nm gives exactly {range_m} m")


def test_a_follower_a_mile_astern_is_shadowing() -> None:
    target = track(1, T0, 300, 10.0, sog_kn=12.0, cog_deg=60.0)
    lat, lon = moved(LAT0, LON0, 240.0, M_PER_NM)
    follower = track(2, T0, 300, 10.0, lat, lon, sog_kn=12.0, cog_deg=60.0)
    results = Replay(rule(), target + follower).run(T0, T0 + 49 * MIN)
    ticks = spans(results)[(1, 2)]
    assert ticks == list(range(T0 + 30 * MIN, T0 + 49 * MIN + 1, 10_000))
    finding = results[ticks[0]][0]
    assert finding.started_ms == T0
    assert finding.metrics["duration_s"] == 1800.0
    assert finding.metrics["mean_range_m"] == pytest.approx(M_PER_NM, rel=2e-3)
    assert finding.metrics["mean_speed_kn"] == pytest.approx(12.0)


def test_crossing_vessels_pass_through_the_band_too_quickly() -> None:
    north = track(1, T0, 300, 10.0, *moved(LAT0, LON0, 180.0, 5 * M_PER_NM), 10.0, 0.0)
    east = track(2, T0, 300, 10.0, *moved(LAT0, LON0, 270.0, 5 * M_PER_NM), 10.0, 90.0)
    assert spans(Replay(rule(), north + east).run(T0, T0 + 49 * MIN)) == {}


@pytest.mark.parametrize(
    ("edge", "scale", "found"),
    [
        ("min_range", 1 - 1e-9, True), ("min_range", 1.0, True), ("min_range", 1 + 1e-9, False),
        ("max_range", 1 - 1e-9, False), ("max_range", 1.0, True), ("max_range", 1 + 1e-9, True),
    ],
)  # fmt: skip
def test_band_edges_are_inclusive(edge: str, scale: float, found: bool) -> None:
    params = {"min_range": 0.1, "max_range": 3.0, "duration": 10.0}
    params[edge] = in_nm_exactly(measured(1500.0)) * scale
    assert hold(rule(**params), 10, 1500.0) is found


@pytest.mark.parametrize(("sog", "found"), [(1.99, False), (2.0, True), (2.01, True)])
def test_both_under_way_at_min_speed_or_faster(sog: float, found: bool) -> None:
    assert hold(rule(duration=10.0, min_speed=2.0), 10, 1500.0, sog) is found


@pytest.mark.parametrize(
    ("duration_ms", "found"), [(30 * MIN - 1, True), (30 * MIN, True), (30 * MIN + 1, False)]
)
def test_duration_boundary(duration_ms: int, found: bool) -> None:
    assert hold(rule(duration=duration_ms / MIN), 30, 1500.0) is found


def test_interruptions_up_to_max_interruption_keep_the_run() -> None:
    for minutes_close, one_run in [(3, True), (4, True), (5, False)]:  # out 4, 5, 6 min
        r = rule(max_interruption=5.0)
        hold(r, 20, 1500.0)
        for k in range(minutes_close):
            pair_at(r, T0 + (21 + k) * MIN, 500.0)  # inside 0.5 nm: out of the band
        assert hold(r, 14, 1500.0, start=T0 + (21 + minutes_close) * MIN) is one_run


def test_snapshot_restore_replays_identically() -> None:
    rng = np.random.default_rng(2)
    frames = []
    heading = rng.uniform(0, 360, 30)
    for k in range(90):
        lat = LAT0 + np.repeat(np.arange(10) * 0.2, 3) + rng.normal(0, 0.01, 30) + k * 1e-4
        lon = LON0 + rng.normal(0, 0.01, 30)
        frames.append(
            frame_of(
                T0 + k * MIN,
                np.arange(30),
                lat,
                lon,
                sog_kn=rng.uniform(1, 12, 30),
                cog_deg=heading,
            )
        )
    r = rule(duration=10.0)
    every = np.ones(30, dtype=bool)
    for frame in frames[:45]:
        r.evaluate(frame, every)
    saved = r.snapshot()
    after = [r.evaluate(frame, every) for frame in frames[45:]]
    r.restore(saved)
    assert [r.evaluate(frame, every) for frame in frames[45:]] == after
    assert any(after)


def test_many_vessels_match_brute_force_pair_runs() -> None:
    count, ticks = 800, 25
    p = {
        "min_range": 0.5,
        "max_range": 3.0,
        "duration": 5.0,
        "min_speed": 2.0,
        "max_interruption": 2.0,
    }
    r = rule(**p)
    rng = np.random.default_rng(6)
    home = rng.uniform(-0.4, 0.4, (count, 2))
    speed = rng.uniform(0, 8, count)
    i_all, j_all = np.triu_indices(count, 1)
    runs: dict[tuple[int, int], list[int]] = {}  # [start, last]
    for k in range(ticks):
        pos = home + rng.normal(0, 0.004, (count, 2))
        lat, lon = LAT0 + pos[:, 0], LON0 + pos[:, 1]
        sog = np.where(rng.random(count) < 0.1, 1.0, speed)
        time_ms = T0 + k * MIN
        frame = frame_of(time_ms, np.arange(count), lat, lon, sog_kn=sog)
        got = {f.key: f for f in r.evaluate(frame, np.ones(count, dtype=bool))}
        distance = plane_distance_m(lat[i_all], lon[i_all], lat[j_all], lon[j_all])
        band = (distance >= p["min_range"] * M_PER_NM) & (distance <= p["max_range"] * M_PER_NM)
        band &= (sog[i_all] >= p["min_speed"]) & (sog[j_all] >= p["min_speed"])
        for c in np.flatnonzero(band).tolist():
            key = (int(i_all[c]), int(j_all[c]))
            run = runs.get(key)
            if run is None or time_ms - run[1] > p["max_interruption"] * MIN:
                runs[key] = [time_ms, time_ms]
            else:
                run[1] = time_ms
        runs = {k: v for k, v in runs.items() if time_ms - v[1] <= p["max_interruption"] * MIN}
        expected = {k: v for k, v in runs.items() if v[1] - v[0] >= p["duration"] * MIN}
        assert got.keys() == expected.keys(), k
        for key, (start, last) in expected.items():
            assert got[key].started_ms == start
            assert got[key].metrics["duration_s"] == (last - start) / 1000
    assert len(expected) > 100


def findings_row_by_row(params: dict[str, float], runs: Table) -> list[Finding]:
    """The findings as first written (one row at a time): the reference for the columnar
    :meth:`Shadowing._findings`."""
    span = runs["last_ms"] - runs["start_ms"]
    findings = []
    for row in np.flatnonzero(span >= params["duration"] * 60_000).tolist():
        a, b = split_pair_key(int(runs["key"][row]))
        samples = int(runs["samples"][row])
        metrics = {
            "duration_s": float(span[row]) / 1000.0,
            "mean_range_m": float(runs["sum_range_m"][row]) / samples,
            "range_m": float(runs["range_m"][row]),
            "mean_speed_kn": float(runs["sum_speed_kn"][row]) / samples,
        }
        findings.append(
            Finding(
                key=(a, b),
                vessels=(a, b),
                lat=float(runs["lat"][row]),
                lon=float(runs["lon"][row]),
                metrics=metrics,
                started_ms=int(runs["start_ms"][row]),
            )
        )
    return findings


def plain(finding: Finding) -> tuple[object, ...]:
    """A finding with every value's Python type, so 1 == 1.0 == np.int64(1) cannot pass."""
    fields: list[object] = [*finding.key, *finding.vessels, finding.lat, finding.lon]
    fields += [finding.started_ms, *finding.metrics, *finding.metrics.values()]
    fields += [finding.zone, finding.level]
    return tuple((type(value).__name__, value) for value in fields)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_findings_equal_the_row_by_row_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = 150
    mmsi = rng.choice(np.arange(200_000_000, 800_000_000), count, replace=False)
    position = rng.uniform(-0.15, 0.15, (count, 2))
    heading = rng.uniform(0, 360, count)
    r = rule(duration=float(rng.integers(2, 6)), max_interruption=float(rng.integers(1, 4)))
    compared = 0
    for k in range(40):
        seen = rng.random(count) < 0.9  # some vessels miss a tick: interrupted runs
        position += rng.normal(0, 0.002, (count, 2))  # pairs wander in and out of the band
        sog = np.where(rng.random(count) < 0.05, np.nan, rng.uniform(0, 14, count))
        frame = frame_of(
            T0 + k * MIN + int(rng.integers(0, 9_000)),
            mmsi[seen],
            LAT0 + position[seen, 0],
            LON0 + position[seen, 1],
            ts_ms=T0 + k * MIN - rng.integers(0, 240_000, int(seen.sum())),
            sog_kn=sog[seen],
            cog_deg=np.where(rng.random(count) < 0.05, np.nan, heading)[seen],
        )
        got = list(r.evaluate(frame, rng.random(int(seen.sum())) < 0.95))
        want = findings_row_by_row(r.params, r.state["pairs"])
        assert [plain(f) for f in got] == [plain(f) for f in want], k
        assert got == want
        compared += len(want)
    assert compared > 1000
