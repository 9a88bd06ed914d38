"""``seabridge demo``: two federated nodes (JCG and CCG) on one machine, or the offline
single-node pipeline.

Thin: :mod:`seabridge.node.demo` makes the work directory, runs both nodes on a replay clock
with one simulator feeding both and a scripted CCG duty officer, and summarizes; this command
serves each node with :func:`seabridge.web.server.serve_service` (what ``seabridge serve``
runs: the node, its federation and console listeners), prints the consoles and logins, and
stops on Ctrl-C. ``--headless --duration S --json`` runs it unattended and prints
the summary. ``--offline`` is the single-node pipeline: simulate -> ingest -> detect, scored
against the scenario's ground truth.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from seabridge.cli._app import app, err, out, quarantine_path_for, user_errors
from seabridge.cli.detect import event_line
from seabridge.cli.ingest import summary_table
from seabridge.cli.rulebook import load_pack_rulebook
from seabridge.errors import InputError, SeabridgeError
from seabridge.units import iso_to_ms

if TYPE_CHECKING:  # the domain packages are imported inside the command (CLI start-up time)
    from seabridge.detect import Event
    from seabridge.node.demo import DemoPorts, DemoRun, DemoSetup
    from seabridge.node.service import Node

_HOST = "127.0.0.1"


@app.command("demo")
def demo_command(
    workdir: Path | None = typer.Option(
        None,
        "--workdir",
        metavar="DIR",
        help="Work directory (kept afterwards; a previous demo's is replaced). Default: a new "
        "seabridge-demo-* directory here.",
    ),
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        metavar="NAME",
        help="Built-in scenario or file: ecs-demo (6 h, 1,500 vessels; the default) or "
        "ecs-mini (1 h; the default with --offline).",
    ),
    speed: float = typer.Option(60.0, "--speed", metavar="X", help="Replay speed (60: 1 h/min)."),
    headless: bool = typer.Option(False, "--headless", help="No consoles; stop after --duration."),
    duration: float | None = typer.Option(
        None, "--duration", metavar="SECONDS", help="Wall-clock seconds to run (--headless)."
    ),
    until_replayed: float | None = typer.Option(
        None,
        "--until-replayed",
        metavar="MINUTES",
        help="With --headless: after --duration, go on until this much scenario time has been "
        "replayed (a loaded machine replays slower than --speed) or the scenario ends.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    ports_base: int | None = typer.Option(
        None,
        "--ports-base",
        metavar="PORT",
        help="Consoles on PORT and PORT+1, federation on PORT+10 and PORT+11 (default 8701).",
    ),
    offline: bool = typer.Option(
        False, "--offline", help="The single-node pipeline: simulate, ingest, detect, score."
    ),
    seed: int | None = typer.Option(None, "--seed", help="With --offline: the scenario's seed."),
) -> None:
    """Two nodes (JCG, CCG) fed the same simulated traffic on a replay clock, with consoles,
    incidents and the hotline; a demo bot answers for CCG. Ctrl-C stops."""
    from seabridge.node.demo import DemoPorts, new_workdir

    with user_errors():
        if headless and (duration is None or duration <= 0):
            raise InputError("--headless needs --duration SECONDS (wall clock, > 0)")
        if not headless and (duration is not None or as_json or until_replayed) and not offline:
            raise InputError("--duration, --until-replayed and --json are for --headless runs")
        if until_replayed is not None and until_replayed <= 0:
            raise InputError("--until-replayed MINUTES: give a number of minutes > 0")
        workdir = workdir or new_workdir(Path.cwd())
        if offline:
            _offline(workdir, scenario or "ecs-mini", seed)
            return
        ports = DemoPorts.from_base(ports_base) if ports_base is not None else DemoPorts()
        replay_ms = None if until_replayed is None else round(until_replayed * 60_000)
        summary = _live(
            workdir, scenario or "ecs-demo", speed, ports, duration if headless else None, replay_ms
        )
    if summary is not None:
        _print_summary(summary, as_json)


# --- two nodes -------------------------------------------------------------------------------


def _live(
    workdir: Path,
    scenario: str,
    speed: float,
    ports: DemoPorts,
    duration: float | None,
    replay_ms: int | None = None,
) -> dict[str, Any] | None:
    """Prepare, run and (headless) summarize; returns the summary of a headless run."""
    from seabridge.node.demo import prepare, summarize
    from seabridge.sim import load_scenario

    load_scenario(scenario)  # a bad name fails before anything is made
    _check_ports(ports)
    setup = prepare(workdir, scenario=scenario, speed=speed, ports=ports)
    logging.basicConfig(
        level=logging.WARNING if duration is not None else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    err.print(f"demo: {scenario} at {speed:g}x in {workdir}", markup=False)
    run = asyncio.run(_run(setup, duration, replay_ms))
    if run.failed:
        raise SeabridgeError(
            f"the demo stopped: {', '.join(run.failed)} ended early (see the log above); "
            f"its directory is kept: {workdir}"
        )
    if duration is None:
        out.print(f"demo stopped; its directory is kept: {workdir}", markup=False)
        return None
    return summarize(setup)


def _check_ports(ports: DemoPorts) -> None:
    """Fail before anything is made when a listener's port is taken."""
    for kind, pair in (("console", ports.console), ("federation", ports.federation)):
        for port in pair:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((ports.host, port))
                except OSError as exc:
                    raise InputError(
                        f"{kind} port {ports.host}:{port} cannot be used ({exc.strerror}); "
                        "choose others with --ports-base PORT"
                    ) from None


