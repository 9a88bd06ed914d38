"""``seabridge ingest``: raw AIS into the track store."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from seabridge.cli._app import app, err, out, parse_time_ms, quarantine_path_for, user_errors
from seabridge.cli.tracks import NODE_HELP, fetch_progress, target
from seabridge.errors import InputError

if TYPE_CHECKING:  # imported inside the command: the track store pulls in DuckDB
    from seabridge.ais.ingest import Plan
    from seabridge.ais.ingest import Progress as ProgressCallback
    from seabridge.ais.summary import IngestSummary
    from seabridge.node.client import Serving

FORMAT_HELP = "Input format: auto (detect per file), nmea, dma-csv or noaa-csv."


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """Ctrl-C ends live sources cleanly (what was received is stored) instead of aborting."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def summary_table(summary: IngestSummary, db: Path | str, quarantine: Path) -> Table:
    table = Table(title=f"Ingested into {db}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("lines", f"{summary.lines:,}")
    table.add_row("messages", f"{summary.messages:,}")
    table.add_row("positions", f"{summary.positions:,}")
    table.add_row("static reports", f"{summary.statics:,}")
    table.add_row("duplicates (stored once)", f"{summary.duplicates:,}")
    for reason, count in sorted(summary.rejected.items()):
        table.add_row(f"rejected: {reason}", f"{count:,}")
    rate = summary.messages / summary.seconds if summary.seconds else 0.0
    table.add_row("time", f"{summary.seconds:.2f} s ({rate:,.0f} messages/s)")
    if summary.rejected:
        table.add_row("quarantine", str(quarantine))
    return table


@app.command("ingest")
def ingest_command(
    sources: list[str] = typer.Argument(
        ...,
        help="Files (.gz too), directories (read recursively), - for stdin, "
        "tcp://HOST:PORT or udp://HOST:PORT.",
        show_default=False,
    ),
    db: Path | None = typer.Option(None, "--db", help="Track store (DuckDB file); created if new."),
    node: Path | None = typer.Option(None, "--node", metavar="DIR", help=NODE_HELP),
    fmt: str = typer.Option("auto", "--format", help=FORMAT_HELP),
    start: str | None = typer.Option(
        None,
        "--start",
        help="ISO 8601 time of the first line, for inputs that carry no time: later lines "
        "follow the file order and the AIS 'second' field.",
    ),
    quarantine: Path | None = typer.Option(
        None,
        "--quarantine",
        help="Where rejected lines go (JSON lines). Default: beside the database, "
        "e.g. tracks.quarantine.jsonl.",
    ),
    dedup_window_min: float | None = typer.Option(
        None,
        "--dedup-window-min",
        help="De-duplication window in minutes (default: the ingest.dedup_window_min setting).",
    ),
    future_horizon_min: float | None = typer.Option(
        None,
        "--future-horizon-min",
        help="Reports timed more than this many minutes after the system clock are quarantined "
        "as future_time (default: the ingest.future_horizon_min setting); 0 turns the check "
        "off, for data stamped in the future on purpose.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object only."),
    archive: Path | None = typer.Option(
        None,
        "--archive",
        metavar="DIR",
        help="Write to this Parquet archive (day partitions, as `tracks export`) instead of "
        "the store; days already there are merged and de-duplicated.",
    ),
) -> None:
    """Decode raw AIS (NMEA 0183 or CSV archives) into the track store.

    Bad lines never stop a run: each is counted by reason and written to the quarantine.
    Exit status 0 when the run finished, 2 for unusable arguments or unreadable input.
    """
    from seabridge.ais.ingest import IngestOptions, ingest, plan_sources
    from seabridge.ais.quarantine import Quarantine
    from seabridge.config import Settings
    from seabridge.node.client import UPLOAD_QUARANTINE
    from seabridge.tracks import TrackStore
    from seabridge.tracks.archive import ArchiveWriter

    start_ms = parse_time_ms(start, "--start")
    with user_errors():
        if archive is not None and (db is not None or node is not None):
            raise InputError("--archive writes the archive: drop --db and --node")
        db, found = (archive, None) if archive is not None else target(db, node)
        if found is not None:
            assert node is not None
            if (quarantine, dedup_window_min, future_horizon_min) != (None, None, None):
                raise InputError(
                    f"--node {node} is being served: its own quarantine, de-duplication "
                    "window and future-time horizon apply; leave out --quarantine, "
                    "--dedup-window-min and --future-horizon-min"
                )
            summary = _through_node(node, found, plan_sources(sources, fmt), start_ms)
            rejected_to = node / "quarantine" / UPLOAD_QUARANTINE
            _report(summary, f"{db} (through the node's API)", rejected_to, as_json)
            return
    quarantine_path = quarantine or quarantine_path_for(db)
    show_progress = not as_json and err.is_terminal
    with user_errors():
        # Everything that can be checked is checked before the store is created or touched.
        plan = plan_sources(sources, fmt)
        options_given = {
            "ingest.dedup_window_min": dedup_window_min,
            "ingest.future_horizon_min": future_horizon_min,
        }
        settings = Settings({k: v for k, v in options_given.items() if v is not None})
        rejected = Quarantine(quarantine_path)
        rejected.ensure_writable()
        with (
            rejected,
            (
                ArchiveWriter(db)
                if archive is not None
                else TrackStore.open(db, dedup_window_min=settings["ingest.dedup_window_min"])
            ) as store,
            _stop_on_interrupt() as stop,
            _progress(show_progress) as progress,
        ):
            options = IngestOptions(
                fmt=fmt, start_ms=start_ms, settings=settings, stop=stop, progress=progress
            )
            summary = ingest(plan, store, rejected, options)
        if isinstance(store, ArchiveWriter):  # its duplicates are known once days are merged
            summary.duplicates += store.duplicates
    _report(summary, db, quarantine_path, as_json)


def _report(summary: IngestSummary, db: Path | str, quarantine: Path, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary.as_json()) + "\n")
        return
    out.print(summary_table(summary, db, quarantine))
    for name in summary.skipped_files:
        err.print(f"skipped {name}: not NMEA, DMA or NOAA CSV, or unreadable", markup=False)
    if summary.rejected.get("no_timestamp"):
        err.print(
            f"{summary.rejected['no_timestamp']:,} lines had no time and were quarantined; "
            "if the input carries no times, give --start ISO (e.g. --start 2024-05-01T00:00:00Z).",
            markup=False,
        )
    if summary.rejected.get("future_time"):
        err.print(
            f"{summary.rejected['future_time']:,} reports were timed in the future and were "
            "quarantined as future_time; check the receiver's clock or the file's dates. For "
            "data stamped in the future on purpose, give --future-horizon-min 0 (a served "
            "node: its ingest.future_horizon_min setting).",
            markup=False,
        )


