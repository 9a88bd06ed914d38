"""``seabridge ingest`` bounds data times on the system clock (``--future-horizon-min``).

The inputs are stamped around the wall clock's now when the test runs (read once, never
waited on): a report a minute old passes, one a year ahead is quarantined as ``future_time``,
into the track store and into a Parquet archive alike, from NMEA and from a CSV archive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.clock import SystemClock
from support import tagged_position

runner = CliRunner()
YEAR_S = 365 * 86_400
NOAA_HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo"
)


def _noaa_row(time_s: int, mmsi: int) -> str:
    ts = datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{mmsi},{ts},37.80,-122.40,10.5,162.0,511.0,,,,,0,,,,"


@dataclass
class Feed:
    """An input with a report a minute old (at ``good_s``) and then one a year ahead."""

    path: Path
    good_s: int
    bad: str  # the line a year ahead


@pytest.fixture(params=["nmea", "noaa-csv"])
def feed(request: pytest.FixtureRequest, tmp_path: Path) -> Feed:
    good_s = SystemClock().now_ms() // 1000 - 60
    if request.param == "nmea":
        path = tmp_path / "feed.nmea"
        lines = [tagged_position(good_s), tagged_position(good_s + YEAR_S, 431000099)]
        path.write_bytes(b"\n".join(lines) + b"\n")
        return Feed(path, good_s, lines[1].decode())
    path = tmp_path / "AIS_today.csv"
    rows = [_noaa_row(good_s, 366000001), _noaa_row(good_s + YEAR_S, 366000099)]
    path.write_text("\n".join([NOAA_HEADER, *rows]) + "\n")
    return Feed(path, good_s, rows[1])


def _ingest(feed: Path, tmp_path: Path, *options: str) -> tuple[dict[str, object], Path]:
    quarantine = tmp_path / "rejected.jsonl"
    argv = ["ingest", str(feed), "--quarantine", str(quarantine), "--json", *options]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), quarantine


def test_a_report_a_year_ahead_is_quarantined(feed: Feed, tmp_path: Path) -> None:
    summary, quarantine = _ingest(feed.path, tmp_path, "--db", str(tmp_path / "t.duckdb"))
    assert (summary["positions"], summary["rejected"]) == (1, {"future_time": 1})
    line = 2 if feed.path.suffix == ".nmea" else 3  # a CSV header is line 1
    assert [json.loads(row) for row in quarantine.read_text().splitlines()] == [
        {"source": str(feed.path), "line": line, "reason": "future_time", "raw": feed.bad}
    ]


def test_the_archive_gets_no_day_a_year_ahead(feed: Feed, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    summary, _ = _ingest(feed.path, tmp_path, "--archive", str(archive))
    assert summary["rejected"] == {"future_time": 1}
    day = datetime.fromtimestamp(feed.good_s, UTC).date()
    assert [p.name for p in archive.glob("day=*")] == [f"day={day.isoformat()}"]


def test_the_option_turns_the_bound_off(feed: Feed, tmp_path: Path) -> None:
    db = str(tmp_path / "t.duckdb")
    summary, quarantine = _ingest(feed.path, tmp_path, "--db", db, "--future-horizon-min", "0")
    assert (summary["positions"], summary["rejected"]) == (2, {})
    assert not quarantine.exists()


def test_the_summary_says_what_to_check(tmp_path: Path) -> None:
    path = tmp_path / "feed.nmea"
    path.write_bytes(tagged_position(SystemClock().now_ms() // 1000 + YEAR_S) + b"\n")
    result = runner.invoke(app, ["ingest", str(path), "--db", str(tmp_path / "t.duckdb")])
    assert result.exit_code == 0, result.output
    assert "receiver's clock" in result.stderr and "--future-horizon-min 0" in result.stderr
    negative = runner.invoke(
        app, ["ingest", str(path), "--db", str(tmp_path / "t.duckdb"), "--future-horizon-min", "-1"]
    )
    assert negative.exit_code == 2 and "ingest.future_horizon_min" in negative.stderr
