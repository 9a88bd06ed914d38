"""``seabridge tracks query|export`` and ``vessels``: bad arguments and unwritable outputs exit 2
with a message naming what was wrong; ingesting a second receiver's copy adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from seabridge.ais.records import POSITION_SCHEMA, TS_TYPE
from seabridge.ais.sample import sample_lines
from seabridge.cli import app
from seabridge.tracks import TrackStore

runner = CliRunner()
T0_MS = 1_714_521_600_000  # 2024-05-01T00:00:00Z


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with three positions of two vessels (one without any static report)."""
    rows = {
        "mmsi": [431000001, 431000001, 111431001],
        "ts": [T0_MS, T0_MS + 60_000, T0_MS + 30_000],
        "lat": [24.5, 24.6, 25.0],
        "lon": [123.25, 123.5, 124.0],
        "sog_kn": [10.0, 10.5, 120.0],
        "cog_deg": [90.0, 91.0, 180.0],
        "heading_deg": [float("nan")] * 3,
        "nav_status": [0, 0, -1],
        "msg_type": [1, 1, 9],
        "source": ["rx"] * 3,
    }
    columns = [
        pa.array(rows["ts"], pa.int64()).cast(TS_TYPE)
        if field.name == "ts"
        else pa.array(rows[field.name], field.type)
        for field in POSITION_SCHEMA
    ]
    path = tmp_path / "t.duckdb"
    with TrackStore.open(path) as store:
        store.append_positions(pa.Table.from_arrays(columns, schema=POSITION_SCHEMA))
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "geojson", "parquet"])
def test_query_to_an_unwritable_path_exits_2_naming_it(db: Path, fmt: str) -> None:
    target = f"/nonexistent/dir/x.{fmt}"
    result = runner.invoke(
        app, ["tracks", "query", "--db", str(db), "--format", fmt, "--out", target]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ") and target in result.stderr
    assert "Traceback" not in result.output


def test_query_to_a_directory_exits_2_naming_it(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["tracks", "query", "--db", str(db), "--out", str(tmp_path)])
    assert result.exit_code == 2 and str(tmp_path) in result.stderr


def test_export_to_an_unwritable_directory_exits_2_naming_it(db: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    target = a_file / "archive"  # its parent is a file: cannot be created, not even by root
    result = runner.invoke(app, ["tracks", "export", "--db", str(db), "--out", str(target)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and str(target) in result.stderr


def test_export_refusal_names_the_cli_flag(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    out.mkdir()
    (out / "notes.txt").write_text("keep\n")
    refused = runner.invoke(app, ["tracks", "export", "--db", str(db), "--out", str(out)])
    assert refused.exit_code == 2
    assert "--overwrite" in refused.stderr and "overwrite=True" not in refused.stderr
    again = ["tracks", "export", "--db", str(db), "--out", str(out), "--overwrite"]
    assert runner.invoke(app, again).exit_code == 0
    assert (out / "day=2024-05-01" / "part-0.parquet").exists()


@pytest.mark.parametrize("mmsi", ["0", "-5", "1000000000", "99999999999"])
def test_query_mmsi_out_of_range_exits_2(db: Path, mmsi: str) -> None:
    result = runner.invoke(app, ["tracks", "query", "--db", str(db), "--mmsi", mmsi])
    assert result.exit_code == 2, result.output
    assert f"MMSI {int(mmsi)} is out of range" in result.stderr
    assert "1 to 999999999" in result.stderr
    assert result.stdout == ""


def test_query_mmsi_in_range_without_data_is_an_empty_result(db: Path) -> None:
    result = runner.invoke(
        app, ["tracks", "query", "--db", str(db), "--mmsi", "999999999", "--format", "jsonl"]
    )
    assert result.exit_code == 0 and result.stdout == ""


def test_vessels_without_statics_show_the_flag_of_their_mid(db: Path) -> None:
    result = runner.invoke(app, ["vessels", "--db", str(db), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    flags = {row["mmsi"]: row["flag"] for row in map(json.loads, result.stdout.splitlines())}
    assert flags == {111431001: "JP", 431000001: "JP"}


def _ingest(*args: str) -> dict[str, int]:
    result = runner.invoke(app, ["ingest", *args, "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, int] = json.loads(result.stdout)
    return summary


def test_a_second_receivers_copy_of_the_same_hour_adds_only_duplicates(tmp_path: Path) -> None:
    # The same hour of traffic as two receivers logged it, ingested one run after the other:
    # the second run starts 50 minutes before the end of the stored data (the window is 10).
    hour = "\n".join(sample_lines(60)) + "\n"
    rx_a, rx_b = tmp_path / "rx-a.nmea", tmp_path / "rx-b.nmea"
    rx_a.write_text(hour)
    rx_b.write_text(hour)
    db = tmp_path / "t.duckdb"
    first = _ingest(str(rx_a), "--db", str(db))
    with TrackStore.open(db, read_only=True) as store:
        before = store.stats()
    second = _ingest(str(rx_b), "--db", str(db))
    with TrackStore.open(db, read_only=True) as store:
        after = store.stats()
    assert first["positions"] > 0 and first["statics"] > 0
    assert second["duplicates"] == second["positions"] + second["statics"]
    assert (after.positions, after.statics) == (before.positions, before.statics)
    assert after.last_ms is not None and after.first_ms is not None
    assert after.last_ms - after.first_ms > 50 * 60_000  # most of it older than the window
