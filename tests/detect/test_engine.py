"""The engine: event lifecycle (open/update/close with hysteresis, no flapping), grading,
late data (revision and retraction), determinism, and batch == live.

A scripted rule kind (registered only for the tests that use it) drives the lifecycle
exactly; close_quarters on hand-built tracks checks grading and late data end to end.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pytest
from framekit import MIN, T0, Fix, fixes_table, moved, track

from seabridge.config import Settings
from seabridge.detect import (
    KINDS,
    Engine,
    EngineSettings,
    Event,
    Finding,
    ParamSpec,
    Rule,
    VesselFrame,
    final_events,
    parse_rulebook,
)
from seabridge.detect.model import event_id
from seabridge.geo import load_zones
from seabridge.packs import load_pack, load_parties

PACK = load_pack("ecs")
ZONES = load_zones(PACK)
PARTIES = load_parties(PACK)
TICK = 10_000
CCG = 413999101  # in the ccg fleet (parties.toml)
JCG = 431999101  # in the jcg fleet
OTHER_A, OTHER_B = 412000001, 412000002  # in no fleet
LAT, LON = 26.6, 124.6  # open sea, outside every zone of the pack

CQ_BOOK = """\
id: test-cq
version: 1
title: close quarters as in ecs-standard
parties: [jcg, ccg]
effective: 2026-01-01
rules:
  - id: cq
    kind: close_quarters
    params: {threshold: 0.5 nm, horizon: 12 min}
    applies: {underway_only: true}
    level: 1
    grades:
      - {level: 2, when: {cpa_m: {below: 0.5 nm}}, fleets: any}
      - {level: 3, when: {cpa_m: {below: 0.2 nm}}, fleets: any}
"""


def cq_engine(settings: EngineSettings | None = None, book: str = CQ_BOOK) -> Engine:
    rulebook = parse_rulebook(book, "test.yaml", zone_ids=ZONES.ids, parties=PARTIES)
    return Engine(rulebook, ZONES, PARTIES, settings=settings)


def run(engine: Engine, table: pa.Table, pieces: int = 1) -> list[Event]:
    events: list[Event] = []
    size = max(1, math.ceil(table.num_rows / pieces))
    for start in range(0, table.num_rows, size):
        events += engine.feed_positions(table.slice(start, size))
    return events + engine.finish()


def head_on(
    a: int, b: int, offset_m: float, *, minutes: int = 20, step_s: float = 10.0
) -> list[Fix]:
    """Two vessels at 10 kn on reciprocal courses, 5 nm apart, passing ``offset_m`` abeam
    (their CPA) after about 15 minutes."""
    start_b = moved(*moved(LAT, LON, 0.0, 5 * 1852.0), 90.0, offset_m)
    count = int(minutes * 60 / step_s)
    return track(a, T0, count, step_s, LAT, LON, 10.0, 0.0) + track(
        b, T0, count, step_s, *start_b, 10.0, 180.0
    )


# -- a scripted rule kind: findings exactly as a test writes them ------------------------


class Scripted(Rule):
    """Findings from :attr:`SCRIPT`: tick time -> [(key, value_m, level, started_ms)]."""

    kind: ClassVar[str] = "test_scripted"
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()
    METRICS: ClassVar[tuple[str, ...]] = ("value_m",)
    KEY_WORSE: ClassVar[str] = "lower"
    SCRIPT: ClassVar[dict[int, list[tuple[int, float, int, int | None]]]] = {}

    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        return [
            Finding(
                key=(mmsi,),
                vessels=(mmsi,),
                lat=LAT,
                lon=LON,
                metrics={"value_m": value},
                level=level,
                started_ms=started,
            )
            for mmsi, value, level, started in self.SCRIPT.get(frame.time_ms, [])
        ]


SCRIPTED_BOOK = """\
id: test-scripted
version: 1
title: scripted findings
parties: [jcg, ccg]
effective: 2026-01-01
rules:
  - id: scripted
    kind: test_scripted
    level: 1
    grades:
      - {level: 2, when: {value_m: {below: 500 m}}}
      - {level: 3, when: {value_m: {below: 200 m}}, fleets: any}
