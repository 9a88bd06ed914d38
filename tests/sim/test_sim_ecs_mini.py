"""The built-in ecs-mini scenario, checked on what it emits: every sentence decodes to its
values, ingest rejects nothing, reports follow the ITU-R M.1371 table, and each ground-truth
situation is geometrically true in the decoded data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pyais.constants import TurnRate
from sim_fixtures import POSITION_TYPES, MiniRun, row_ms, run_ecs_mini

from seabridge.ais.ingest import ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.geo import distance_m
from seabridge.packs import load_parties
from seabridge.sim import load_scenario, reporting_interval_s, truth_line
from seabridge.tracks import TrackStore
from seabridge.units import M_PER_NM

SCRIPTED_APPROACH_CPA_M = 0.1 * M_PER_NM
AIS_RESOLUTION_M = 0.2  # 1/10000 minute of latitude
JITTER_M = 10.0  # ecs-mini's 2 m position noise, five sigma
TICK_S = 1.0


@pytest.fixture(scope="module")
def mini_run() -> MiniRun:
    """ecs-mini, simulated once for this module (about ten seconds)."""
    return run_ecs_mini()


def _expected_turn(rot: float) -> float:
    raw = round(4.733 * abs(rot) ** 0.5)
    return float(np.copysign(round((raw / 4.733) ** 2), rot)) if raw else 0.0


def test_every_sentence_decodes_to_the_simulated_values(mini_run: MiniRun) -> None:
    checked = 0
    for tx, msg in zip(mini_run.transmissions, mini_run.decoded, strict=True):
        fields = tx.fields
        assert (
            (msg.msg_type, msg.mmsi) == (tx.msg_type, tx.mmsi) == (fields["type"], fields["mmsi"])
        )
        if tx.msg_type in POSITION_TYPES:
            assert abs(msg.lat - fields["lat"]) <= 1e-6 and abs(msg.lon - fields["lon"]) <= 1e-6
            assert (msg.speed, msg.course, msg.heading) == (
                fields["speed"], fields["course"], fields["heading"],
            )  # fmt: skip
            assert (msg.second, msg.radio, msg.accuracy) == (
                fields["second"], fields["radio"], bool(fields["accuracy"]),
            )  # fmt: skip
            assert msg.second == (tx.ts_ms // 1000) % 60
            if tx.msg_type != 18:
                assert int(msg.status) == fields["status"]
                if fields["turn"] == -128:
                    assert msg.turn == TurnRate.NO_TI_DEFAULT
                else:
                    assert msg.turn == _expected_turn(fields["turn"])
        elif tx.msg_type == 5:
            for key in ("shipname", "callsign", "ship_type", "to_bow", "to_stern", "imo"):
                assert getattr(msg, key) == fields[key], key
            assert (msg.hour, msg.minute, msg.draught) == (24, 60, fields["draught"])
        else:
            assert msg.msg_type == 24 and msg.partno == fields["partno"]
            key = "shipname" if msg.partno == 0 else "callsign"
            assert getattr(msg, key) == fields[key]
        checked += 1
    assert checked == len(mini_run.transmissions) > 100_000


def test_lines_are_tagged_aivdm(mini_run: MiniRun) -> None:
    stations = {"jcg-ishigaki", "jcg-naha", "ccg-wenzhou", "ccg-shanghai"}
    for line in mini_run.lines[:5000]:
        tag, sentence = line[1:].split("\\", 1)
        assert tag.startswith("s:") and tag.split(",")[0][2:] in stations
        assert sentence.startswith("!AIVDM,")


def test_ingest_rejects_nothing(mini_run: MiniRun, tmp_path: Path) -> None:
    nmea = tmp_path / "ecs-mini.nmea"
    nmea.write_text("\n".join(mini_run.lines) + "\n", encoding="ascii")
    with (
        Quarantine(tmp_path / "quarantine.jsonl") as quarantine,
        TrackStore.open(tmp_path / "t.duckdb") as store,
    ):
        summary = ingest([str(nmea)], store, quarantine)
    assert summary.rejected == {}
    assert summary.lines == len(mini_run.lines)
    assert summary.messages == len(mini_run.transmissions)
    assert summary.duplicates == sum(tx.duplicate for tx in mini_run.transmissions)


F64 = NDArray[np.float64]


def _table_s(class_b: NDArray[np.bool_], sog: F64, rot: F64, status: NDArray[np.int64]) -> F64:
    return reporting_interval_s(class_b, sog, rot, status.astype(np.int8))


def test_reporting_intervals_follow_the_table(mini_run: MiniRun) -> None:
    """Each gap between a vessel's reports is the table's interval for its state at one end
    or the other (the state may change in between), to the one-second tick; SOG is taken
    at both ends of its 0.1 kn quantum, so band edges (2, 3, 14, 23 kn) do not flicker."""
    rows = [
        (tx.mmsi, tx.ts_ms, tx.msg_type == 18, tx.fields)
        for tx in mini_run.transmissions
        if not tx.duplicate and tx.msg_type in POSITION_TYPES
    ]
    rows.sort(key=lambda row: (row[0], row[1]))
    mmsi = np.asarray([row[0] for row in rows])
    ts_s = np.asarray([row[1] for row in rows]) / 1000.0
    class_b = np.asarray([row[2] for row in rows])
    sog = np.asarray([row[3]["speed"] for row in rows])
    rot = np.asarray([0.0 if row[3].get("turn", -128) == -128 else row[3]["turn"] for row in rows])
    status = np.asarray([row[3].get("status", 0) for row in rows])
    slow = _table_s(class_b, np.maximum(sog - 0.05, 0.0), rot, status)
    fast = _table_s(class_b, sog + 0.05, rot, status)
    same = mmsi[1:] == mmsi[:-1]
    gap = np.diff(ts_s)[same]
    low = np.minimum.reduce([slow[:-1], fast[:-1], slow[1:], fast[1:]])[same] - TICK_S
    high = np.maximum.reduce([slow[:-1], fast[:-1], slow[1:], fast[1:]])[same] + TICK_S
    assert not (gap < low).any()  # never faster than the table allows
    within = (gap >= low) & (gap <= high)
    # Dropped messages (0.5 %) and the dark period stretch a few gaps; nothing else may.
    assert within.mean() >= 0.99, within.mean()
    seen = set(np.round(slow[:-1][same][within], 3).tolist())
    assert {2.0, 3.333, 6.0, 10.0, 30.0, 180.0} <= seen


def test_static_data_every_six_minutes(mini_run: MiniRun) -> None:
    times: dict[int, list[int]] = {}
    for tx, msg in zip(mini_run.transmissions, mini_run.decoded, strict=True):
        if not tx.duplicate and (tx.msg_type == 5 or (tx.msg_type == 24 and msg.partno == 0)):
            times.setdefault(tx.mmsi, []).append(tx.ts_ms)
    gaps = np.concatenate([np.diff(series) / 1000 for series in times.values()])
    assert len(times) == 275
    assert np.mean(np.abs(gaps - 360) <= TICK_S) >= 0.98


def test_the_approach_reaches_its_cpa_in_the_emitted_data(mini_run: MiniRun) -> None:
    (row,) = mini_run.rows_of("close_quarters")
    own, target = (mini_run.track(mmsi) for mmsi in row["vessels"])
    at_ms = row_ms({"t": row["expect"]["cpa_at"]}, "t")
    grid = np.arange(at_ms - 300_000, at_ms + 300_000, 1000.0)
    lat1, lon1 = own.at(grid)
    lat2, lon2 = target.at(grid)
    ranges = distance_m(lat1, lon1, lat2, lon2)
    closest = int(np.argmin(ranges))
    tolerance_m = AIS_RESOLUTION_M + JITTER_M
    assert abs(ranges[closest] - row["expect"]["cpa_m"]) <= tolerance_m
    assert abs(ranges[closest] - SCRIPTED_APPROACH_CPA_M) <= tolerance_m + 25.0
    assert ranges[closest] < 0.2 * M_PER_NM  # the issue: ending below 0.2 nm
    assert abs(grid[closest] - at_ms) <= 15_000
    assert row_ms(row, "start") < at_ms < row_ms(row, "end")


def test_the_dark_period_has_no_reports(mini_run: MiniRun) -> None:
    (row,) = mini_run.rows_of("ais_gap")
    (mmsi,) = row["vessels"]
    start, end = row_ms(row, "start"), row_ms(row, "end")
    heard = [tx.ts_ms for tx in mini_run.transmissions if tx.mmsi == mmsi]
    assert not [ts for ts in heard if start < ts < end]
    assert start in heard and end in heard
    assert end - start >= 20 * 60_000 and row["expect"]["gap_s"] == (end - start) / 1000


def test_zone_entries_happen_inside_the_zone_at_the_stated_times(mini_run: MiniRun) -> None:
    rows = mini_run.rows_of("zone_entry")
    assert len(rows) >= 10
    for row in rows:
        track = mini_run.track(row["vessels"][0])
        start, end = row_ms(row, "start"), row_ms(row, "end")
        during = (track.ts_ms >= start + 5000) & (track.ts_ms <= end - 5000)
        inside = mini_run.zones.contains(row["zone"], track.lat[during], track.lon[during])
        assert during.any() and inside.all(), row
        if start > mini_run.simulation.plan.start_ms:
            before = (track.ts_ms >= start - 60_000) & (track.ts_ms <= start - 5000)
            assert not mini_run.zones.contains(
                row["zone"], track.lat[before], track.lon[before]
            ).any()


def test_ccg_vessels_enter_the_24_then_the_12_nm_belt(mini_run: MiniRun) -> None:
    start_ms = mini_run.simulation.plan.start_ms
    entries: dict[tuple[str, int], float] = {}
    for row in mini_run.rows_of("zone_entry"):  # sorted by start: keep each first entry
        if row_ms(row, "start") > start_ms:
            key = (row["zone"], row["vessels"][0])
            entries.setdefault(key, (row_ms(row, "start") - start_ms) / 60_000)
    ring, belt = "senkaku-diaoyu-12-24nm", "senkaku-diaoyu-12nm"
    assert entries[(ring, 413999101)] < entries[(belt, 413999101)]
    assert abs(entries[(belt, 413999101)] - 45) <= 3  # scripted enter_at 45m
    assert abs(entries[(belt, 413999102)] - 15) <= 3  # scripted enter_at 15m


def _ranges(mini_run: MiniRun, row: dict[str, Any], step_ms: int = 10_000) -> F64:
    first, second = (mini_run.track(int(m)) for m in row["vessels"])
    grid = np.arange(row_ms(row, "start") + 30_000, row_ms(row, "end") - 30_000, step_ms)
    lat1, lon1 = first.at(grid.astype(float))
    lat2, lon2 = second.at(grid.astype(float))
    return distance_m(lat1, lon1, lat2, lon2)


def test_the_rendezvous_stays_together(mini_run: MiniRun) -> None:
    (row,) = mini_run.rows_of("encounter")
    ranges = _ranges(mini_run, row)
    assert ranges.max() <= 500.0 and abs(np.median(ranges) - 60.0) <= 25.0
    assert row["expect"]["duration_s"] >= 25 * 60 and row["expect"]["sog_kn"] < 2.0


def test_shadowing_vessels_hold_their_station(mini_run: MiniRun) -> None:
    rows = mini_run.rows_of("shadowing")
    assert [row["vessels"] for row in rows] == [[431999101, 413999101], [431999102, 413999102]]
    for row, scripted_nm in zip(rows, (1.0, 0.8), strict=True):
        ranges = _ranges(mini_run, row)
        assert abs(np.median(ranges) / (scripted_nm * M_PER_NM) - 1) <= 0.25


def test_the_speed_run_crosses_the_safety_zone_at_speed(mini_run: MiniRun) -> None:
    (row,) = mini_run.rows_of("speed_in_zone")
    assert row["zone"] == "chunxiao-safety-zone"
    track = mini_run.track(row["vessels"][0])
    inside = mini_run.zones.contains(row["zone"], track.lat, track.lon)
    assert inside.sum() >= 10 and track.sog_kn[inside].min() >= 25.0


def test_government_vessels_use_their_party_fleets() -> None:
    for name in ("ecs-mini", "ecs-demo"):
        scenario = load_scenario(name)
        assert scenario.pack is not None
        parties = {party.id: party for party in load_parties(scenario.pack)}
        government = [v for v in scenario.spec.vessels if v.ship_type == 55 or v.party]
        assert {v.party for v in government} == {"jcg", "ccg"}, name
        for vessel in government:
            assert vessel.party is not None and vessel.mmsi in parties[vessel.party].fleet
        generated = {fleet.id for fleet in scenario.spec.fleets if fleet.ship_type == 55}
        assert not generated, name


def test_ordinary_traffic_raises_no_alarm(mini_run: MiniRun) -> None:
    scripted = {vessel.mmsi for vessel in mini_run.simulation.scenario.spec.vessels}
    assert mini_run.simulation.result.incidental == []
    assert {row["vessels"][0] for row in mini_run.rows_of("zone_entry")} <= scripted
    assert {m for row in mini_run.rows for m in row["vessels"]} <= scripted


def test_truth_rows_are_the_documented_json(mini_run: MiniRun) -> None:
    kinds = {row["kind"] for row in mini_run.rows}
    assert kinds == {
        "close_quarters", "zone_entry", "ais_gap", "encounter", "shadowing", "speed_in_zone",
    }  # fmt: skip
    for row in mini_run.rows:
        parsed = json.loads(truth_line(row))
        assert list(parsed)[:6] == ["kind", "vessels", "start", "end", "lat", "lon"]
        assert list(parsed)[-1] == "expect" and isinstance(parsed["expect"], dict)
        assert all(isinstance(m, int) for m in parsed["vessels"])
        assert parsed["start"].endswith("Z") and parsed["start"] <= parsed["end"]
        assert ("zone" in parsed) == (parsed["kind"] in ("zone_entry", "speed_in_zone"))
    assert [row["start"] for row in mini_run.rows] == sorted(row["start"] for row in mini_run.rows)


def test_the_summary_counts_what_was_emitted(mini_run: MiniRun) -> None:
    summary = mini_run.simulation.result.summary()
    assert summary == {
        "vessels": len({tx.mmsi for tx in mini_run.transmissions}),
        "sentences": len(mini_run.lines),
        "messages": sum(not tx.duplicate for tx in mini_run.transmissions),
        "situations": len(mini_run.rows),
    }
    assert summary["vessels"] == 275


@pytest.mark.parametrize("kind", ["close_quarters", "ais_gap", "encounter", "speed_in_zone"])
def test_each_scripted_situation_appears_once(mini_run: MiniRun, kind: str) -> None:
    assert len(mini_run.rows_of(kind)) == 1
