"""``seabridge report ...``: transparency and incident reports of a node (HTML, PDF, data).

Thin commands: :mod:`seabridge.reports` computes and renders; this module finds the node's
files, parses options and presents. Heavy dependencies (DuckDB, matplotlib, jinja2) are
imported when a command runs, never at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seabridge.cli._app import app, err, user_errors
from seabridge.errors import InputError

if TYPE_CHECKING:
    from seabridge.node.directory import NodeConfig
    from seabridge.reports.monthly_data import Period, TrackSource

__all__ = ["report_app"]

report_app = typer.Typer(
    help="Transparency and incident reports of a node: HTML, PDF and data files.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(report_app, name="report")

LANG_HELP = "Language of the report's own text: en, ja or zh (feature names: always all)."
NO_PDF_HELP = "Write the HTML and the data files only (no Chromium needed)."


def load_node_dir(node: Path) -> NodeConfig:
    """The node's configuration, or exit 2 saying ``node`` is not a node directory."""
    from seabridge.node.directory import load_node

    if not (node / "node.toml").is_file():
        raise InputError(
            f"--node {node}: not a node directory (no node.toml); see seabridge node init"
        )
    return load_node(node)


@contextmanager
def track_source(
    node: Path, archive: Path | None, month: str | None
) -> Iterator[tuple[TrackSource, Period]]:
    """Positions from ``--archive DIR`` or else the node's track store, and the report's month
    (``month``, or the month of the newest position). The store is opened read-only; while
    ``seabridge serve`` holds it, the month's positions and the vessels are read through the
    node's API into a temporary store (:func:`seabridge.cli.tracks.open_store`)."""
    from seabridge.cli.tracks import open_store, target
    from seabridge.node.apiclient import Mirror, NodeApi
    from seabridge.reports.monthly_data import TrackSource, month_period, newest_position_ms

    if archive is not None:
        source = TrackSource.from_archive(archive)
        try:
            yield (
                source,
                month_period(month, containing_ms=None if month else newest_position_ms(source)),
            )
        finally:
            source.con.close()
        return
    path, found = target(None, node)
    if found is None:
        if not path.exists():
            raise InputError(
                f"{path}: no track store; ingest data into the node or give --archive DIR"
            )
        with open_store(None, node, Mirror()) as store:
            source = TrackSource.from_store(store)
            yield (
                source,
                month_period(month, containing_ms=None if month else newest_position_ms(source)),
            )
        return
    newest: int | None = None
    if month is None:  # the newest position is the newest last_seen of the served vessels
        with NodeApi(node, found) as api:
            seen = [t for t in api.vessels().column("last_seen").to_pylist() if t is not None]
        newest = int(max(seen).timestamp() * 1000) if seen else None
    period = month_period(month, containing_ms=newest)
    wanted = Mirror(vessels=True, start_ms=period.start_ms, end_ms=period.end_ms)
    with open_store(None, node, wanted) as store:
        yield TrackSource.from_store(store), period


@report_app.command("monthly")
def monthly_command(
    node: Path = typer.Option(
        ...,
        "--node",
        help="The node directory (node.toml, tracks.duckdb, events.jsonl, state.sqlite).",
    ),
    month: str | None = typer.Option(
        None, "--month", help="YYYY-MM (UTC); default: the month of the newest position."
    ),
    lang: str = typer.Option("en", "--lang", help=LANG_HELP),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Directory for the HTML, PDF and data files; default DIR/reports."
    ),
    archive: Path | None = typer.Option(
        None,
        "--archive",
        help="Read positions from this Parquet archive (seabridge tracks export) instead of "
        "the track store.",
    ),
    no_pdf: bool = typer.Option(False, "--no-pdf", help=NO_PDF_HELP),
    generated: str | None = typer.Option(
        None,
        "--generated",
        help="Generation time to print on the report (e.g. 2026-06-01T00:00Z); default: "
        "none, so reruns are identical.",
    ),
) -> None:
    """Write the monthly transparency report of a node: HTML, PDF and every number as JSON/CSV.

    Vessel-days in each zone belt by flag and ship type (and in the form of the Japan Coast
    Guard's monthly counts), entries into the 12 nm belt, close-quarters events by level,
    AIS gaps, encounters, incidents with times to acknowledgement and resolution, and
    hotline delivery. The PDF is printed by headless Chromium (apt-get install chromium);
    docs/reports.md defines every number."""
    from seabridge import geo
    from seabridge.node.events import read_events
    from seabridge.packs import load_pack
    from seabridge.reports import check_lang
    from seabridge.reports.monthly import compute_monthly, write_monthly

    with user_errors():
        check_lang(lang)
        config = load_node_dir(node)
        pack = load_pack(config.packs[0] if config.packs else "ecs")
        features = geo.load_features(pack)
        zones = geo.load_zones(pack, features)
        events_path = node / "events.jsonl"
        state = node / "state.sqlite"
        with track_source(node, archive, month) as (source, period):
            report = compute_monthly(
                source,
                zones,
                read_events(events_path) if events_path.is_file() else (),
                state if state.is_file() else None,
                party=config.party,
                period=period,
                pack=f"{pack.id} v{pack.version}",
            )
            target = out_dir or node / "reports"
            files = write_monthly(
                report, target, lang, source=source, zones=zones, features=features,
                generated=generated, node_name=config.name, pdf_output=not no_pdf,
            )  # fmt: skip
    for path in (files.html, files.pdf, *files.data):
        if path is not None:
            err.print(f"wrote {path}", markup=False)
