"""``--node DIR`` beside ``--db PATH``: offline the node's tracks.duckdb is opened; while the
node is served (``DIR/serve.json`` of a live process) the commands read, and ``ingest``
writes, through the node's console API with the token in ``DIR/keys/cli.token``, and give
the same output as offline; never a DuckDB lock error.

The served node runs in this process (``serve_service`` on its own event loop in a thread,
on free loopback ports); the CLI reaches it over real sockets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seabridge.ais.sample import sample_lines
from seabridge.cli import app
from seabridge.clock import ManualClock, SystemClock
from seabridge.node import init_node
from seabridge.node.client import CLI_TOKEN_FILE, SERVE_FILE, serving
from seabridge.node.directory import Address
from support import free_ports, served

runner = CliRunner()


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    node = init_node(
        tmp_path / "jcg", "jcg", "JCG", "127.0.0.1:18443", "127.0.0.1:18444", ManualClock(0)
    )
    feed = tmp_path / "feed.nmea"
    feed.write_text("\n".join(sample_lines()) + "\n")
    result = runner.invoke(app, ["ingest", str(feed), "--node", str(node.dir.root), "--json"])
    assert result.exit_code == 0, result.output
    return node.dir.root


def test_node_reads_its_track_store_offline(node_dir: Path) -> None:
    result = runner.invoke(app, ["vessels", "--node", str(node_dir), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["mmsi"] for line in result.output.splitlines()]
    assert (node_dir / "tracks.duckdb").exists()


def test_db_or_node_exactly_one(node_dir: Path) -> None:
    both = runner.invoke(app, ["vessels", "--node", str(node_dir), "--db", "x.duckdb"])
    neither = runner.invoke(app, ["tracks", "query"])
    not_a_node = runner.invoke(app, ["detect", "--node", str(node_dir / "keys")])
    for result in (both, neither, not_a_node):
        assert result.exit_code == 2
    assert "one of them" in both.output and "not a node directory" in not_a_node.output


def test_a_served_node_without_a_token_file_names_it(node_dir: Path) -> None:
    record = {"pid": os.getppid(), "console": "http://127.0.0.1:9", "federation": "x"}
    (node_dir / SERVE_FILE).write_text(json.dumps(record))
    assert serving(node_dir) is not None
    result = runner.invoke(app, ["vessels", "--node", str(node_dir)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert str(node_dir / CLI_TOKEN_FILE) in text and "restart `seabridge serve`" in text
    assert "Traceback" not in result.output and "lock" not in text.lower()


def test_a_served_node_that_does_not_answer_says_so(node_dir: Path) -> None:
    (port,) = free_ports(1)
    record = {"pid": os.getppid(), "console": f"http://127.0.0.1:{port}", "federation": "x"}
    (node_dir / SERVE_FILE).write_text(json.dumps(record))
    (node_dir / CLI_TOKEN_FILE).write_text("sbt_whatever\n")
    result = runner.invoke(app, ["tracks", "query", "--node", str(node_dir)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"console at http://127.0.0.1:{port} did not answer" in text
    assert "Traceback" not in result.output


def test_a_stale_serve_file_is_ignored(node_dir: Path) -> None:
    gone = 2**22 + 12345  # above the default pid_max of 4194304: no such process
    (node_dir / SERVE_FILE).write_text(json.dumps({"pid": gone, "federation": "x"}))
    assert serving(node_dir) is None
    result = runner.invoke(app, ["tracks", "query", "--node", str(node_dir), "--format", "jsonl"])
    assert result.exit_code == 0, result.output


# --- through a served node ---------------------------------------------------------------


@contextmanager
def _served(root: Path) -> Iterator[Path]:
    """``serve_service`` over the node in ``root`` (no sources) until the block ends."""
    from seabridge.node.service import Node

    federation, console = (Address("127.0.0.1", port) for port in free_ports(2))
    with served(Node.open(root, SystemClock(), sources=[]), federation, console):
        assert serving(root) is not None and (root / CLI_TOKEN_FILE).is_file()
        yield root
    assert serving(root) is None and not (root / CLI_TOKEN_FILE).exists()


READS = [
    ["tracks", "query", "--format", "jsonl"],
    ["tracks", "query", "--format", "csv", "--bbox", "120,20,135,40", "--start",
     "2010-09-07T00:30:00Z", "--end", "2010-09-07T02:00:00Z"],
    ["vessels", "--format", "jsonl"],
    ["vessels"],
    ["detect", "--format", "jsonl"],
]  # fmt: skip


def _run(argv: list[str], node: Path) -> str:
    result = runner.invoke(app, [*argv, "--node", str(node)])
    assert result.exit_code == 0, result.output
    return result.stdout


def _first_mmsi(node: Path) -> str:
    return str(json.loads(_run(READS[0], node).splitlines()[0])["mmsi"])


def test_served_node_reads_through_its_api_as_offline(node_dir: Path, tmp_path: Path) -> None:
    mmsi = _first_mmsi(node_dir)
    reads = [*READS, ["tracks", "query", "--format", "jsonl", "--mmsi", mmsi]]
    offline = [_run(argv, node_dir) for argv in reads]
    _run(["tracks", "export", "--out", str(tmp_path / "offline")], node_dir)
    assert offline[0].count("\n") > 100 and offline[2] and offline[5]
    with _served(node_dir):
        for argv, expected in zip(reads, offline, strict=True):
            result = runner.invoke(app, [*argv, "--node", str(node_dir)])
            assert result.exit_code == 0, result.output
            assert result.stdout == expected, argv
            assert "through the API of the node served by process" in result.stderr
        _run(["tracks", "export", "--out", str(tmp_path / "served")], node_dir)
    assert _parquet(tmp_path / "served") == _parquet(tmp_path / "offline")


def test_a_monthly_report_of_a_served_node_has_the_offline_numbers(
    node_dir: Path, tmp_path: Path
) -> None:
    def report(out: Path, *month: str) -> bytes:
        argv = ["report", "monthly", "--node", str(node_dir), "--no-pdf", "--out", str(out)]
        result = runner.invoke(app, [*argv, *month])
        assert result.exit_code == 0, result.output
        (numbers,) = out.glob("monthly-*.json")
        return numbers.read_bytes()

    with _served(node_dir):  # (serving creates state.sqlite: the same inputs after it)
        served = report(tmp_path / "served")
        named = report(tmp_path / "named", "--month", "2010-09")
    offline = report(tmp_path / "offline")
    assert b'"2010-09"' in offline  # the month of the newest position: the sample's
    assert served == offline and named == offline


def _parquet(root: Path) -> dict[str, object]:
    import pyarrow.parquet as pq

    return {
        str(path.relative_to(root)): pq.read_table(path).to_pylist()
        for path in sorted(root.rglob("*.parquet"))
    }


def test_a_refused_token_names_its_file(node_dir: Path) -> None:
    with _served(node_dir):
        (node_dir / CLI_TOKEN_FILE).write_text("sbt_not-the-one\n")
        result = runner.invoke(app, ["vessels", "--node", str(node_dir)])
        assert result.exit_code == 1
        text = " ".join(result.output.split())
        assert "HTTP 401" in text and f"token in {node_dir / CLI_TOKEN_FILE}" in text
        (node_dir / CLI_TOKEN_FILE).unlink()
        result = runner.invoke(app, ["detect", "--node", str(node_dir)])
        assert result.exit_code == 1
        assert "no API token for the local CLI" in " ".join(result.output.split())


def test_ingest_through_a_served_node_stores_the_rows(tmp_path: Path) -> None:
    node = init_node(
        tmp_path / "ccg", "ccg", "CCG", "127.0.0.1:18443", "127.0.0.1:18444", ManualClock(0)
    ).dir.root
    feed = tmp_path / "feed.nmea"
    feed.write_text("\n".join(sample_lines()) + "\nnot nmea\n")
    reference = tmp_path / "reference.duckdb"
    expected = runner.invoke(app, ["ingest", str(feed), "--db", str(reference), "--json"])
    assert expected.exit_code == 0, expected.output
    with _served(node):
        result = runner.invoke(app, ["ingest", str(feed), "--node", str(node), "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        twice = runner.invoke(app, ["ingest", str(feed), "--node", str(node)])
        assert twice.exit_code == 0, twice.output
        live = runner.invoke(app, ["ingest", "tcp://127.0.0.1:9", "--node", str(node)])
        assert live.exit_code == 2 and "[[source]]" in live.output
        for option in (
            ["--quarantine", str(tmp_path / "q.jsonl")],
            ["--dedup-window-min", "5"],
            ["--future-horizon-min", "0"],
        ):  # the node's own settings apply to what it ingests
            refused = runner.invoke(app, ["ingest", str(feed), "--node", str(node), *option])
            assert refused.exit_code == 2 and "is being served" in refused.output, option
        served_rows = _run(READS[0], node)
    wanted = json.loads(expected.stdout)
    for key in ("lines", "messages", "positions", "statics", "rejected", "duplicates"):
        assert summary[key] == wanted[key], key
    assert "duplicates (stored once)" in twice.stdout and f"{wanted['positions']:,}" in twice.stdout
    rejected = (node / "quarantine" / "upload.jsonl").read_text().splitlines()
    assert len(rejected) == 2 * sum(wanted["rejected"].values())  # both runs
    assert json.loads(rejected[0])["source"] == "feed.nmea"
    offline = runner.invoke(app, ["tracks", "query", "--db", str(reference), "--format", "jsonl"])
    assert served_rows == offline.stdout == _run(READS[0], node)
