"""Decoded records against gpsd's expected output (../shared/data/ais/gpsd, BSD-2-Clause).

``sample.aivdm.js.chk`` is ``gpsdecode -j`` of ``sample.aivdm``: scaled JSON, one object per
message. Each gpsd record of a type Seabridge stores is matched, in order, to Seabridge's
record of the same (type, MMSI), and every stored field is compared with tolerances for
scaling (lat/lon 2e-6 deg, 1e-4 deg for type 27; speed and course 0.051).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import pytest

from seabridge.ais.mid import is_valid_mmsi
from support import decode_file

START_MS = 1_700_000_000_000
POSITION_TYPES = {1, 2, 3, 9, 18, 19, 27}


def _gpsd_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _queues(rows: list[dict[str, Any]]) -> dict[tuple[int, int], deque[dict[str, Any]]]:
    queues: dict[tuple[int, int], deque[dict[str, Any]]] = defaultdict(deque)
    for row in rows:
        queues[(row["msg_type"], row["mmsi"])].append(row)
    return queues


def _expect_nan_or_close(ours: float, theirs: float, sentinel: float, tol: float) -> None:
    if theirs == sentinel or (isinstance(theirs, str) and theirs == "nan"):
        assert ours is None or math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=tol)


def _check_position(ours: dict[str, Any], gpsd: dict[str, Any]) -> None:
    tol_deg = 1e-4 if gpsd["type"] == 27 else 2e-6
    assert ours["lat"] == pytest.approx(gpsd["lat"], abs=tol_deg)
    assert ours["lon"] == pytest.approx(gpsd["lon"], abs=tol_deg)
    speed_na, course_na = {27: (63, 511), 9: (1023, 360.0)}.get(gpsd["type"], (102.3, 360.0))
    _expect_nan_or_close(ours["sog_kn"], gpsd["speed"], speed_na, 0.051)
    _expect_nan_or_close(ours["cog_deg"], gpsd["course"], course_na, 0.051)
    if "heading" in gpsd:
        _expect_nan_or_close(ours["heading_deg"], gpsd["heading"], 511, 0.0)
    if "status" in gpsd:
        assert ours["nav_status"] == (-1 if gpsd["status"] == 15 else gpsd["status"])
    else:
        assert ours["nav_status"] == -1


def _text(value: str) -> str | None:
    cleaned = value.split("@", 1)[0].strip()
    return cleaned or None


def _check_static(ours: dict[str, Any], gpsd: dict[str, Any]) -> None:
    pairs = {
        "shipname": "name",
        "callsign": "callsign",
        "destination": "destination",
    }
    for theirs, mine in pairs.items():
        if theirs in gpsd:
            assert ours[mine] == _text(gpsd[theirs]), theirs
    numbers = {
        "imo": "imo",
        "shiptype": "ship_type",
        "to_bow": "dim_bow_m",
        "to_stern": "dim_stern_m",
        "to_port": "dim_port_m",
        "to_starboard": "dim_starboard_m",
    }
    for theirs, mine in numbers.items():
        if theirs in gpsd:
            assert ours[mine] == (gpsd[theirs] or None), theirs


def _merged_statics(rows: deque[dict[str, Any]], count: int) -> dict[str, Any]:
    """gpsd merges a type 24 part A and part B into one record; merge ours the same way."""
    merged: dict[str, Any] = {}
    for _ in range(count):
        row = rows.popleft()
        merged.update({k: v for k, v in row.items() if v is not None})
    return defaultdict(lambda: None, merged)


def test_sample_aivdm_matches_gpsd_field_by_field(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "ais" / "gpsd"
    decoded = decode_file(folder / "sample.aivdm", tmp_path, start_ms=START_MS)
    positions = _queues(decoded.positions.to_pylist())
    statics = _queues(decoded.statics.to_pylist())
    checked: dict[int, int] = defaultdict(int)
    for gpsd in _gpsd_records(folder / "sample.aivdm.js.chk"):
        kind, mmsi = gpsd["type"], gpsd["mmsi"]
        if not is_valid_mmsi(mmsi):
            continue  # Seabridge quarantines MMSIs outside the ITU forms (invalid_mmsi)
        if kind in POSITION_TYPES:
            if abs(gpsd["lat"]) > 90 or abs(gpsd["lon"]) > 180:
                continue  # not available: rejected as invalid_position, never stored
            _check_position(positions[(kind, mmsi)].popleft(), gpsd)
            checked[kind] += 1
        if kind in (5, 19):
            _check_static(statics[(kind, mmsi)].popleft(), gpsd)
            checked[kind] += 1
        if kind == 24:
            has_both = "shipname" in gpsd and "callsign" in gpsd
            _check_static(_merged_statics(statics[(24, mmsi)], 2 if has_both else 1), gpsd)
            checked[kind] += 1
    assert set(checked) == {1, 2, 3, 5, 9, 18, 19, 24, 27}, checked
    assert [row for queue in positions.values() for row in queue] == [], "positions gpsd lacks"


@pytest.mark.parametrize(
    "log", ["ais-nmea.log", "ais-18-27.log", "ais-nmea-type6-fid55.log", "ais_unpack_sixbit.log"]
)
def test_gpsd_daemon_logs_match_their_chk(shared_data: Path, tmp_path: Path, log: str) -> None:
    """Daemon .chk files are unscaled (lat/lon in 1/600000 deg, 1/600 for type 27).

    They echo the input lines between the JSON reports; only the reports are compared.
    """
    folder = shared_data / "ais" / "gpsd"
    decoded = decode_file(folder / log, tmp_path, start_ms=START_MS)
    positions = _queues(decoded.positions.to_pylist())
    compared = 0
    previous: dict[str, Any] | None = None
    for gpsd in _gpsd_records(folder / f"{log}.chk"):
        if gpsd.get("class") != "AIS":
            continue
        # The daemon re-emits its last AIS report at the end of some cycles: skip repeats.
        repeat, previous = gpsd == previous, gpsd
        if repeat or gpsd["type"] not in POSITION_TYPES or not is_valid_mmsi(gpsd["mmsi"]):
            continue  # Seabridge quarantines MMSIs outside the ITU forms (invalid_mmsi)
        scale = 600.0 if gpsd["type"] == 27 else 600000.0
        lat, lon = gpsd["lat"] / scale, gpsd["lon"] / scale
        if abs(lat) > 90 or abs(lon) > 180:
            continue
        ours = positions[(gpsd["type"], gpsd["mmsi"])].popleft()
        assert ours["lat"] == pytest.approx(lat, abs=2e-6)
        assert ours["lon"] == pytest.approx(lon, abs=2e-6)
        if gpsd["type"] != 27 and gpsd["speed"] != 1023:
            assert ours["sog_kn"] == pytest.approx(gpsd["speed"] / 10, abs=0.051)
        compared += 1
    assert decoded.summary.rejected.get("bad_checksum", 0) == 0
    assert [row for queue in positions.values() for row in queue] == [], "positions gpsd lacks"
    if log != "ais_unpack_sixbit.log":
        assert compared > 0
