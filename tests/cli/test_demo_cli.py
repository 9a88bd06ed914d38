"""``seabridge demo``: the headless two-node demo end to end over real sockets (issue 8), the
options it refuses, and the offline single-node pipeline (``--offline``)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.clock import SystemClock
from seabridge.node import load_node, open_ledger
from seabridge.node.demo import BOT_PREFIX
from support import demo_ports_base

runner = CliRunner()
SUMMARY_KEYS = {"incidents", "events_by_kind", "hotline", "ledger_verify", "workdir"}
HOTLINE_KEYS = {"sent", "receipted", "acknowledged", "escalated"}


SCRIPTED = Path(__file__).parent / "data" / "demo-scripted.yaml"


def _own(party: str, workdir: Path) -> list[dict[str, Any]]:
    """The rows of ``party``'s own log to the other party (at rest, after the run)."""
    with open_ledger(load_node(workdir / party), SystemClock()) as ledger:
        peer = next(iter(ledger.peers))
        return [row for row in ledger.log_view(peer) if row["origin"] == ledger.own_origin(peer)]


@pytest.mark.slow
def test_the_headless_demo_notifies_acknowledges_escalates_and_verifies(tmp_path: Path) -> None:
    # ecs-mini's scripted vessels without its generated traffic, so the replay keeps up on a
    # loaded machine: 12 s at 250x is some 50 min of replayed time, and --until-replayed 30
    # holds the run past 12 s until 30 min are replayed when the machine is slower (a CI run
    # under load once ended before the bot's acknowledgement). The bot leaves JCG's
    # notifications unanswered until JCG escalates: the fishing vessel's close quarters
    # (notified some 7 min in) is still live at its deadline, some 23 min in; the bot
    # acknowledges that escalation 2 min later. Nobody answers CCG's notifications at JCG:
    # the JCG patrol vessel's zone entry (notified at once) escalates some 16 min in.
    workdir = tmp_path / "demo"
    result = runner.invoke(
        app,
        [
            "demo", "--headless", "--duration", "12", "--scenario", str(SCRIPTED),
            "--speed", "250", "--until-replayed", "30", "--workdir", str(workdir),
            "--ports-base", str(demo_ports_base()), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == SUMMARY_KEYS and set(summary["hotline"]) == HOTLINE_KEYS
    assert summary["workdir"] == str(workdir)
    assert summary["incidents"] > 0 and summary["events_by_kind"]
    hotline = summary["hotline"]
    assert hotline["sent"] > 0 and hotline["receipted"] == hotline["sent"]  # drained, exactly
    assert hotline["acknowledged"] >= 1 and hotline["escalated"] >= 2
    assert summary["ledger_verify"] == {"jcg": "ok", "ccg": "ok"}
    for party in ("jcg", "ccg"):  # each side escalated for a deadline its peer let pass
        rows = _own(party, workdir)
        missed = {ref for row in rows if row["kind"] == "deadline-missed" for ref in _refs(row)}
        escalations = [row for row in rows if row["kind"] == "escalation"]
        assert escalations, f"{party} did not escalate"
        assert all(_refs(row) <= missed for row in escalations)
        assert all(row["receipted"] for row in rows)
    jcg = _own("jcg", workdir)
    first = next(row for row in jcg if row["kind"] == "notification")
    assert not first["acknowledged"]  # the bot let it pass
    assert any(row["acknowledged"] for row in jcg if row["kind"] == "escalation")
    with open_ledger(load_node(workdir / "ccg"), SystemClock()) as ccg:
        acks = [row for row in ccg.log_view("jcg") if row["kind"] == "ack"]
    assert acks and all(str(row["text"]).startswith(BOT_PREFIX) for row in acks)


def _refs(row: dict[str, object]) -> set[tuple[str, int]]:
    refs = row["refs"]
    assert isinstance(refs, list)
    return {(ref["log"], ref["seq"]) for ref in refs}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--headless"], "--duration"),
        (["--headless", "--duration", "0"], "--duration"),
        (["--json"], "--headless"),
        (["--headless", "--duration", "5", "--scenario", "no-such"], "no built-in scenario"),
        (["--headless", "--duration", "5", "--ports-base", "80"], "ports-base"),
    ],
)
def test_bad_options_exit_2_before_anything_is_made(
    tmp_path: Path, args: list[str], message: str
) -> None:
    workdir = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--workdir", str(workdir), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert not workdir.exists()


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    base = demo_ports_base()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", base + 11))
        busy.listen()
        result = runner.invoke(
            app,
            ["demo", "--headless", "--duration", "5", "--ports-base", str(base),
             "--workdir", str(tmp_path / "demo")],
        )  # fmt: skip
    assert result.exit_code == 2 and f"127.0.0.1:{base + 11}" in result.stderr


def test_the_demo_refuses_to_replace_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    for mode in (["--offline"], ["--headless", "--duration", "5"]):
        refused = runner.invoke(
            app, ["demo", *mode, "--workdir", str(precious), "--ports-base", str(demo_ports_base())]
        )
        assert refused.exit_code == 2 and "not empty" in refused.stderr
    assert (precious / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_the_offline_demo_runs_the_pipeline_and_finds_every_scripted_situation(
    tmp_path: Path,
) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / ".seabridge-demo").write_text("")  # a previous run's output is replaced
    (demo / "old.txt").write_text("")
    result = runner.invoke(app, ["demo", "--offline", "--workdir", str(demo)])
    assert result.exit_code == 0, result.output
    assert not (demo / "old.txt").exists()
    truth = [json.loads(line) for line in (demo / "truth.jsonl").read_text().splitlines()]
    scorecard = result.stdout[result.stdout.index("Scripted situations found") :]
    for kind in {row["kind"] for row in truth}:
        scripted = sum(row["kind"] == kind for row in truth)
        assert f"{kind} " in scorecard
        line = next(ln for ln in scorecard.splitlines() if f" {kind} " in ln)
        assert re.findall(r"\d+", line)[-2:] == [str(scripted), str(scripted)], line
    events = [json.loads(line) for line in (demo / "events.jsonl").read_text().splitlines()]
    assert events and all(set(e) >= {"id", "kind", "level", "vessels", "start"} for e in events)