"""


@pytest.fixture
def scripted() -> Iterator[type[Scripted]]:
    """The scripted kind, registered for one test (so the docs never see it)."""
    KINDS[Scripted.kind] = Scripted
    Scripted.SCRIPT = {}
    try:
        yield Scripted
    finally:
        del KINDS[Scripted.kind]


def script_run(
    script: Mapping[int, Sequence[tuple[int, float, int, int | None]]],
    ticks: int,
    settings: EngineSettings | None = None,
) -> list[Event]:
    """Drive the scripted kind for ``ticks`` ticks (a heartbeat vessel makes data time run);
    ``script`` is keyed by tick number."""
    Scripted.SCRIPT = {T0 + n * TICK: list(found) for n, found in script.items()}
    book = parse_rulebook(SCRIPTED_BOOK, "scripted.yaml", zone_ids=ZONES.ids, parties=PARTIES)
    engine = Engine(book, ZONES, PARTIES, settings=settings)
    heartbeat = fixes_table(track(OTHER_A, T0, ticks + 1, TICK / 1000, LAT, LON, 0.0, 0.0))
    return engine.feed_positions(heartbeat) + engine.finish()


def tick(n: int) -> int:
    return T0 + n * TICK


def test_open_and_close_with_hysteresis(scripted: type[Scripted]) -> None:
    # Present at ticks 3-10, absent 11-12 (20 s < 30 s hysteresis), present 13-20, then gone.
    present = [*range(3, 11), *range(13, 21)]
    events = script_run({n: [(OTHER_A, 800.0, 0, None)] for n in present}, 40)
    assert [e.status for e in events] == ["open", "closed"]
    opened, closed = events
    assert (
        opened.id == closed.id == event_id(opened.rulebook.sha256, "scripted", (OTHER_A,), tick(3))
    )
    assert (opened.start_ms, opened.end_ms) == (tick(3), None)
    assert (closed.start_ms, closed.end_ms) == (tick(3), tick(20))
    assert (opened.level, closed.level) == (1, 1)


def test_absence_of_exactly_the_hysteresis_closes(scripted: type[Scripted]) -> None:
    # Absent at ticks 6, 7, 8: at tick 8 it has been absent 30 s since tick 5 -> closed, then
    # a new event (new start, new id) at tick 9.
    events = script_run({n: [(OTHER_A, 800.0, 0, None)] for n in (*range(2, 6), 9)}, 20)
    assert [(e.status, e.start_ms, e.end_ms) for e in events] == [
        ("open", tick(2), None),
        ("closed", tick(2), tick(5)),
        ("open", tick(9), None),
        ("closed", tick(9), tick(9)),
    ]
    assert events[0].id != events[2].id


def test_no_flapping_at_the_boundary(scripted: type[Scripted]) -> None:
    # A key that is present every other tick for five minutes is one event.
    events = script_run({n: [(OTHER_A, 900.0, 0, None)] for n in range(0, 31, 2)}, 50)
    assert [e.status for e in events] == ["open", "closed"]
    assert events[1].end_ms == tick(30)


def test_updates_on_level_rise_or_material_change_only(scripted: type[Scripted]) -> None:
    values = [1000, 990, 950, 900, 700, 690, 680, 450, 460, 1000, 300]
    events = script_run({n: [(OTHER_A, v, 0, None)] for n, v in enumerate(values)}, 20)
    statuses = [(e.status, e.level, e.metrics["value_m"]) for e in events]
    assert statuses == [
        ("open", 1, 1000),
        ("update", 1, 700),  # 30 % below the last reported value
        ("update", 2, 450),  # below 500 m: level 2
        ("update", 2, 300),  # a worse value, 33 % below 450
        ("closed", 2, 300),  # the most severe finding, and the level never goes down
    ]


def test_grades_need_their_fleet_condition_and_a_finding_level_wins(
    scripted: type[Scripted],
) -> None:
    script = {
        n: [(OTHER_A, 100.0, 0, None), (CCG, 100.0, 0, None), (JCG, 900.0, 4, None)]
        for n in range(3)
    }
    events = script_run(script, 10)
    closed = {e.vessels[0]: e.level for e in events if e.status == "closed"}
    # 100 m: level 2 for anyone (no fleet condition), level 3 only for a fleet vessel;
    # a finding that sets its own level (4) keeps it.
    assert closed == {OTHER_A: 2, CCG: 3, JCG: 4}


def test_started_ms_sets_the_start_and_the_id(scripted: type[Scripted]) -> None:
    events = script_run({n: [(OTHER_A, 800.0, 0, tick(1) - 5 * MIN)] for n in (1, 2)}, 10)
    assert events[0].start_ms == tick(1) - 5 * MIN
    assert events[0].id == event_id(
        events[0].rulebook.sha256, "scripted", (OTHER_A,), tick(1) - 5 * MIN
    )


def test_events_still_open_at_the_end_stay_open(scripted: type[Scripted]) -> None:
    events = script_run({n: [(OTHER_A, 800.0, 0, None)] for n in range(5, 11)}, 10)
    assert [e.status for e in events] == ["open"]
    [final] = final_events(events)
    assert final.status == "open" and final.end_ms is None


def test_settings_change_the_hysteresis(scripted: type[Scripted]) -> None:
    script = {n: [(OTHER_A, 800.0, 0, None)] for n in (*range(2, 6), 9)}
    settings = EngineSettings.from_settings(Settings({"detect.hysteresis_s": 60.0}))
    events = script_run(script, 20, settings)
    assert [e.status for e in events] == ["open", "closed"]
    assert events[1].end_ms == tick(9)


# -- close_quarters on hand-built tracks -------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "offset_m", "level"),
    [
        (OTHER_A, OTHER_B, 300.0, 1),  # close, but no party's vessel: advisory
        (CCG, OTHER_B, 600.0, 2),  # a ccg vessel, CPA between 0.2 and 0.5 nm
        (OTHER_A, JCG, 300.0, 3),  # a jcg vessel, CPA below 0.2 nm
        (CCG, JCG, 300.0, 3),
    ],
)
def test_close_quarters_is_graded_by_fleet(a: int, b: int, offset_m: float, level: int) -> None:
    events = run(cq_engine(), fixes_table(head_on(a, b, offset_m)))
    final = final_events(events)
    assert len(final) == 1
    [event] = final
    assert event.status == "closed" and event.level == level
    assert event.vessels == tuple(sorted((a, b)))
    assert event.metrics["cpa_m"] == pytest.approx(offset_m, abs=15.0)
    assert (event.end_ms or 0) - event.start_ms > 10 * MIN  # opened about 12 min ahead


@pytest.mark.parametrize(("silent_until_s", "spans"), [(500, 1), (520, 2)])
def test_close_quarters_hysteresis_on_a_reporting_gap(silent_until_s: int, spans: int) -> None:
    # Two vessels side by side 300 m apart on the same course and speed: close all along.
    # OTHER_B falls silent from 300 s; close_quarters uses fixes up to 3 min old, so from
    # the tick at 480 s the pair is absent until OTHER_B reports again. Silent until 500 s:
    # absent at 480 and 490 (20 s < 30 s hysteresis), one event. Until 520 s: absent at
    # 480-510, closed at 510 with end 470, and a new event from 520.
    a = track(OTHER_A, T0, 120, 10.0, LAT, LON, 10.0, 0.0)
    b = [
        fix
        for fix in track(OTHER_B, T0, 120, 10.0, *moved(LAT, LON, 90.0, 300.0), 10.0, 0.0)
        if not T0 + 300_000 <= fix.ts_ms < T0 + silent_until_s * 1000
    ]
    final = final_events(run(cq_engine(), fixes_table(a + b)))
    assert len(final) == spans
    if spans == 2:
        first, second = sorted(final, key=lambda e: e.start_ms)
        assert (first.status, first.end_ms) == ("closed", T0 + 470_000)
        assert second.start_ms == T0 + 520_000 and second.id != first.id


def test_no_event_when_passing_wide() -> None:
    assert run(cq_engine(), fixes_table(head_on(CCG, JCG, 1200.0))) == []


def test_same_input_same_events_and_ids() -> None:
    table = fixes_table(head_on(CCG, OTHER_B, 300.0) + head_on(OTHER_A, JCG, 600.0))
    first = [e.as_json() for e in run(cq_engine(), table)]
    second = [e.as_json() for e in run(cq_engine(), table)]
    assert first and first == second


@pytest.mark.parametrize("pieces", [3, 40, 1000])
def test_batch_equals_live(pieces: int) -> None:
    table = fixes_table(head_on(CCG, OTHER_B, 300.0) + head_on(OTHER_A, JCG, 600.0))
    whole = [e.as_json() for e in run(cq_engine(), table)]
    split = [e.as_json() for e in run(cq_engine(), table, pieces)]
    assert split == whole


def _late_stream(table: pa.Table, mmsi: int, from_ms: int, until_ms: int) -> pa.Table:
    """The rows in stream order with ``mmsi``'s fixes in [from_ms, until_ms) held back
    and delivered after everything up to ``until_ms``."""
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    who = table.column("mmsi").to_numpy()
    held = (who == mmsi) & (ts >= from_ms) & (ts < until_ms)
    before = ~held & (ts < until_ms)
    after = ~held & (ts >= until_ms)
    order = np.concatenate([np.flatnonzero(before), np.flatnonzero(held), np.flatnonzero(after)])
    return table.take(order)


def _settled(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Final states without retracted events and without reasons (what survives)."""
    result = []
    for event in final_events(events):
        if event.status == "retracted":
            continue
        record = event.as_json()
        record.pop("reason", None)
        result.append(record)
    return sorted(result, key=lambda r: r["id"])