async def _run(setup: DemoSetup, duration: float | None, replay_ms: int | None) -> DemoRun:
    """Both nodes served as ``seabridge serve`` serves one (its Ctrl-C handler stops both)."""
    from seabridge.node.demo import run_demo
    from seabridge.web.server import serve_service

    level = "warning" if duration is not None else "info"

    async def serve(node: Node, stop: asyncio.Event, ready: Callable[[], None]) -> None:
        await serve_service(node, stop=stop, on_ready=lambda _: ready(), log_level=level)

    return await run_demo(
        setup,
        serve,
        stop=asyncio.Event(),
        duration_s=duration,
        min_replay_ms=replay_ms,
        on_ready=None if duration is not None else _announce,
    )


def _announce(run: DemoRun) -> None:
    setup = run.setup
    out.print(
        f"Seabridge demo: {setup.scenario} at {setup.speed:g}x, two nodes in {setup.workdir}",
        markup=False,
    )
    for node in setup.nodes:
        out.print(
            f"  {node.name} ({node.party}): {node.console_url}  user {node.user}  "
            f"password {node.password}",
            markup=False,
            soft_wrap=True,
        )
    out.print(
        f"Logins also in {setup.logins}. CCG's duty officer is a demo bot (user demo-bot): "
        "it lets JCG's deadlines pass until JCG escalates, then acknowledges. Ctrl-C stops.",
        markup=False,
        soft_wrap=True,
    )


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    hotline = summary["hotline"]
    events = ", ".join(f"{kind} {n}" for kind, n in summary["events_by_kind"].items()) or "none"
    verified = ", ".join(f"{party} {v}" for party, v in summary["ledger_verify"].items())
    for line in (
        f"incidents (both nodes): {summary['incidents']}",
        f"events by kind: {events}",
        f"hotline: {hotline['sent']} sent, {hotline['receipted']} receipted, "
        f"{hotline['acknowledged']} acknowledged, {hotline['escalated']} escalations",
        f"ledger verify: {verified}",
        f"work directory: {summary['workdir']}",
        "The interactive demo (two consoles, Ctrl-C stops): .venv/bin/seabridge demo",
    ):
        out.print(line, markup=False, soft_wrap=True)


# --- offline: one node's pipeline ------------------------------------------------------------


MARKER = ".seabridge-demo"


def _fresh_directory(out_dir: Path) -> None:
    """Empty ``out_dir`` for a new run, but only if a demo made it (or it is empty).

    Raises:
        InputError: the directory holds files the demo did not write.
    """
    if out_dir.exists():
        if not out_dir.is_dir():
            raise InputError(f"--workdir {out_dir}: not a directory")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
            raise InputError(
                f"--workdir {out_dir}: the directory is not empty and was not made by "
                "`seabridge demo`; choose a new or empty directory"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / MARKER).write_text("written by `seabridge demo`; replaced when reused\n")


