"""``--node DIR`` beside ``--db PATH``: offline the node's tracks.duckdb is opened; while the
node is served (``DIR/serve.json`` of a live process) the command is refused with a message
naming the node's API, never a DuckDB lock error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seabridge.ais.sample import sample_lines
from seabridge.cli import app
from seabridge.clock import ManualClock
from seabridge.node import init_node
from seabridge.node.client import SERVE_FILE, serving

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


def test_a_served_node_is_refused_naming_its_api(node_dir: Path) -> None:
    record = {"pid": os.getppid(), "console": "http://127.0.0.1:18444", "federation": "x"}
    (node_dir / SERVE_FILE).write_text(json.dumps(record))
    assert serving(node_dir) is not None
    result = runner.invoke(app, ["vessels", "--node", str(node_dir)])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "being served by process" in text and "http://127.0.0.1:18444/api" in text
    assert "Traceback" not in result.output and "lock" not in text.lower()


def test_a_stale_serve_file_is_ignored(node_dir: Path) -> None:
    gone = 2**22 + 12345  # above the default pid_max of 4194304: no such process
    (node_dir / SERVE_FILE).write_text(json.dumps({"pid": gone, "federation": "x"}))
    assert serving(node_dir) is None
    result = runner.invoke(app, ["tracks", "query", "--node", str(node_dir), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
