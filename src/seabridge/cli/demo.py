"""``seabridge demo``: the most complete pipeline that exists, on built-in East China Sea data.

For now: the built-in NMEA sample (encoded with pyais, tag blocks, two receivers, a few
damaged lines) -> ingest -> track store -> vessel list, GeoJSON tracks and the Parquet
archive. Later issues extend it to detection, incidents and two federated nodes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.sample import sample_lines
from seabridge.cli._app import app, out, quarantine_path_for, user_errors
from seabridge.cli.ingest import _summary_table
from seabridge.cli.tracks import vessel_table
from seabridge.errors import InputError
from seabridge.tracks import OUTPUT_COLUMNS, TrackStore, write_table

VESSEL_EXAMPLE = 431999001  # KAIYO PATROL 7 in the built-in sample
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
    minutes: int = typer.Option(60, "--minutes", min=1, max=24 * 60, help="Sample length."),
) -> None:
    """Run the pipeline on the built-in East China Sea sample and print what it found."""
    with user_errors():
        _fresh_directory(out_dir)
        nmea = out_dir / "ecs-sample.nmea"
        nmea.write_text("\n".join(sample_lines(minutes)) + "\n", encoding="ascii")
        db = out_dir / "tracks.duckdb"
        quarantine = quarantine_path_for(db)
        with Quarantine(quarantine) as rejected, TrackStore.open(db) as store:
            summary = ingest([str(nmea)], store, rejected, IngestOptions())
            vessels = store.vessels()
            tracks = store.positions().select(list(OUTPUT_COLUMNS))
            archive = store.export_parquet(out_dir / "archive")
        write_table(tracks, "geojson", out_dir / "tracks.geojson", geometry="lines")
    out.print(f"Built-in sample: {nmea} ({minutes} min of East China Sea traffic)")
    out.print(_summary_table(summary, db, quarantine))
    out.print(vessel_table(vessels.to_pylist()))
    out.print(f"Tracks as GeoJSON lines: {out_dir / 'tracks.geojson'}")
    out.print(f"Parquet archive: {out_dir / 'archive'} ({archive.rows:,} positions)")
    out.print(
        f"Try: seabridge tracks query --db {db} --mmsi {VESSEL_EXAMPLE} --format jsonl | head"
    )
