"""``seabridge detect``: run the shared safety standard over the track store.

Thin command: :func:`seabridge.detect.run_store` feeds the store to the same engine a node
runs live; this module picks the rulebook, writes events and shows progress.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seabridge.cli._app import app, err, out, parse_time_ms, user_errors
from seabridge.cli.detect_archive import (
    ENGINE_HELP,
    SCHEDULER_HELP,
    WORKERS_HELP,
    detect_archive,
)
from seabridge.cli.rulebook import PACK_HELP, RULEBOOK_HELP, load_pack_rulebook
from seabridge.cli.tracks import NODE_HELP, open_store, target
from seabridge.errors import InputError
from seabridge.units import ms_to_iso

if TYPE_CHECKING:  # imported inside the command: detect pulls in numba and scipy
    from seabridge.detect import EngineStats, Event
    from seabridge.detect.batch import Progress as ProgressCallback

__all__ = ["detect_command", "events_geojson"]

FORMATS = ("jsonl", "geojson", "table")
ARCHIVE_HELP = (
    "Read the Parquet archive (seabridge tracks export / ingest --archive) instead of the store; "
    "a local directory or a URI such as s3://bucket/ais."
)


@app.command("detect")
def detect_command(
    db: Path | None = typer.Option(None, "--db", help="Track store (DuckDB file)."),
    node: Path | None = typer.Option(None, "--node", metavar="DIR", help=NODE_HELP),
    start: str | None = typer.Option(None, "--start", help="From this ISO 8601 time (included)."),
    end: str | None = typer.Option(None, "--end", help="Until this ISO 8601 time (excluded)."),
    rulebook_name: str | None = typer.Option(None, "--rulebook", help=RULEBOOK_HELP),
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl, geojson or table."),
    stream: bool = typer.Option(
        False, "--stream", help="Print every open/update/closed/retracted event as it happens."
    ),
    out_path: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    archive: str | None = typer.Option(None, "--archive", metavar="DIR", help=ARCHIVE_HELP),
    engine_name: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDR", help=SCHEDULER_HELP),
    workers: int = typer.Option(2, "--workers", metavar="N", help=WORKERS_HELP),
) -> None:
    """Evaluate a rulebook over the positions in the store, in data-time order.

    Prints one record per event in its final state (closed, retracted, or open at the end of
    the data), or with --stream every state change as it happens. Event JSON keys: id,
    rule_id, kind, rulebook (id, version, sha256), level, status, vessels, start, end, lat,
    lon, zone, metrics (names carry units). A summary goes to stderr."""
    from seabridge.detect import Engine, final_events, run_store
    from seabridge.detect.scaleout import EngineFactory
    from seabridge.node.apiclient import Mirror

    start_ms, end_ms = parse_time_ms(start, "--start"), parse_time_ms(end, "--end")
    with user_errors():
        if fmt not in FORMATS:
            raise InputError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
        if stream and fmt == "geojson":
            raise InputError("--stream writes events as they happen: use jsonl or table")
        if archive is not None:  # the Parquet archive, locally or on Dask (docs/scaleout.md)
            if stream or db is not None or node is not None:
                raise InputError("--archive reads the archive: drop --db, --node and --stream")
            rulebook, zones, parties = load_pack_rulebook(rulebook_name, pack_name, build=False)
            factory = EngineFactory.of(rulebook, zones, parties)
            found, read = detect_archive(
                archive, factory, start_ms, end_ms,
                engine=engine_name, scheduler=scheduler, workers=workers,
            )  # fmt: skip
            with _output(out_path) as sink:
                written = _write(found, fmt, False, sink)
            err.print(f"wrote {written} events; {read:,} positions read", markup=False)
            return
        target(db, node)  # bad --db/--node fails before the rulebook is loaded
        rulebook, zones, parties = load_pack_rulebook(rulebook_name, pack_name, build=False)
        engine = Engine(rulebook, zones, parties)
        window = Mirror(vessels=True, start_ms=start_ms, end_ms=end_ms)
        with (
            open_store(db, node, window) as store,
            _progress(not (stream and out_path is None)) as progress,
            _output(out_path) as sink,
        ):
            events = run_store(store, engine, start_ms, end_ms, progress=progress)
            written = _write(events if stream else final_events(events), fmt, stream, sink)
    err.print(_summary(engine.stats, written, out_path), markup=False)


def _write(events: Any, fmt: str, stream: bool, sink: IO[str]) -> int:
    if fmt == "jsonl":
        count = 0
        for event in events:
            sink.write(json.dumps(event.as_json(), ensure_ascii=False) + "\n")
            if stream:
                sink.flush()
            count += 1
        return count
    if fmt == "geojson":
        records = list(events)
        sink.write(json.dumps(events_geojson(records), ensure_ascii=False) + "\n")
        return len(records)
    if stream:
        count = 0
        for event in events:
            sink.write(event_line(event) + "\n")
            sink.flush()
            count += 1
        return count
    records = list(events)
    table = _table(records)
    if sink is sys.stdout:
        out.print(table)
    else:
        Console(file=sink, width=200, highlight=False).print(table)
    return len(records)


def events_geojson(events: list[Event]) -> dict[str, Any]:
    """A FeatureCollection of events: a point at each event's position, the event's JSON
    (without lat/lon) as properties."""
    features = []
    for event in events:
        properties = event.as_json()
        lon, lat = properties.pop("lon"), properties.pop("lat")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _metrics_text(event: Event) -> str:
    return ", ".join(
        f"{name} {value:.0f}" if abs(value) >= 10 else f"{name} {value:.2f}"
        for name, value in sorted(event.metrics.items())
        if value == value
    )


def event_line(event: Event) -> str:
    end = ms_to_iso(event.end_ms) if event.end_ms is not None else "-"
    vessels = ",".join(str(v) for v in event.vessels)
    return (
        f"{event.status:<9} L{event.level} {event.rule_id:<20} {vessels:<20} "
        f"{ms_to_iso(event.start_ms)} {end:<20} {event.zone or '-'} {_metrics_text(event)}"
    )


def _table(events: list[Event]) -> Table:
    table = Table(title=f"{len(events)} events", title_justify="left")
    for column in ("rule", "level", "status", "vessels", "start", "end", "zone", "metrics"):
        table.add_column(column)
    for event in events:
        table.add_row(
            event.rule_id,
            str(event.level),
            event.status,
            " ".join(str(v) for v in event.vessels),
            ms_to_iso(event.start_ms),
            ms_to_iso(event.end_ms) if event.end_ms is not None else "",
            event.zone or "",
            _metrics_text(event),
        )
    return table


def _summary(stats: EngineStats, written: int, out_path: Path | None) -> str:
    by_status = ", ".join(f"{count} {status}" for status, count in sorted(stats.events.items()))
    where = f" to {out_path}" if out_path is not None else ""
    text = (
        f"wrote {written} events{where}; {stats.positions:,} positions, {stats.ticks:,} ticks"
        f"{'; emitted ' + by_status if by_status else ''}"
    )
    if stats.late or stats.too_late:
        text += f"; {stats.late:,} late positions applied, {stats.too_late:,} too late (ignored)"
    return text


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {path}: cannot write ({exc.strerror})") from None
    with handle:
        yield handle


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A data-time progress bar on a terminal (not while streaming to it); nothing otherwise."""
    if not enabled or not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("detect"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("", total=None)

    def update(reached_ms: int, start_ms: int, end_ms: int) -> None:
        bar.update(
            task,
            total=end_ms - start_ms,
            completed=reached_ms - start_ms,
            description=ms_to_iso(reached_ms // 1000 * 1000),
        )

    with bar:
        yield update
