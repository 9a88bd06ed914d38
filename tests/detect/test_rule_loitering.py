"""loitering: slow buckets in a row for a duration; speed, duration and gap boundaries."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from framekit import HOUR, MIN, T0, Fix, Replay, frame_of, make_rule, spans, track

from seabridge.detect.rule import Rule
from seabridge.detect.rules._common import kn_from, plane_distance_m
from seabridge.detect.rules.loitering import Loitering
from seabridge.units import MPS_PER_KN


def rule(**params: float) -> Rule:
    return make_rule(Loitering, params)


@pytest.mark.parametrize(
    ("sog", "loiters"), [(1.99, True), (2.0, False), (2.01, False)], ids=["below", "at", "above"]
)
def test_mean_speed_boundary(sog: float, loiters: bool) -> None:
    fixes = track(1, T0, 121, 60.0, sog_kn=sog)
    results = Replay(rule(max_speed=2.0, duration=1.0), fixes, tick_ms=MIN).run(T0, T0 + 2 * HOUR)
    found = spans(results)
    assert bool(found) is loiters
    if found:
        assert found[(1,)][0] == T0 + HOUR
        finding = results[T0 + HOUR][0]
        assert finding.started_ms == T0
        assert finding.metrics["duration_s"] == 3600.0
        assert finding.metrics["mean_speed_kn"] == pytest.approx(1.99, rel=1e-12)
        expected_m = 1.99 * MPS_PER_KN * 3600
        assert finding.metrics["distance_m"] == pytest.approx(expected_m, rel=1e-3)
        assert (finding.lat, finding.lon) == (fixes[60].lat, fixes[60].lon)


@pytest.mark.parametrize(
    ("duration_ms", "found"),
    [(HOUR - 1, True), (HOUR, True), (HOUR + 1, False)],
    ids=["just-below", "exactly", "just-above"],
)
def test_duration_boundary(duration_ms: int, found: bool) -> None:
    """The run is exactly one hour at the tick of the fix that closes its sixth bucket."""
    r = rule(duration=duration_ms / HOUR, bucket=10.0)
    results = Replay(r, track(1, T0, 61, 60.0, sog_kn=1.0), tick_ms=MIN).run(T0, T0 + HOUR)
    assert bool(results[T0 + HOUR]) is found
    assert not any(results[t] for t in results if t < T0 + HOUR)


def test_runs_grow_only_when_buckets_close() -> None:
    # Fixes 1 ms after each minute: the sixth bucket closes with the fix at 60 min + 1 ms,
    # so at the tick of T0 + 1 h the run holds five buckets, and one minute later six.
    fixes = track(1, T0 + 1, 80, 60.0, sog_kn=1.0)
    results = Replay(rule(duration=1.0, bucket=10.0), fixes, tick_ms=MIN).run(T0, T0 + 75 * MIN)
    first = spans(results)[(1,)][0]
    assert first == T0 + 61 * MIN
    assert results[first][0].started_ms == T0 + 1
    assert results[first][0].metrics["duration_s"] == 3600.0


@pytest.mark.parametrize(
    ("silence_ms", "one_run"), [(HOUR - 1, True), (HOUR, True), (HOUR + 1, False)]
)
def test_a_silence_longer_than_max_gap_breaks_the_run(silence_ms: int, one_run: bool) -> None:
    before = track(1, T0, 41, 60.0, sog_kn=1.0)  # 40 min
    resume = before[-1].ts_ms + silence_ms
    after = [replace(f, ts_ms=resume + f.ts_ms - T0) for f in before]
    r = rule(duration=1.0, bucket=10.0, max_gap=60.0)
    results = Replay(r, before + after, tick_ms=MIN).run(T0, resume + 41 * MIN)
    assert bool(spans(results)) is one_run


def test_implied_speed_when_no_sog_is_reported() -> None:
    for speed, loiters in [(1.5, True), (2.5, False)]:
        fixes = [replace(f, sog_kn=math.nan) for f in track(1, T0, 121, 60.0, sog_kn=speed)]
        results = Replay(rule(), fixes, tick_ms=MIN).run(T0, T0 + 2 * HOUR)
        assert bool(spans(results)) is loiters
        if loiters:
            finding = results[T0 + 2 * HOUR][0]
            assert finding.metrics["mean_speed_kn"] == pytest.approx(1.5, rel=2e-3)


def test_speeding_up_ends_the_loiter_within_a_bucket() -> None:
    slow = track(1, T0, 90, 60.0, sog_kn=0.5)
    fast = track(1, T0 + 90 * MIN, 60, 60.0, slow[-1].lat, slow[-1].lon, sog_kn=12.0)
    results = Replay(rule(), slow + fast, tick_ms=MIN).run(T0, T0 + 150 * MIN)
    ticks = spans(results)[(1,)]
    assert ticks[0] == T0 + HOUR
    assert ticks == list(range(ticks[0], ticks[-1] + 1, MIN))  # one event
    assert T0 + 90 * MIN <= ticks[-1] < T0 + 100 * MIN


def test_rows_that_do_not_apply_are_neither_measured_nor_reported() -> None:
    r = rule(duration=0.1, bucket=1.0)
    for k in range(30):
        frame = frame_of(T0 + k * MIN, [1, 2], 26.0, 123.0, sog_kn=0.0, usable=[True, False])
        found = r.evaluate(frame, np.array([True, True]))
    assert [f.key for f in found] == [(1,)]
    frame = frame_of(T0 + 30 * MIN, [1, 2], 26.0, 123.0, sog_kn=0.0)
    assert r.evaluate(frame, np.array([False, True])) == []


def test_snapshot_restore_replays_identically() -> None:
    rng = np.random.default_rng(3)
    fixes = [
        Fix(m, T0 + k * MIN, 26.0 + 0.001 * k, 123.0 + m * 0.01, float(rng.uniform(0, 3)))
        for m in range(20)
        for k in range(240)
    ]
    r = rule()
    replay = Replay(r, fixes, tick_ms=MIN)
    replay.run(T0, T0 + 2 * HOUR)
    saved, position, latest = r.snapshot(), replay.position, dict(replay.latest)
    after = replay.run(T0 + 2 * HOUR + MIN, T0 + 4 * HOUR)
    r.restore(saved)
    replay.position, replay.latest = position, latest
    assert replay.run(T0 + 2 * HOUR + MIN, T0 + 4 * HOUR) == after
    assert any(after.values())


def _oracle(
    samples: list[tuple[int, float, float, float]], p: dict[str, float]
) -> list[tuple[int, int, float, float] | None]:
    """Scalar Python version of the bucket algorithm: one vessel's sampled fixes in order.

    Returns, after each sample, (run start, run last, run distance, mean speed) when the
    run is long enough, else None.
    """
    bucket_ms, gap_ms = p["bucket"] * 60_000, p["max_gap"] * 60_000
    out: list[tuple[int, int, float, float] | None] = []
    prev = None
    acc = [0.0, 0.0, 0.0]
    run: list[float] = []
    acc_start = bucket = 0
    for ts, lat, lon, sog in samples:
        if prev is None or ts - prev[0] > gap_ms:
            acc, run, acc_start, bucket = [0.0, 0.0, 0.0], [], ts, int(ts // bucket_ms)
        else:
            dt = float(ts - prev[0])
            dist = float(plane_distance_m(*map(np.array, (prev[1], prev[2], lat, lon))))
            if math.isfinite(prev[3]) and math.isfinite(sog):
                speed = 0.5 * (prev[3] + sog)
            elif math.isfinite(prev[3]) or math.isfinite(sog):
                speed = prev[3] if math.isfinite(prev[3]) else sog
            else:
                speed = float(kn_from(np.array([dist]), np.array([dt]))[0])
            acc = [acc[0] + dt, acc[1] + dist, acc[2] + speed * dt]
            if ts // bucket_ms > bucket:
                if acc[0] > 0 and acc[2] / acc[0] < p["max_speed"]:
                    run = (
                        [acc_start, ts, *acc]
                        if not run
                        else [run[0], ts, run[2] + acc[0], run[3] + acc[1], run[4] + acc[2]]
                    )
                else:
                    run = []
                acc, acc_start, bucket = [0.0, 0.0, 0.0], ts, int(ts // bucket_ms)
        prev = (ts, lat, lon, sog)
        long_enough = run and run[1] - run[0] >= p["duration"] * 3_600_000
        out.append((int(run[0]), int(run[1]), run[3], run[4] / run[2]) if long_enough else None)
    return out


def test_many_vessels_match_a_scalar_oracle() -> None:
    count, ticks = 800, 150
    rng = np.random.default_rng(17)
    params = {"max_speed": 2.0, "duration": 0.5, "bucket": 5.0, "max_gap": 10.0}
    r = rule(**params)
    lat = 26.0 + rng.uniform(-0.5, 0.5, count)
    lon = 123.0 + rng.uniform(-0.5, 0.5, count)
    base = rng.choice([0.5, 1.8, 2.2, 6.0], count)
    ts = np.full(count, T0, dtype=np.int64)
    sog = base.copy()
    samples: list[list[tuple[int, float, float, float]]] = [[] for _ in range(count)]
    sampled_at: list[list[int]] = [[] for _ in range(count)]
    reported: list[list[tuple[int, int, float, float] | None]] = [[] for _ in range(count)]
    for k in range(ticks):
        time_ms = T0 + k * MIN
        moves = (rng.random(count) < 0.8) | (k == 0)  # not every vessel reports every tick
        if (k // 20) % 5 == 4:
            moves[: count // 10] = False  # 20 minutes of silence: longer than max_gap
        fresh = np.where(rng.random(count) < 0.1, np.nan, base + rng.normal(0, 0.4, count))
        sog = np.where(moves, fresh, sog)
        lat = np.where(moves, lat + np.nan_to_num(sog, nan=1.0) * MPS_PER_KN * 60 / 111e3, lat)
        ts = np.where(moves, time_ms - rng.integers(0, 5000, count), ts)
        frame = frame_of(time_ms, np.arange(count), lat, lon, ts_ms=ts, sog_kn=sog)
        for i in np.flatnonzero(moves).tolist():
            samples[i].append((int(ts[i]), float(lat[i]), float(lon[i]), float(sog[i])))
            sampled_at[i].append(k)
        found = {f.vessels[0]: f for f in r.evaluate(frame, np.ones(count, dtype=bool))}
        for i in range(count):
            f = found.get(i)
            if f is None:
                reported[i].append(None)
                continue
            start = f.started_ms or 0
            last = start + round(f.metrics["duration_s"] * 1000)
            reported[i].append((start, last, f.metrics["distance_m"], f.metrics["mean_speed_kn"]))
    hits = 0
    for i in range(count):
        # The oracle advances per sample: compare at the ticks that took a new sample.
        for want, k in zip(_oracle(samples[i], params), sampled_at[i], strict=True):
            have = reported[i][k]
            assert (want is None) == (have is None), (i, k)
            if want is not None and have is not None:
                hits += 1
                assert have[:2] == want[:2]
                assert have[2] == pytest.approx(want[2], rel=1e-9)
                assert have[3] == pytest.approx(want[3], rel=1e-9)
    assert hits > 1000


def test_a_vessel_silent_beyond_max_gap_is_not_reported() -> None:
    r = rule(duration=0.5, bucket=5.0, max_gap=10.0)
    fixes = track(1, T0, 41, 60.0, sog_kn=1.0)
    results = Replay(r, fixes, tick_ms=MIN).run(T0, T0 + 60 * MIN)
    ticks = spans(results)[(1,)]
    assert ticks[-1] == T0 + 50 * MIN  # last fix at 40 min, silent for 10 min: still reported
