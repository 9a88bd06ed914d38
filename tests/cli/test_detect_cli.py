"""``seabridge detect`` over a small track store: final records, the stream, formats, the
time window, a rulebook file, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.cli import app
from seabridge.detect import Event
from seabridge.geo import forward
from seabridge.tracks import TrackStore
from seabridge.units import MPS_PER_KN, iso_to_ms, ms_to_iso

runner = CliRunner()
T0 = iso_to_ms("2024-05-01T00:00:00Z")
CCG, JCG, OTHER = 413999101, 431999101, 412000001
LAT, LON = 26.6, 124.6


Row = tuple[int, int, float, float, float]


def _track(mmsi: int, lat: float, lon: float, cog: float, minutes: int) -> list[Row]:
    """(mmsi, ts_ms, lat, lon, cog) every 10 s at 10 kn on a straight course."""
    rows = []
    for k in range(minutes * 6):
        la, lo = forward(lat, lon, cog, 10.0 * MPS_PER_KN * 10.0 * k)
        rows.append((mmsi, T0 + k * 10_000, float(la), float(lo), cog))
    return rows


def _table(rows: list[Row]) -> pa.Table:
    rows = sorted(rows, key=lambda row: row[1])
    n = len(rows)
    columns = {
        "mmsi": pa.array([r[0] for r in rows], pa.uint32()),
        "ts": pa.array([r[1] for r in rows], pa.int64()).cast(POSITION_SCHEMA.field("ts").type),
        "lat": pa.array([r[2] for r in rows], pa.float64()),
        "lon": pa.array([r[3] for r in rows], pa.float64()),
        "sog_kn": pa.array([10.0] * n, pa.float32()),
        "cog_deg": pa.array([r[4] for r in rows], pa.float32()),
        "heading_deg": pa.array([r[4] for r in rows], pa.float32()),
        "nav_status": pa.array([0] * n, pa.int8()),
        "msg_type": pa.array([1] * n, pa.uint8()),
        "source": pa.array(["test"] * n, pa.string()),
    }
    return pa.table(columns, schema=POSITION_SCHEMA)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ccg vessel and a jcg vessel passing 150 m apart (level 3), and a lone vessel."""
    path = tmp_path_factory.mktemp("detect") / "tracks.duckdb"
    north_lat, north_lon = forward(LAT, LON, 0.0, 5 * 1852.0)
    start_b = forward(float(north_lat), float(north_lon), 90.0, 150.0)
    fixes = (
        _track(CCG, LAT, LON, 0.0, 25)
        + _track(JCG, float(start_b[0]), float(start_b[1]), 180.0, 25)
        + _track(OTHER, LAT + 1.0, LON, 90.0, 25)
    )
    with TrackStore.open(path) as tracks:
        tracks.append_positions(_table(fixes))
    return path


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_one_record_per_event_in_its_final_state(store: Path) -> None:
    lines = _run("detect", "--db", str(store)).splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert list(record) == list(Event.JSON_KEYS)
    assert record["kind"] == "close_quarters" and record["rule_id"] == "close-quarters"
    assert record["status"] == "closed" and record["level"] == 3
    assert record["vessels"] == [CCG, JCG]
    assert record["rulebook"]["id"] == "ecs-standard" and len(record["rulebook"]["sha256"]) == 64
    assert record["start"].endswith("Z") and record["end"].endswith("Z")
    assert set(record["metrics"]) == {"cpa_m", "tcpa_s", "range_m"}
    assert abs(record["metrics"]["cpa_m"] - 150) < 15


def test_stream_prints_every_state_change(store: Path) -> None:
    records = [
        json.loads(line) for line in _run("detect", "--db", str(store), "--stream").splitlines()
    ]
    statuses = [r["status"] for r in records]
    assert statuses[0] == "open" and statuses[-1] == "closed" and "update" in statuses
    assert len({r["id"] for r in records}) == 1
    table = _run("detect", "--db", str(store), "--stream", "--format", "table")
    assert table.splitlines()[0].startswith("open") and "close-quarters" in table


def test_formats_and_out(store: Path, tmp_path: Path) -> None:
    collection = json.loads(_run("detect", "--db", str(store), "--format", "geojson"))
    [feature] = collection["features"]
    assert feature["geometry"]["type"] == "Point" and "lat" not in feature["properties"]
    table = _run("detect", "--db", str(store), "--format", "table")
    assert "close-quarters" in table and "1 events" in table
    out = tmp_path / "events.jsonl"
    result = runner.invoke(app, ["detect", "--db", str(store), "--out", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert f"wrote 1 events to {out}" in " ".join(result.stderr.split())
    assert json.loads(out.read_text())["level"] == 3


def test_time_window_and_rulebook_file(store: Path, tmp_path: Path) -> None:
    assert _run("detect", "--db", str(store), "--end", ms_to_iso(T0 + 60_000)) == ""
    book = tmp_path / "wide.yaml"
    book.write_text(
        "id: wide\nversion: 2\ntitle: wide\nparties: [jcg, ccg]\neffective: 2026-01-01\n"
        "rules:\n  - {id: wide-cq, kind: close_quarters, params: {threshold: 2 nm}, level: 1}\n",
        encoding="utf-8",
    )
    [record] = [
        json.loads(x)
        for x in _run("detect", "--db", str(store), "--rulebook", str(book)).splitlines()
    ]
    assert record["rule_id"] == "wide-cq" and record["level"] == 1
    assert record["rulebook"]["id"] == "wide" and record["rulebook"]["version"] == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--format", "csv"], "--format csv: choose one of jsonl, geojson, table"),
        (["--format", "geojson", "--stream"], "--stream writes events as they happen"),
        (["--rulebook", "strict"], "no rulebook 'strict' in pack ecs"),
        (["--start", "yesterday"], "--start"),
    ],
)
def test_bad_input_exits_2(store: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["detect", "--db", str(store), *args])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.stderr.split())


def test_missing_store_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1  # as `seabridge tracks` (a store error, not bad syntax)
    assert "no track store here" in " ".join(result.stderr.split())