def test_late_data_is_applied_and_revises_events() -> None:
    # The jcg vessel's fixes from minute 5 to 9 arrive 4 minutes late: without them it is
    # dead-reckoned at most 3 min (close_quarters' max_age), so the live picture loses it.
    table = fixes_table(head_on(OTHER_A, JCG, 300.0, minutes=25))
    in_order = run(cq_engine(), table)
    engine = cq_engine()
    late = run(engine, _late_stream(table, JCG, T0 + 5 * MIN, T0 + 9 * MIN), pieces=150)
    assert engine.stats.late > 0 and engine.stats.replays > 0 and engine.stats.too_late == 0
    assert _settled(late) == _settled(in_order)
    assert any(e.reason and "late position" in e.reason for e in late)


def test_late_data_retracts_what_did_not_happen() -> None:
    # The ccg vessel heads for the other one, then at 100 s turns away; the fixes after the
    # turn arrive minutes late, so the live picture dead-reckons the old course into a
    # close-quarters situation that never happened.
    before_turn = track(CCG, T0, 10, 10.0, LAT, LON, 10.0, 0.0)
    lat, lon = before_turn[-1].lat, before_turn[-1].lon
    after_turn = track(CCG, T0 + 100_000, 80, 10.0, *moved(lat, lon, 90.0, 30.0), 10.0, 90.0)
    other_start = moved(LAT, LON, 0.0, 5.2 * 1852.0)
    other = track(JCG, T0, 80, 10.0, *other_start, 10.0, 180.0)
    table = fixes_table(before_turn + after_turn + other)
    assert run(cq_engine(), table) == []  # with every fix in order, nothing happens
    stream = _late_stream(table, CCG, T0 + 100_000, T0 + 6 * MIN)
    events = run(cq_engine(), stream, pieces=len(before_turn) + 80)
    statuses = [e.status for e in events]
    assert statuses[0] == "open" and statuses[-1] == "retracted", statuses
    retracted = events[-1]
    assert retracted.id == events[0].id
    assert retracted.reason is not None and "retracted: " in retracted.reason
    assert str(CCG) in retracted.reason
    assert _settled(events) == []


