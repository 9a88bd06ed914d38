"""data_quality: impossible jumps, shared MMSIs, adoption, the usable mask, and screening."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from framekit import (
    LAT0,
    LON0,
    MIN,
    T0,
    Fix,
    Replay,
    box_zone,
    fixes_table,
    frame_from_fixes,
    make_rule,
    moved,
    spans,
    track,
)

from seabridge.detect.rule import KINDS, Rule
from seabridge.detect.rules._common import ensure, kn_from, plane_distance_m
from seabridge.detect.rules.data_quality import _SCHEMA, DataQuality
from seabridge.detect.rules.zone_entry import ZoneEntry
from seabridge.geo import ZoneSet


def rule(**params: float) -> DataQuality:
    made = make_rule(DataQuality, params)
    assert isinstance(made, DataQuality)
    return made


def screen(r: DataQuality, fixes: list[Fix]) -> list[bool]:
    mask = r.screen(fixes_table(fixes))
    return [bool(v) for v in mask]


def measured(a: Fix, b: Fix) -> tuple[float, float]:
    """(distance m, implied kn) as the rule measures them."""
    distance = float(
        plane_distance_m(np.array(a.lat), np.array(a.lon), np.array(b.lat), np.array(b.lon))
    )
    return distance, float(kn_from(np.array(distance), np.array(float(b.ts_ms - a.ts_ms))))


def test_it_is_the_screening_kind() -> None:
    assert KINDS["data_quality"] is DataQuality
    assert DataQuality.SCREENS and DataQuality.QUALITY


@pytest.mark.parametrize(
    ("delta", "accepted"), [(-1e-9, False), (0.0, True), (1e-9, True)], ids=["below", "at", "above"]
)
def test_max_speed_boundary(delta: float, accepted: bool) -> None:
    """A 2 km jump in 60 s (about 64.8 kn): impossible only above max_speed."""
    a = Fix(1, T0, LAT0, LON0)
    b = Fix(1, T0 + 60_000, *moved(LAT0, LON0, 45.0, 2000.0))
    implied = measured(a, b)[1]
    r = rule(max_speed=implied * (1 + delta), min_distance=500.0)
    assert screen(r, [a, b]) == [True, accepted]


@pytest.mark.parametrize(
    ("delta_m", "accepted"),
    [(-1e-6, False), (0.0, True), (1e-6, True)],
    ids=["below", "at", "above"],
)
def test_min_distance_boundary(delta_m: float, accepted: bool) -> None:
    """A 600 m jump in 5 s (about 233 kn): impossible only when longer than min_distance."""
    a = Fix(1, T0, LAT0, LON0)
    b = Fix(1, T0 + 5_000, *moved(LAT0, LON0, 10.0, 600.0))
    distance = measured(a, b)[0]
    r = rule(min_distance=distance + delta_m)
    assert screen(r, [a, b]) == [True, accepted]


def test_gps_scatter_and_same_second_reports_are_not_jumps() -> None:
    rng = np.random.default_rng(2)
    fixes = [
        Fix(1, T0 + k * 1000 // 2, *moved(LAT0, LON0, float(rng.uniform(0, 360)), 150.0))
        for k in range(200)
    ]
    r = rule()
    assert all(screen(r, fixes))
    assert r.evaluate(frame_from_fixes(T0 + MIN, fixes[-1:]), np.ones(1, dtype=bool)) == []


def test_two_reports_in_the_same_second_far_apart_are_a_jump() -> None:
    a = Fix(1, T0, LAT0, LON0)
    b = Fix(1, T0, *moved(LAT0, LON0, 0.0, 1000.0))  # 1 km in "no time": taken as 1 s
    assert screen(rule(), [a, b]) == [True, False]


def test_one_glitch_is_rejected_and_reported_for_a_window() -> None:
    fixes = track(1, T0, 60, 10.0, sog_kn=12.0)
    glitch = replace(fixes[30], lat=fixes[30].lat + 0.3)  # 33 km off for one report
    fixes[30] = glitch
    r = rule(window=10.0)
    verdicts = screen(r, fixes)
    assert verdicts == [k != 30 for k in range(60)]
    (finding,) = r.evaluate(frame_from_fixes(T0 + 600_000, fixes[-1:]), np.ones(1, dtype=bool))
    assert finding.key == (1, "impossible_speed")
    assert finding.level == 1
    assert finding.started_ms == glitch.ts_ms
    assert finding.metrics["fix_count"] == 1
    distance, implied = measured(fixes[29], glitch)
    assert finding.metrics["distance_m"] == pytest.approx(distance)
    assert finding.metrics["implied_speed_kn"] == pytest.approx(implied)
    assert (finding.lat, finding.lon) == (fixes[-1].lat, fixes[-1].lon)  # the credible track
    late = frame_from_fixes(glitch.ts_ms + 600_001, fixes[-1:])
    assert r.evaluate(late, np.ones(1, dtype=bool)) == []


def _interleaved(count: int, period_ms: int = 5000) -> list[Fix]:
    """Two transmitters on one MMSI, 40 km apart, reporting alternately."""
    a = track(7, T0, count, period_ms / 500, sog_kn=10.0)
    b = track(7, T0 + period_ms // 2, count, period_ms / 500, 26.4, 123.5, 8.0, 200.0)
    return sorted([*a, *b], key=lambda f: f.ts_ms)


def test_two_transmitters_on_one_mmsi_are_shared_and_all_rejected() -> None:
    fixes = _interleaved(40)
    r = rule(min_switches=3.0)
    verdicts = screen(r, fixes)
    # A accepted, B a jump (switch 1), A back (switch 2), B again (switch 3: shared).
    assert verdicts[:3] == [True, False, True]
    assert not any(verdicts[3:])
    frame = frame_from_fixes(fixes[-1].ts_ms, fixes[-1:])
    keys = {f.key: f for f in r.evaluate(frame, np.ones(1, dtype=bool))}
    shared = keys[(7, "shared_mmsi")]
    assert shared.started_ms == fixes[3].ts_ms
    assert shared.metrics["distance_m"] == pytest.approx(40_000.0, rel=0.15)
    assert shared.metrics["fix_count"] == len(fixes) - 3
    assert not r.usable(frame)[0]


def test_a_shared_mmsi_recovers_when_one_transmitter_stops() -> None:
    fixes = _interleaved(40)
    r = rule(window=10.0)
    screen(r, fixes)
    tail = track(7, fixes[-1].ts_ms + 11 * MIN, 5, 10.0, 26.0, 123.52, 10.0, 90.0)
    assert screen(r, tail) == [True] * 5
    frame = frame_from_fixes(tail[-1].ts_ms, tail[-1:])
    assert r.usable(frame)[0]
    assert all(f.key[1] != "shared_mmsi" for f in r.evaluate(frame, np.ones(1, dtype=bool)))


@pytest.mark.parametrize("adopt_after", [1, 3, 5])
def test_a_bad_first_fix_gives_way_to_the_real_track(adopt_after: int) -> None:
    real = track(3, T0 + 10_000, 20, 10.0, sog_kn=10.0)
    wrong = Fix(3, T0, LAT0 + 1.0, LON0)  # 111 km away
    r = rule(adopt_after=float(adopt_after))
    verdicts = screen(r, [wrong, *real])
    assert verdicts == [True] + [k >= adopt_after - 1 for k in range(20)]


def test_batches_split_anywhere_give_the_same_verdicts() -> None:
    rng = np.random.default_rng(8)
    fixes = _interleaved(30) + track(1, T0, 100, 2.0, sog_kn=15.0)
    fixes += [
        replace(f, lat=f.lat + 0.5) if rng.random() < 0.05 else f for f in track(2, T0, 100, 3.0)
    ]
    fixes.sort(key=lambda f: f.ts_ms)
    whole = screen(rule(), fixes)
    r = rule()
    pieces: list[bool] = []
    cuts = sorted(rng.choice(len(fixes), 12, replace=False).tolist())
    for begin, end in zip([0, *cuts], [*cuts, len(fixes)], strict=True):
        pieces += screen(r, fixes[begin:end])
    assert pieces == whole
    assert not all(whole)


def test_the_vectorized_pass_agrees_with_the_per_fix_walk() -> None:
    """5,000 vessels, a few with glitches or a second transmitter, against the walk alone."""
    rng = np.random.default_rng(4)
    count, steps = 5000, 12
    lat0 = LAT0 + rng.uniform(-2, 2, count)
    lon0 = LON0 + rng.uniform(-2, 2, count)
    batches = []
    for k in range(steps):
        lat = lat0 + k * 0.0005
        glitch = rng.random(count) < 0.01
        lat = np.where(glitch, lat + rng.uniform(0.2, 1.0, count), lat)
        twin = (np.arange(count) % 97 == 0) & (k % 2 == 1)
        lat = np.where(twin, lat + 0.7, lat)
        ts = T0 + k * 10_000 + rng.integers(0, 3000, count)
        rows = zip(range(count), ts.tolist(), lat.tolist(), lon0.tolist(), strict=True)
        batches.append([Fix(i, t, la, lo) for i, t, la, lo in rows])
    fast, slow = rule(), rule()
    rejected = 0
    for batch in batches:
        batch.sort(key=lambda f: f.ts_ms)
        got = screen(fast, batch)
        by_vessel: dict[int, list[int]] = {}
        for n, f in enumerate(batch):
            by_vessel.setdefault(f.mmsi, []).append(n)
        expected = [True] * len(batch)
        table = slow.state["vessels"]
        for mmsi, items in by_vessel.items():
            row = int(ensure(table, _SCHEMA, np.array([mmsi], dtype=np.int64))[0])
            column = np.array
            verdicts = slow._walk(
                table,
                row,
                column([batch[n].ts_ms for n in items]),
                column([batch[n].lat for n in items]),
                column([batch[n].lon for n in items]),
            )
            for n, verdict in zip(items, verdicts, strict=True):
                expected[n] = verdict
        assert got == expected
        rejected += got.count(False)
    assert rejected > 500


def test_usable_marks_rows_whose_latest_fix_was_rejected() -> None:
    good = track(1, T0, 3, 10.0)
    glitch = replace(good[-1], ts_ms=good[-1].ts_ms + 10_000, lat=good[-1].lat + 0.5)
    r = rule()
    screen(r, [*good, glitch])
    assert list(r.usable(frame_from_fixes(glitch.ts_ms, [glitch]))) == [False]
    assert list(r.usable(frame_from_fixes(glitch.ts_ms, [good[-1]]))) == [True]
    unknown = Fix(99, T0, LAT0, LON0)
    assert list(r.usable(frame_from_fixes(T0, [unknown]))) == [True]


def test_glitches_are_kept_out_of_the_other_rules() -> None:
    zones = ZoneSet([box_zone("box", (26.5, 26.6), (123.5, 123.6))])
    fixes = track(5, T0, 60, 10.0, sog_kn=10.0)  # well south of the box
    fixes[20] = replace(fixes[20], lat=26.55, lon=123.55)  # one report inside it
    plain = make_rule(ZoneEntry, {"dwell": 0.0}, zones, zones=("box",))
    assert spans(Replay(plain, fixes, zones=zones).run(T0, T0 + 10 * MIN))
    guarded = make_rule(ZoneEntry, {"dwell": 0.0}, zones, zones=("box",))
    replay = Replay(guarded, fixes, zones=zones, quality=rule())
    assert spans(replay.run(T0, T0 + 10 * MIN)) == {}


def test_snapshot_restore_replays_identically() -> None:
    fixes = _interleaved(30) + track(2, T0, 100, 3.0)
    fixes[50] = replace(fixes[50], lat=fixes[50].lat + 1.0)
    fixes.sort(key=lambda f: f.ts_ms)
    r: Rule = rule()
    replay = Replay(r, fixes, quality=r, tick_ms=5000)
    replay.run(T0, T0 + 60_000)
    saved, position, latest = r.snapshot(), replay.position, copy.copy(replay.latest)
    after = replay.run(T0 + 65_000, T0 + 20 * MIN)
    r.restore(saved)
    replay.position, replay.latest = position, latest
    assert replay.run(T0 + 65_000, T0 + 20 * MIN) == after
    assert any(after.values())
