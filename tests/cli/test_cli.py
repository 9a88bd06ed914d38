"""The command line, end to end: the contract other issues and checks rely on."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from seabridge.ais.sample import sample_lines
from seabridge.cli import app
from seabridge.cli._docs import generated_pages
from seabridge.units import iso_to_ms

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
SUMMARY_KEYS = {
    "lines",
    "messages",
    "positions",
    "statics",
    "rejected",
    "duplicates",
    "seconds",
    "messages_per_s",
}


def _ingest(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["ingest", *args, "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.nmea"
    path.write_text("\n".join(sample_lines(20)) + "\n")
    return path


def test_aishub_sample_with_start_has_the_documented_type_counts(
    shared_data: Path, tmp_path: Path
) -> None:
    log = shared_data / "ais" / "aishub-nmea-sample" / "nmea-sample.txt"
    summary = _ingest(str(log), "--db", str(tmp_path / "t.duckdb"), "--start", "2024-01-01")
    assert set(summary) >= SUMMARY_KEYS
    types = summary["types"]
    assert isinstance(types, dict)
    assert (types["1"], types["3"], types["6"]) == (61_374, 8_785, 443)
    assert summary["positions"] == 72_319
    assert summary["rejected"] == {
        "incomplete_multipart": 4,
        "invalid_mmsi": 333,
        "invalid_position": 997,
        "unsupported_type": 2,
    }


def test_no_time_is_quarantined_and_start_is_suggested(shared_data: Path, tmp_path: Path) -> None:
    log = shared_data / "ais" / "gfw-ais-tools" / "mixed_types.nmea"
    db, quarantine = tmp_path / "t.duckdb", tmp_path / "q.jsonl"
    result = runner.invoke(
        app, ["ingest", str(log), "--db", str(db), "--quarantine", str(quarantine)]
    )
    assert result.exit_code == 0
    assert "--start" in result.stderr
    rejected = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert {r["reason"] for r in rejected} == {"no_timestamp"}
    assert rejected[0]["source"] == str(log) and rejected[0]["line"] == 1


def test_duplicates_from_two_receivers_are_stored_once(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    first = _ingest(str(sample), "--db", str(db))
    assert first["duplicates"] and first["rejected"] == {"bad_checksum": 1}
    # Five minutes fit in the 10-minute de-duplication window: nothing is stored again.
    short = tmp_path / "short.nmea"
    short.write_text("\n".join(sample_lines(5)) + "\n")
    db = tmp_path / "short.duckdb"
    _ingest(str(short), "--db", str(db))
    again = _ingest(str(short), "--db", str(db))
    assert again["duplicates"] == int(again["positions"]) + int(again["statics"])  # type: ignore[call-overload]


def test_gzip_directory_and_stdin_inputs(sample: Path, tmp_path: Path) -> None:
    nested = tmp_path / "in" / "deeper"
    nested.mkdir(parents=True)
    (nested / "a.nmea.gz").write_bytes(gzip.compress(sample.read_bytes()))
    (tmp_path / "in" / "README.txt").write_text("not AIS\n")
    from_dir = _ingest(str(tmp_path / "in"), "--db", str(tmp_path / "d.duckdb"))
    assert from_dir["skipped_files"] == [str(tmp_path / "in" / "README.txt")]
    result = runner.invoke(
        app,
        ["ingest", "-", "--db", str(tmp_path / "s.duckdb"), "--json"],
        input=sample.read_bytes(),
    )
    assert result.exit_code == 0, result.output
    from_stdin = json.loads(result.stdout)
    assert from_stdin["positions"] == from_dir["positions"]
    assert int(from_stdin["positions"]) > 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ingest", "missing.nmea"], "missing.nmea"),
        (["ingest", "--format", "xml", "{sample}"], "xml"),
        (["ingest", "{text}"], "text.txt"),
        (["ingest", "{sample}", "--start", "yesterday"], "--start"),
        (["ingest", "tcp://nohost"], "tcp://nohost"),
    ],
)
def test_unusable_input_exits_2_naming_it(
    sample: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("hello\n")
    argv = [a.format(sample=sample, text=text) for a in args] + ["--db", str(tmp_path / "t.duckdb")]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert needle in result.stderr


def test_tracks_query_columns_and_iso_times(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    _ingest(str(sample), "--db", str(db))
    result = runner.invoke(
        app, ["tracks", "query", "--db", str(db), "--mmsi", "431999001", "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and list(rows[0]) == [
        "mmsi",
        "ts",
        "lat",
        "lon",
        "sog_kn",
        "cog_deg",
        "heading_deg",
        "nav_status",
        "msg_type",
    ]
    assert rows[0]["mmsi"] == 431999001 and rows[0]["ts"] == "2010-09-07T00:00:00Z"
    times = [iso_to_ms(r["ts"]) for r in rows]  # as times: ISO text with and without .mmm
    assert times == sorted(times) and len(set(times)) == len(times)
    csv_out = runner.invoke(
        app,
        [
            "tracks",
            "query",
            "--db",
            str(db),
            "--bbox",
            "123,25,124,26",
            "--end",
            "2010-09-07T00:01:00Z",
        ],
    )
    assert csv_out.stdout.splitlines()[0].replace('"', "") == ",".join(rows[0])
    parquet = runner.invoke(app, ["tracks", "query", "--db", str(db), "--format", "parquet"])
    assert parquet.exit_code == 2 and "--out" in parquet.stderr


def test_tracks_export_is_partitioned_by_day(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    _ingest(str(sample), "--db", str(db))
    out = tmp_path / "archive"
    result = runner.invoke(
        app, ["tracks", "export", "--db", str(db), "--format", "parquet", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    files = sorted(out.rglob("*.parquet"))
    assert [f.relative_to(out).as_posix() for f in files] == [
        "_statics.parquet",  # the static reports: names, ship types, flags
        "day=2010-09-07/part-0.parquet",
    ]
    assert pq.read_table(out / "_statics.parquet").num_rows > 0
    table = pq.read_table(files[1])
    keys = list(zip(table["mmsi"].to_pylist(), table["ts"].to_pylist(), strict=True))
    assert keys == sorted(keys)


def test_vessels_lists_static_data_and_flag(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    _ingest(str(sample), "--db", str(db))
    result = runner.invoke(app, ["vessels", "--db", str(db), "--format", "jsonl"])
    rows = {r["mmsi"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows[431999001]["name"] == "KAIYO PATROL 7" and rows[431999001]["flag"] == "JP"
    assert rows[477999006]["flag"] == "HK"
    assert list(rows[431999001]) == [
        "mmsi",
        "name",
        "callsign",
        "imo",
        "ship_type",
        "flag",
        "last_seen",
    ]


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "seabridge"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("seabridge ")


@pytest.mark.parametrize("name", sorted(generated_pages()))
def test_generated_docs_are_current(name: str) -> None:
    committed = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert committed == generated_pages()[name], f"docs/{name} is stale: run `make docs`"


def test_damaged_gzip_never_stops_the_run(sample: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    whole = gzip.compress(sample.read_bytes())
    hour = gzip.compress(("\n".join(sample_lines(60)) + "\n").encode())
    (folder / "a-corrupt.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 40)  # unreadable header
    (folder / "b-truncated.nmea.gz").write_bytes(hour[: len(hour) // 2])  # cut after 64 KiB
    (folder / "c-fine.nmea").write_bytes(sample.read_bytes())
    (folder / "d-zipped-without-suffix").write_bytes(whole)
    db, quarantine = tmp_path / "t.duckdb", tmp_path / "q.jsonl"
    summary = _ingest(str(folder), "--db", str(db), "--quarantine", str(quarantine))
    assert summary["skipped_files"] == [str(folder / "a-corrupt.gz")]
    rejected = summary["rejected"]
    assert isinstance(rejected, dict) and rejected["truncated_input"] == 1
    truncated = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [r["source"] for r in truncated if r["reason"] == "truncated_input"] == [
        str(folder / "b-truncated.nmea.gz")
    ]
    # Both whole copies were read in full: every report of the second is a duplicate.
    full = _ingest(str(sample), "--db", str(tmp_path / "one.duckdb"))
    assert int(summary["positions"]) > 2 * int(full["positions"])  # type: ignore[call-overload]


def test_nothing_is_created_when_the_arguments_are_unusable(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    bad_format = runner.invoke(app, ["ingest", str(sample), "--db", str(db), "--format", "xml"])
    unwritable = runner.invoke(
        app, ["ingest", str(sample), "--db", str(db), "--quarantine", str(tmp_path / "no" / "q")]
    )
    assert bad_format.exit_code == unwritable.exit_code == 2
    assert "--quarantine" in unwritable.stderr
    assert not db.exists()


def test_an_empty_file_is_read_as_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.nmea"
    empty.write_bytes(b"")
    summary = _ingest(str(empty), "--db", str(tmp_path / "t.duckdb"))
    assert summary["lines"] == 0 and summary["rejected"] == {}


def test_start_clock_runs_on_across_files(tmp_path: Path) -> None:
    lines = [line.split("\\")[-1] for line in sample_lines(10)]  # no tag blocks: no times
    first, second = tmp_path / "1.nmea", tmp_path / "2.nmea"
    first.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    second.write_text("\n".join(lines[len(lines) // 2 :]) + "\n")
    db = tmp_path / "t.duckdb"
    _ingest(str(first), str(second), "--db", str(db), "--start", "2010-09-07T00:00:00Z")
    result = runner.invoke(
        app, ["tracks", "query", "--db", str(db), "--mmsi", "431999001", "--format", "jsonl"]
    )
    times = [json.loads(line)["ts"] for line in result.stdout.splitlines()]
    # One report every 10 s for 10 minutes, in order, not two overlapping halves.
    assert len(times) == len(set(times)) == 60
    assert times[0] == "2010-09-07T00:00:00Z" and times[-1] == "2010-09-07T00:09:50Z"