def _offline(out_dir: Path, scenario: str, seed: int | None) -> None:
    """Simulate the scenario, ingest it, detect under the shared safety standard, and show
    what was found against what was scripted."""
    from seabridge.ais.ingest import IngestOptions, ingest
    from seabridge.ais.quarantine import Quarantine
    from seabridge.detect import Engine, final_events, run_store
    from seabridge.sim import Simulation, load_scenario, truth_line, write_lines
    from seabridge.tracks import OUTPUT_COLUMNS, TrackStore, write_table

    _fresh_directory(out_dir)
    nmea, truth_path = out_dir / "ecs.nmea", out_dir / "truth.jsonl"
    err.print(f"simulating {scenario} ...", markup=False)
    simulation = Simulation(load_scenario(scenario), seed=seed)
    with nmea.open("w", encoding="ascii") as stream:
        write_lines(simulation.transmissions(), stream)
    result = simulation.result
    truth_path.write_text("".join(truth_line(row) for row in result.situations))
    db = out_dir / "tracks.duckdb"
    quarantine = quarantine_path_for(db)
    rulebook, zones, parties = load_pack_rulebook(None, "ecs", build=False)
    with Quarantine(quarantine) as rejected, TrackStore.open(db) as store:
        summary = ingest([str(nmea)], store, rejected, IngestOptions())
        vessels = store.vessels()
        write_table(
            store.positions().select(list(OUTPUT_COLUMNS)),
            "geojson",
            out_dir / "tracks.geojson",
            geometry="lines",
        )
        events = final_events(run_store(store, Engine(rulebook, zones, parties)))
    with (out_dir / "events.jsonl").open("w") as stream:
        stream.writelines(json.dumps(event.as_json()) + "\n" for event in events)
    out.print(
        f"Scenario {scenario}: {result.vessels:,} vessels, {result.sentences:,} NMEA lines "
        f"({nmea}), {len(result.situations)} scripted situations ({truth_path})"
    )
    out.print(summary_table(summary, db, quarantine))
    out.print(f"{len(vessels):,} vessels in the track store (`seabridge vessels --db {db}`)")
    out.print(_levels_table(events, rulebook.ref.id, rulebook.ref.version))
    serious = [event for event in events if event.level >= 2]
    out.print(f"Events of level 2 and above ({len(serious)}):")
    for event in serious:
        out.print("  " + event_line(event), markup=False, soft_wrap=True)
    out.print(_scorecard(result.situations, events))
    out.print(f"Events: {out_dir / 'events.jsonl'}; tracks: {out_dir / 'tracks.geojson'}")
    out.print(f"Next: seabridge detect --db {db} --format table")


def _levels_table(events: list[Event], rulebook_id: str, version: int) -> Table:
    counts = Counter((event.kind, event.level) for event in events)
    table = Table(title=f"Events ({rulebook_id} v{version}) by level", title_justify="left")
    table.add_column("kind")
    for level in (1, 2, 3, 4):
        table.add_column(str(level), justify="right")
    for kind in sorted({kind for kind, _ in counts}):
        table.add_row(kind, *(str(counts.get((kind, level), "")) for level in (1, 2, 3, 4)))
    return table


def _found(row: dict[str, Any], events: list[Event]) -> bool:
    """An event of the row's kind, on its vessels, overlapping its time window."""
    start_ms, end_ms = iso_to_ms(row["start"]), iso_to_ms(row["end"])
    vessels = set(row["vessels"])
    for event in events:
        event_end = event.end_ms if event.end_ms is not None else end_ms
        if (
            event.kind == row["kind"]
            and vessels <= set(event.vessels)
            and event.start_ms <= end_ms
            and event_end >= start_ms
        ):
            return True
    return False


def _scorecard(situations: list[dict[str, Any]], events: list[Event]) -> Table:
    """Scripted situations found by the rule of their kind, per kind."""
    table = Table(title="Scripted situations found", title_justify="left")
    for column in ("kind", "scripted", "found"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in sorted({row["kind"] for row in situations}):
        rows = [row for row in situations if row["kind"] == kind]
        table.add_row(kind, str(len(rows)), str(sum(_found(row, events) for row in rows)))
    return table
