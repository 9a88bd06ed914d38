"""``seabridge tracks query|export`` and ``seabridge vessels``: read the track store.

:func:`open_store` is how every command given ``--db PATH`` or ``--node DIR`` reaches a track
store: the file itself, read-only; or, while ``seabridge serve`` runs the node (and holds
the file), a temporary copy of what the command reads, fetched through the node's console
API with the filters pushed down (:mod:`seabridge.node.apiclient`).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from seabridge.cli._app import app, err, out, parse_bbox, parse_time_ms, tracks_app, user_errors
from seabridge.errors import InputError, StoreError
from seabridge.units import ms_to_iso

if TYPE_CHECKING:  # imported when a command runs: the track store pulls in DuckDB
    from seabridge.node.apiclient import Mirror, Progress
    from seabridge.node.client import Serving
    from seabridge.tracks import TrackStore

DB_HELP = "Track store (DuckDB file)."
NODE_HELP = (
    "A node directory instead of --db: its tracks.duckdb, or, while `seabridge serve` runs "
    "the node, its console API (with the token the node writes to DIR/keys/cli.token)."
)


def target(db: Path | None, node: Path | None) -> tuple[Path, Serving | None]:
    """The track store of ``--db PATH`` or ``--node DIR`` (exactly one), and the process
    serving the node (None: offline, or ``--db``).

    Raises:
        InputError: neither or both given, or DIR is not a node directory.
    """
    from seabridge.node.client import serving

    if (db is None) == (node is None):
        raise InputError("give the track store as --db PATH or a node as --node DIR (one of them)")
    if node is None:
        assert db is not None
        return db, None
    if not (node / "node.toml").is_file():
        raise InputError(
            f"--node {node}: not a node directory (no node.toml); see seabridge node init"
        )
    return node / "tracks.duckdb", serving(node)


@contextmanager
def open_store(db: Path | None, node: Path | None, mirror: Mirror) -> Iterator[TrackStore]:
    """The track store a reading command runs on: the file (read-only), or while the node is
    served a temporary store filled through its API with what ``mirror`` asks for (removed
    afterwards).

    Raises:
        InputError: see :func:`target`. StoreError: no store at the path, or the served node
        cannot be read. AuthError: its CLI token is missing or refused.
    """
    from seabridge.node.apiclient import NodeApi, mirror_store
    from seabridge.tracks import TrackStore

    path, found = target(db, node)
    if found is None:
        if not path.exists():
            raise StoreError(
                f"{path}: no track store here; create one with `seabridge ingest ... --db {path}`"
            )
        with TrackStore.open(path, read_only=True) as store:
            yield store
        return
    assert node is not None
    with (
        tempfile.TemporaryDirectory(prefix="seabridge-node-") as temporary,
        NodeApi(node, found) as api,
    ):
        with fetch_progress() as progress:
            store, rows = mirror_store(api, Path(temporary) / "tracks.duckdb", mirror, progress)
        what = f"{rows:,} positions" if mirror.positions else "the vessels"
        err.print(
            f"read {what} through the API of the node served by process {found.pid} ({api.url})",
            markup=False,
        )
        with store:
            yield store


@contextmanager
def fetch_progress() -> Iterator[Progress | None]:
    """A progress bar on stderr while fetching from or sending to a node (terminal only)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    if not err.is_terminal:
        yield None
        return
    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(f"node API: {what}", total=total or None)
        bar.update(tasks[what], completed=done, total=total or None)

    with bar:
        yield update


