"""``seabridge tracks query|export`` and ``seabridge vessels``: read the track store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from seabridge.cli._app import app, err, out, parse_bbox, parse_time_ms, tracks_app, user_errors
from seabridge.errors import InputError, StoreError
from seabridge.units import ms_to_iso

if TYPE_CHECKING:  # imported when a command runs: the track store pulls in DuckDB
    from seabridge.tracks import TrackStore

DB_HELP = "Track store (DuckDB file)."
NODE_HELP = (
    "A node directory instead of --db: its tracks.duckdb (refused, naming the node's API, "
    "while `seabridge serve` runs it)."
)


def resolve_db(db: Path | None, node: Path | None) -> Path:
    """The track store of ``--db PATH`` or ``--node DIR`` (exactly one).

    Raises:
        InputError: neither or both given, or DIR is not a node directory.
        StoreLockedError: the node is being served (its API is named).
    """
    from seabridge.node.client import tracks_path

    if (db is None) == (node is None):
        raise InputError("give the track store as --db PATH or a node as --node DIR (one of them)")
    if node is None:
        assert db is not None
        return db
    if not (node / "node.toml").is_file():
        raise InputError(
            f"--node {node}: not a node directory (no node.toml); see seabridge node init"
        )
    return tracks_path(node)


def _open(db: Path | None, node: Path | None = None) -> TrackStore:
    from seabridge.tracks import TrackStore

    db = resolve_db(db, node)
    if not db.exists():
        raise StoreError(
            f"{db}: no track store here; create one with `seabridge ingest ... --db {db}`"
        )
    return TrackStore.open(db, read_only=True)


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
    from seabridge.tracks import OUTPUT_COLUMNS, write_table

    start_ms, end_ms = parse_time_ms(start, "--start"), parse_time_ms(end, "--end")
    box = parse_bbox(bbox)
    with user_errors():
        if fmt == "parquet" and out_path is None:
            raise InputError("--format parquet writes a binary file: give --out PATH")
        with _open(db, node) as store:
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
    start_ms, end_ms = parse_time_ms(start, "--start"), parse_time_ms(end, "--end")
    with user_errors():
        if fmt != "parquet":
            raise InputError(
                f"--format {fmt}: the archive is parquet; use `tracks query` for {fmt}"
            )
        with _open(db, node) as store:
            result = store.export_parquet(out_dir, start_ms, end_ms, overwrite=overwrite)
    out.print(f"wrote {result.rows:,} positions in {len(result.files)} day files under {out_dir}")


@app.command("vessels")
def vessels_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    node: Path | None = typer.Option(None, "--node", metavar="DIR", help=NODE_HELP),
    fmt: str = typer.Option("table", "--format", help="table, csv or jsonl."),
) -> None:
    """Vessels seen: mmsi, name, callsign, imo, ship_type, flag, last_seen."""
    from seabridge.tracks import write_table

    with user_errors():
        if fmt not in ("table", "csv", "jsonl"):
            raise InputError(f"--format {fmt}: choose table, csv or jsonl")
        with _open(db, node) as store:
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
