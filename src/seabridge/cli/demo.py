"""``seabridge demo``: the most complete pipeline that exists, on the built-in East China Sea
scenario.

Today: simulate ``ecs-mini`` (real NMEA with tag blocks, two receivers, scripted situations
and their ground truth) -> ingest -> track store -> detection under the ``ecs-standard``
rulebook -> events, checked against the ground truth, plus the vessel list and GeoJSON
tracks. The same commands a user runs, in one. Later issues add incidents, the hotline and
two federated nodes.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from seabridge.cli._app import app, err, out, quarantine_path_for, user_errors
from seabridge.cli.detect import event_line
from seabridge.cli.ingest import summary_table
from seabridge.cli.rulebook import load_pack_rulebook
from seabridge.errors import InputError
from seabridge.units import iso_to_ms

if TYPE_CHECKING:  # the domain packages are imported inside the command (CLI start-up time)
    from seabridge.detect import Event

MARKER = ".seabridge-demo"


def _fresh_directory(out_dir: Path) -> None:
    """Empty ``out_dir`` for a new run, but only if a demo made it (or it is empty).

    Raises:
        InputError: the directory holds files the demo did not write.
    """
    if out_dir.exists():
        if not out_dir.is_dir():
            raise InputError(f"--out {out_dir}: not a directory")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
            raise InputError(
                f"--out {out_dir}: the directory is not empty and was not made by "
                "`seabridge demo`; choose another --out (its contents are replaced each run)"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / MARKER).write_text("written by `seabridge demo`; replaced on each run\n")


@app.command("demo")
def demo_command(
    out_dir: Path = typer.Option(
        Path("demo-out"), "--out", help="Directory for the demo's files (replaced each run)."
    ),
    scenario: str = typer.Option(
        "ecs-mini", "--scenario", help="ecs-mini (1 h, quick) or ecs-demo (6 h, 1,500 vessels)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Override the scenario's seed."),
) -> None:
    """Simulate the built-in East China Sea scenario, ingest it, detect under the shared
    safety standard, and show what was found against what was scripted."""
    from seabridge.ais.ingest import IngestOptions, ingest
    from seabridge.ais.quarantine import Quarantine
    from seabridge.detect import Engine, final_events, run_store
    from seabridge.sim import Simulation, load_scenario, truth_line, write_lines
    from seabridge.tracks import OUTPUT_COLUMNS, TrackStore, write_table

    with user_errors():
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