@tracks_app.command("query")
def query_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    node: Path | None = typer.Option(None, "--node", metavar="DIR", help=NODE_HELP),
    mmsi: int | None = typer.Option(None, "--mmsi", help="Only this vessel."),
    start: str | None = typer.Option(None, "--start", help="From this ISO 8601 time (included)."),
    end: str | None = typer.Option(None, "--end", help="Until this ISO 8601 time (excluded)."),
    bbox: str | None = typer.Option(
        None, "--bbox", help="W,S,E,N in degrees; W > E crosses the antimeridian."
    ),
    fmt: str = typer.Option("csv", "--format", help="csv, jsonl, geojson or parquet."),
    out_path: Path | None = typer.Option(
        None, "--out", help="Write here instead of stdout (needed for parquet)."
    ),
) -> None:
    """Positions, sorted by (mmsi, ts): mmsi, ts, lat, lon, sog_kn, cog_deg, heading_deg,
    nav_status, msg_type. Times are ISO 8601 UTC."""
    from seabridge.node.apiclient import Mirror
    from seabridge.tracks import OUTPUT_COLUMNS, write_table

    start_ms, end_ms = parse_time_ms(start, "--start"), parse_time_ms(end, "--end")
    box = parse_bbox(bbox)
    with user_errors():
        if fmt == "parquet" and out_path is None:
            raise InputError("--format parquet writes a binary file: give --out PATH")
        window = Mirror(bbox=box, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi)
        with open_store(db, node, window) as store:
            table = store.positions(bbox=box, start_ms=start_ms, end_ms=end_ms, mmsi=mmsi)
        table = table.select(list(OUTPUT_COLUMNS))
        write_table(table, fmt, out_path if out_path is not None else sys.stdout)  # type: ignore[arg-type]
    if out_path is not None:
        err.print(f"wrote {table.num_rows:,} positions to {out_path}", markup=False)


@tracks_app.command("export")
def export_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    node: Path | None = typer.Option(None, "--node", metavar="DIR", help=NODE_HELP),
    fmt: str = typer.Option("parquet", "--format", help="Only parquet: the archive format."),
    out_dir: Path = typer.Option(..., "--out", help="Directory for the Hive-partitioned archive."),
    start: str | None = typer.Option(None, "--start", help="From this ISO 8601 time (included)."),
    end: str | None = typer.Option(None, "--end", help="Until this ISO 8601 time (excluded)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
) -> None:
    """Write the archive: Parquet partitioned by day (day=YYYY-MM-DD), sorted by (mmsi, ts)
    inside each file, with row-group statistics."""
    from seabridge.node.apiclient import Mirror

    start_ms, end_ms = parse_time_ms(start, "--start"), parse_time_ms(end, "--end")
    with user_errors():
        if fmt != "parquet":
            raise InputError(
                f"--format {fmt}: the archive is parquet; use `tracks query` for {fmt}"
            )
        with open_store(db, node, Mirror(statics=True, start_ms=start_ms, end_ms=end_ms)) as store:
            result = store.export_parquet(out_dir, start_ms, end_ms, overwrite=overwrite)
    out.print(f"wrote {result.rows:,} positions in {len(result.files)} day files under {out_dir}")


@app.command("vessels")
def vessels_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    node: Path | None = typer.Option(None, "--node", metavar="DIR", help=NODE_HELP),
    fmt: str = typer.Option("table", "--format", help="table, csv or jsonl."),
) -> None:
    """Vessels seen: mmsi, name, callsign, imo, ship_type, flag, last_seen."""
    from seabridge.node.apiclient import Mirror
    from seabridge.tracks import write_table

    with user_errors():
        if fmt not in ("table", "csv", "jsonl"):
            raise InputError(f"--format {fmt}: choose table, csv or jsonl")
        with open_store(db, node, Mirror(positions=False, vessels=True)) as store:
            vessels = store.vessels()
        if fmt != "table":
            write_table(vessels, fmt, sys.stdout)  # type: ignore[arg-type]
            return
    out.print(vessel_table(vessels.to_pylist()))


def vessel_table(rows: list[dict[str, object]]) -> Table:
    """A Rich table of vessel rows (as returned by ``TrackStore.vessels``)."""
    table = Table(title=f"{len(rows)} vessels", title_justify="left")
    for column in ("mmsi", "name", "callsign", "imo", "ship_type", "flag", "last_seen"):
        table.add_column(column, justify="right" if column in ("mmsi", "imo") else "left")
    for row in rows:
        seen = row["last_seen"]
        last_seen = ms_to_iso(int(seen.timestamp() * 1000)) if seen is not None else ""  # type: ignore[attr-defined]
        cells = [row[c] for c in ("mmsi", "name", "callsign", "imo", "ship_type", "flag")]
        table.add_row(*["" if c is None else str(c) for c in cells], last_seen)
    return table