def _through_node(node: Path, found: Serving, plan: Plan, start_ms: int | None) -> IngestSummary:
    """Upload every file of ``plan`` to the node serving ``node`` (``POST /api/ingest``) and
    add up its summaries. Live sources and stdin belong in the node's own sources."""
    from seabridge.ais.summary import IngestSummary
    from seabridge.node.apiclient import NodeApi

    live = [p.name for p in plan.inputs if p.item is None or p.item.path is None]
    if live:
        raise InputError(
            f"{', '.join(live)}: a served node reads live feeds and standard input as its own "
            f"sources; add a [[source]] to {node / 'node.toml'} (then restart it), or give files"
        )
    if start_ms is not None and len(plan.inputs) > 1:
        raise InputError("--start through a served node: give one file per run")
    total = IngestSummary(skipped_files=list(plan.skipped))
    with NodeApi(node, found) as api, fetch_progress() as progress:
        for planned in plan.inputs:
            assert planned.item is not None and planned.item.path is not None
            name = planned.item.path.name
            part = api.ingest(
                planned.item.path, name=name, fmt=planned.kind, start_ms=start_ms, progress=progress
            )
            _add(total, part)
    err.print(f"ingested through the API of the node served by process {found.pid}", markup=False)
    return total


def _add(total: IngestSummary, part: dict[str, Any]) -> None:
    """Add one ``--json`` summary object to ``total``."""
    for key in ("lines", "messages", "positions", "statics", "duplicates"):
        setattr(total, key, getattr(total, key) + int(part[key]))
    total.seconds += float(part["seconds"])
    total.rejected.update({str(k): int(v) for k, v in part["rejected"].items()})
    total.types.update({int(k): int(v) for k, v in part["types"].items()})
    total.skipped_files.extend(part["skipped_files"])


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A byte progress bar per input on a terminal; nothing otherwise."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(Path(name).name, total=total or None)
        bar.update(tasks[name], completed=done)

    with bar:
        yield update
