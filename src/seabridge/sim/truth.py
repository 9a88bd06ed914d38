"""Ground truth: what really happened in the run, measured on the simulated tracks.

One row per situation, with the detection engine's rule kinds (``docs/simulator.md``):

============== ================ ===============================================================
kind           from             start, end and expect
============== ================ ===============================================================
close_quarters approach         range below ``truth.close_quarters_range_nm`` around the CPA;
                                ``cpa_m``, ``cpa_at``
shadowing      shadow           from the moment the station is held (range within 25 %) to the
                                end; ``range_m`` (median), ``duration_s``
encounter      rendezvous       distance within ``within_m``; ``duration_s``, ``distance_m``
                                (median), ``sog_kn`` (median of the lead)
ais_gap        go_dark          last message before to first message after; ``gap_s``
zone_entry     watched zones    every stay of every vessel in a watched zone (the zones of
                                zone_entry and speed_run behaviours and ``truth.zones``);
                                ``duration_s``
speed_in_zone  speed_run        the stay in the run's ``zone``; ``sog_kn`` (max inside)
============== ================ ===============================================================

Times are measured at the one-second ticks; positions are the true ones (before receiver
jitter). Each scripted situation is also checked against its script: an approach whose CPA
misses the scripted distance by more than :data:`CPA_TOLERANCE_M` (or its time by more than
:data:`CPA_TIME_TOLERANCE_S`), a zone never entered near the scripted time, a station never
reached, a meeting that did not happen, is a :class:`ScenarioError` naming the behaviour:
the scenario asks for something its vessels cannot do. Situations that end after the run
are left out.

The check :func:`incidental_encounters` finds the pairs of vessels *not* linked by a
situation that came closer than ``truth.min_separation_nm`` (snapshots every minute):
ordinary traffic that would raise alarms nobody scripted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from seabridge.geo import distance_m
from seabridge.sim.engine import Recorder
from seabridge.sim.plan import Plan
from seabridge.sim.scenario import ScenarioError
from seabridge.sim.shapes import m_per_deg
from seabridge.sim.situations import Approach, RendezvousLead, Shadow, SpeedRun, ZoneEntry
from seabridge.units import ms_to_iso

__all__ = [
    "CPA_TIME_TOLERANCE_S",
    "CPA_TOLERANCE_M",
    "Incidental",
    "incidental_encounters",
    "truth_rows",
]

F64 = NDArray[np.float64]
CPA_TOLERANCE_M = 25.0
CPA_TIME_TOLERANCE_S = 30.0
ENTRY_TOLERANCE_S = 180.0
_STATION_SHARE = 0.25
_PREFILTER_MARGIN_M = 1000.0


@dataclass(frozen=True, slots=True)
class Incidental:
    """Two vessels with no scripted link that came closer than the minimum separation."""

    mmsis: tuple[int, int]
    distance_m: float
    ts_ms: int


class _Tracks:
    def __init__(self, plan: Plan, recorder: Recorder) -> None:
        self.plan = plan
        self.column = {int(v): n for n, v in enumerate(recorder.tracked.tolist())}
        empty = np.empty((0, len(self.column)))
        self.lat = np.vstack(recorder.track_lat) if recorder.track_lat else empty
        self.lon = np.vstack(recorder.track_lon) if recorder.track_lon else empty
        self.sog = np.vstack(recorder.track_sog) if recorder.track_sog else empty
        self.ticks = recorder.ticks

    def range_m(self, first: int, second: int) -> F64:
        a, b = self.column[first], self.column[second]
        return distance_m(self.lat[:, a], self.lon[:, a], self.lat[:, b], self.lon[:, b])

    def at(self, vessel: int, tick: int) -> tuple[float, float]:
        column = self.column[vessel]
        tick = min(max(tick, 0), self.ticks - 1)
        return float(self.lat[tick, column]), float(self.lon[tick, column])

    def mid(self, first: int, second: int, tick: int) -> tuple[float, float]:
        lat1, lon1 = self.at(first, tick)
        lat2, lon2 = self.at(second, tick)
        return (lat1 + lat2) / 2.0, (lon1 + lon2) / 2.0


def _row(
    plan: Plan,
    kind: str,
    vessels: list[int],
    start_s: float,
    end_s: float,
    position: tuple[float, float],
    expect: dict[str, Any],
    zone: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "kind": kind,
        "vessels": [plan.vessels[v].identity.mmsi for v in vessels],
        "start": ms_to_iso(plan.start_ms + round(start_s * 1000)),
        "end": ms_to_iso(plan.start_ms + round(end_s * 1000)),
        "lat": round(position[0], 6),
        "lon": round(position[1], 6),
    }
    if zone is not None:
        row["zone"] = zone
    row["expect"] = expect
    return row


def _run_around(mask: NDArray[np.bool_], tick: int) -> tuple[int, int]:
    """The first and one-past-last tick of the run of True values containing ``tick``."""
    start = tick
    while start > 0 and mask[start - 1]:
        start -= 1
    end = tick
    while end < mask.size and mask[end]:
        end += 1
    return start, end


def _fail(situation: Any, plan: Plan, message: str) -> ScenarioError:
    return plan.scenario.error(situation.where, f"not realized: {message}")


def _approach(tracks: _Tracks, plan: Plan, item: Approach) -> dict[str, Any] | None:
    end_s = item.end_s if item.end_s is not None else item.cpa_s + 600.0
    if item.cpa_s + CPA_TIME_TOLERANCE_S >= tracks.ticks:
        return None
    ranges = tracks.range_m(item.vessel, item.target)
    first, last = int(item.start_s), min(int(end_s), tracks.ticks)
    tick = first + int(np.argmin(ranges[first:last]))
    cpa_m = float(ranges[tick])
    if abs(cpa_m - item.cpa_m) > CPA_TOLERANCE_M or abs(tick - item.cpa_s) > CPA_TIME_TOLERANCE_S:
        raise _fail(
            item,
            plan,
            f"closest approach {cpa_m:.0f} m at +{tick} s, scripted {item.cpa_m:.0f} m at "
            f"+{item.cpa_s:.0f} s; start the approach earlier, nearer, or allow more speed",
        )
    close = ranges < max(plan.close_quarters_range_m, cpa_m + 1.0)
    start, end = _run_around(close, tick)
    expect = {"cpa_m": round(cpa_m, 1), "cpa_at": ms_to_iso(plan.start_ms + tick * 1000)}
    return _row(
        plan,
        "close_quarters",
        [item.vessel, item.target],
        start,
        end,
        tracks.mid(item.vessel, item.target, tick),
        expect,
    )


def _shadow(tracks: _Tracks, plan: Plan, item: Shadow) -> dict[str, Any] | None:
    assert item.end_s is not None
    if item.end_s > tracks.ticks:
        return None
    ranges = tracks.range_m(item.vessel, item.target)
    first, last = int(item.start_s), int(item.end_s)
    held = np.abs(ranges[first:last] - item.range_m) <= max(_STATION_SHARE * item.range_m, 185.0)
    if not held.any() or int(np.argmax(held)) > (last - first) / 2:
        raise _fail(item, plan, "the shadowing vessel never held its station in the first half")
    start = first + int(np.argmax(held))
    expect = {
        "range_m": round(float(np.median(ranges[start:last])), 1),
        "duration_s": float(last - start),
    }
    return _row(
        plan,
        "shadowing",
        [item.vessel, item.target],
        start,
        last,
        tracks.mid(item.vessel, item.target, start),
        expect,
    )


def _rendezvous(tracks: _Tracks, plan: Plan, item: RendezvousLead) -> dict[str, Any] | None:
    assert item.end_s is not None
    if item.end_s > tracks.ticks:
        return None
    ranges = tracks.range_m(item.vessel, item.partner)
    first, last = int(item.start_s), int(item.end_s)
    near = ranges <= item.within_m
    inside = np.flatnonzero(near[first:last])
    if inside.size == 0 or first + inside[0] > item.meet_s + ENTRY_TOLERANCE_S:
        raise _fail(
            item, plan, f"the vessels were not within {item.within_m:.0f} m by the meeting time"
        )
    start, end = _run_around(near, first + int(inside[0]))
    scripted = item.end_s - item.meet_s
    if end - start < 0.9 * scripted:
        raise _fail(item, plan, f"together {end - start} s, scripted {scripted:.0f} s")
    column = tracks.column[item.vessel]
    expect = {
        "duration_s": float(end - start),
        "distance_m": round(float(np.median(ranges[start:end])), 1),
        "sog_kn": round(float(np.median(tracks.sog[start:end, column])), 2),
    }
    return _row(
        plan,
        "encounter",
        [item.vessel, item.partner],
        start,
        end,
        tracks.mid(item.vessel, item.partner, start),
        expect,
    )


def _gap(
    tracks: _Tracks, plan: Plan, recorder: Recorder, vessel: int, dark: tuple[float, float]
) -> dict[str, Any] | None:
    start_s, end_s = dark
    times = np.asarray(recorder.emissions.get(vessel, []), dtype=np.int64)
    before = times[times < start_s * 1000]
    after = times[times >= end_s * 1000]
    if before.size == 0 or after.size == 0:
        return None
    last, first = int(before[-1]), int(after[0])
    expect = {"gap_s": (first - last) / 1000.0}
    return _row(
        plan,
        "ais_gap",
        [vessel],
        last / 1000.0,
        first / 1000.0,
        tracks.at(vessel, last // 1000),
        expect,
    )


def truth_rows(plan: Plan, recorder: Recorder) -> list[dict[str, Any]]:
    """Every situation row of a finished run, sorted by start, kind and vessels.

    Raises:
        ScenarioError: a scripted situation did not come true (see the module doc).
    """
    tracks = _Tracks(plan, recorder)
    rows: list[dict[str, Any]] = []
    stays: dict[tuple[int, str], list[tuple[int, int | None, float, float]]] = {}
    for vessel, zone_id, start, end, lat, lon in recorder.zone_intervals:
        stays.setdefault((vessel, zone_id), []).append((start, end, lat, lon))
        stop = end if end is not None else tracks.ticks
        rows.append(
            _row(
                plan,
                "zone_entry",
                [vessel],
                start,
                stop,
                (lat, lon),
                {"duration_s": float(stop - start)},
                zone=zone_id,
            )
        )
    for number, vessel_plan in enumerate(plan.vessels):
        for situation in vessel_plan.situations:
            row: dict[str, Any] | None = None
            if isinstance(situation, Approach):
                row = _approach(tracks, plan, situation)
            elif isinstance(situation, Shadow):
                row = _shadow(tracks, plan, situation)
            elif isinstance(situation, RendezvousLead):
                row = _rendezvous(tracks, plan, situation)
            elif isinstance(situation, ZoneEntry):
                _check_entry(plan, tracks, situation, stays)
            elif isinstance(situation, SpeedRun) and situation.zone_id is not None:
                row = _speed_in_zone(plan, tracks, situation, stays)
            if row is not None:
                rows.append(row)
        for dark in vessel_plan.darks:
            gap = _gap(tracks, plan, recorder, number, dark)
            if gap is not None:
                rows.append(gap)
    rows.sort(key=lambda r: (r["start"], r["kind"], r["vessels"], r.get("zone", "")))
    return rows


def _check_entry(
    plan: Plan,
    tracks: _Tracks,
    item: ZoneEntry,
    stays: dict[tuple[int, str], list[tuple[int, int | None, float, float]]],
) -> None:
    assert item.zone is not None
    if item.enter_s + ENTRY_TOLERANCE_S >= tracks.ticks:
        return
    entries = [start for start, *_ in stays.get((item.vessel, item.zone.id), [])]
    if not any(abs(start - item.enter_s) <= ENTRY_TOLERANCE_S for start in entries):
        seen = ", ".join(f"+{s} s" for s in entries) or "never"
        raise _fail(item, plan, f"entered {item.zone.id} {seen}, scripted +{item.enter_s:.0f} s")


def _speed_in_zone(
    plan: Plan,
    tracks: _Tracks,
    item: SpeedRun,
    stays: dict[tuple[int, str], list[tuple[int, int | None, float, float]]],
) -> dict[str, Any] | None:
    assert item.zone_id is not None
    end_s = item.end_s if item.end_s is not None else tracks.ticks
    for start, end, lat, lon in stays.get((item.vessel, item.zone_id), []):
        if start >= item.start_s and start <= end_s:
            stop = end if end is not None else tracks.ticks
            column = tracks.column[item.vessel]
            speed = float(np.max(tracks.sog[start:stop, column])) if stop > start else 0.0
            return _row(
                plan,
                "speed_in_zone",
                [item.vessel],
                start,
                stop,
                (lat, lon),
                {"sog_kn": round(speed, 1)},
                zone=item.zone_id,
            )
    if item.start_s + 3600.0 < tracks.ticks:
        raise _fail(item, plan, f"the run never entered zone {item.zone_id}")
    return None


def incidental_encounters(plan: Plan, recorder: Recorder) -> list[Incidental]:
    """Pairs not linked by a situation that came within ``truth.min_separation_nm`` (checked
    every minute), each with its smallest distance; sorted by MMSIs."""
    limit = plan.min_separation_m
    if limit <= 0 or not recorder.snapshot_lat:
        return []
    closest: dict[tuple[int, int], tuple[float, int]] = {}
    snapshots = zip(recorder.snapshot_s, recorder.snapshot_lat, recorder.snapshot_lon, strict=True)
    for when, lat, lon in snapshots:
        # A rough plane for the prefilter (a few hundred metres off at the edges of a sea),
        # hence the margin; the geodesic distance decides.
        per_lat, per_lon = m_per_deg(lat)
        lon0 = float(np.mean(lon))
        points = np.asarray(shapely.points((lon - lon0) * per_lon, lat * per_lat))
        tree = shapely.STRtree(points)
        left, right = tree.query(points, predicate="dwithin", distance=limit + _PREFILTER_MARGIN_M)
        keep = left < right
        for a, b in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
            if (a, b) in plan.linked:
                continue
            gap = float(distance_m(lat[a], lon[a], lat[b], lon[b]))
            if gap < limit and ((a, b) not in closest or gap < closest[(a, b)][0]):
                closest[(a, b)] = (gap, when)
    mmsi = plan.mmsis
    found = [
        Incidental((int(mmsi[a]), int(mmsi[b])), round(gap, 1), plan.start_ms + when * 1000)
        for (a, b), (gap, when) in closest.items()
    ]
    return sorted(found, key=lambda item: item.mmsis)
