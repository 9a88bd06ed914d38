"""``seabridge simulate``: the command's contract (outputs, --json keys, exit codes)."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seabridge.cli import app

runner = CliRunner()
SHORT = ["ecs-mini", "--duration", "2m"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_json_prints_exactly_the_four_counts(tmp_path: Path) -> None:
    out, truth = tmp_path / "mini.nmea", tmp_path / "truth.jsonl"
    result = runner.invoke(
        app, ["simulate", *SHORT, "--out", str(out), "--truth", str(truth), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary) == ["vessels", "sentences", "messages", "situations"]
    assert summary["sentences"] == len(out.read_text(encoding="ascii").splitlines())
    assert 250 < summary["vessels"] <= 275  # anchored vessels report every 3 minutes
    rows = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == summary["situations"] > 0
    assert {"kind", "vessels", "start", "end", "lat", "lon", "expect"} <= set(rows[0])


def test_nmea_goes_to_stdout_and_the_summary_to_stderr(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", *SHORT])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all("\\!AIVDM," in line for line in lines)
    assert result.stderr.startswith("ecs-mini: ") and " vessels, " in result.stderr
    again = runner.invoke(app, ["simulate", *SHORT, "--out", "-"])
    assert again.stdout == result.stdout  # same scenario, same seed: same bytes
    other = runner.invoke(app, ["simulate", *SHORT, "--seed", "7"])
    assert other.exit_code == 0 and other.stdout != result.stdout


def test_seabridge_ingest_rejects_nothing_of_the_output(tmp_path: Path) -> None:
    out = tmp_path / "mini.nmea"
    assert runner.invoke(app, ["simulate", *SHORT, "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["ingest", str(out), "--db", str(tmp_path / "t.duckdb"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rejected"] == {} and summary["positions"] > 0 and summary["statics"] > 0


def test_a_bad_scenario_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenario: bad\ntitle: bad\nstart: 2010-09-07T00:00:00Z\nduration: -1h\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2
    assert f"error: {path}:4: duration:" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["simulate", "nope"], "no built-in scenario 'nope'"),
        (["simulate", *SHORT, "--json"], "--json prints the summary on stdout"),
        (["simulate", "ecs-mini", "--duration", "soon"], "--duration"),
        (["simulate", "ecs-mini", "--duration", "0s"], "--duration must be longer"),
        (["simulate", *SHORT, "--tcp", "x", "--out", "f"], "--out and --tcp"),
        (["simulate", *SHORT, "--tcp", "nohost"], "HOST:PORT"),
        (["simulate", *SHORT, "--encoder", "slow"], "--encoder slow"),
    ],
)
def test_unusable_arguments_exit_2(args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert needle in result.stderr


@pytest.mark.network
def test_tcp_serves_the_same_lines(tmp_path: Path) -> None:
    out = tmp_path / "mini.nmea"
    assert runner.invoke(app, ["simulate", *SHORT, "--out", str(out)]).exit_code == 0
    port = _free_port()
    received = bytearray()

    def client() -> None:
        for _ in range(200):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=10.0)
            except OSError:
                time.sleep(0.05)
                continue
            with connection:
                while chunk := connection.recv(1 << 16):
                    received.extend(chunk)
            return

    reader = threading.Thread(target=client, daemon=True)
    reader.start()
    args = ["simulate", *SHORT, "--tcp", f"127.0.0.1:{port}", "--speed", "100000", "--json"]
    result = runner.invoke(app, args)
    reader.join(timeout=10.0)
    assert result.exit_code == 0, result.output
    assert received.decode("ascii").replace("\r\n", "\n") == out.read_text(encoding="ascii")
    assert json.loads(result.stdout)["sentences"] == received.count(b"\r\n")