def test_positions_older_than_the_watermark_are_counted_and_ignored() -> None:
    table = fixes_table(head_on(OTHER_A, JCG, 300.0, minutes=25))
    engine = cq_engine(EngineSettings(watermark_ms=2 * MIN))
    run(engine, _late_stream(table, JCG, T0 + 5 * MIN, T0 + 12 * MIN), pieces=100)
    # When the held fixes (5:00 to 11:50) arrive, data time stands at 11:50 (OTHER_A's last
    # fix) and the last tick run is 11:40: those before 9:50 are more than 2 minutes late
    # (ignored), 9:50 to 11:40 are replayed, 11:50 is simply on time.
    assert (engine.stats.too_late, engine.stats.late) == (29, 12)


def test_lateness_does_not_depend_on_batching() -> None:
    table = fixes_table(head_on(OTHER_A, JCG, 300.0, minutes=25))
    stream = _late_stream(table, JCG, T0 + 5 * MIN, T0 + 9 * MIN)
    one, many = cq_engine(), cq_engine()
    one_events = run(one, stream)
    many_events = run(many, stream, pieces=97)
    assert (one.stats.late, one.stats.too_late) == (many.stats.late, many.stats.too_late)
    assert _settled(one_events) == _settled(many_events)


def test_data_quality_keeps_spoofed_fixes_out() -> None:
    book = CQ_BOOK + ("  - id: dq\n    kind: data_quality\n    level: 1\n")
    # Two vessels far apart; one fix of OTHER_B (reporting every minute) teleports next to
    # OTHER_A (a broken report), and stays its latest fix for 50 s.
    a = track(OTHER_A, T0, 60, 10.0, LAT, LON, 10.0, 0.0)
    b = track(OTHER_B, T0, 10, 60.0, LAT + 0.5, LON, 10.0, 180.0)
    spoof = Fix(OTHER_B, T0 + 185_000, a[19].lat, a[19].lon + 0.002, 10.0, 270.0)
    events = run(cq_engine(book=book), fixes_table([*a, *b, spoof]))
    kinds = {e.kind for e in events}
    assert "close_quarters" not in kinds
    assert "data_quality" in kinds
    without_dq = run(cq_engine(), fixes_table([*a, *b, spoof]))
    assert {e.kind for e in without_dq} == {"close_quarters"}  # what the check prevents
