"""``seabridge report incident ID --node DIR``: the joint incident report (HTML, PDF, data).

Thin: reads the incident's vessels and time window, opens the node's track store for it with
:func:`seabridge.cli.tracks.open_store` (the file read-only, or while ``seabridge serve`` holds
it, the window fetched through the node's API) and calls
:func:`seabridge.reports.incident.incident_report`. ``state.sqlite`` is only read (read-only
connection), so a served node's record is safe. Heavy modules are imported when it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seabridge.cli._app import out, user_errors
from seabridge.cli.report import report_app
from seabridge.errors import IncidentError, InputError

if TYPE_CHECKING:
    import pyarrow as pa

    from seabridge.reports.incident_data import PositionsFn
    from seabridge.tracks import TrackStore

__all__ = ["incident_command"]


@report_app.command("incident")
def incident_command(
    incident_id: str = typer.Argument(..., metavar="ID", help="The incident (e.g. jcg-000002)."),
    node_dir: Path = typer.Option(..., "--node", metavar="DIR", help="The node directory."),
    lang: str = typer.Option("en", "--lang", metavar="LANG", help="en, ja or zh."),
    out_dir: Path | None = typer.Option(
        None, "--out", metavar="DIR", help="Write the files here (default: DIR/reports)."
    ),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Write HTML and data only (no Chromium)."),
) -> None:
    """The joint incident report: map of the tracks with the CPA geometry, timeline, hotline
    entries with their inclusion proofs (check each with ledger verify-proof), metrics. Writes
    incident-ID.html, .pdf, .json (every number and its query) and one proof-*.json per entry."""
    from seabridge.cli.tracks import open_store, target
    from seabridge.node import load_node
    from seabridge.node.apiclient import Mirror
    from seabridge.reports.i18n import check_lang
    from seabridge.reports.incident import incident_report, incident_window

    with user_errors(), ExitStack() as stack, _unknown_incident():
        check_lang(lang)
        node = load_node(node_dir)
        _, start_ms, end_ms = incident_window(node.dir.state, incident_id)
        path, served = target(None, node.dir.root)
        store: TrackStore | None = None
        if served is not None or path.exists():  # a node that never ingested has no store
            window = Mirror(vessels=True, start_ms=start_ms, end_ms=end_ms)
            store = stack.enter_context(open_store(None, node.dir.root, window))
        files = incident_report(
            node.dir.state,
            incident_id,
            node.party,
            out_dir if out_dir is not None else node.dir.reports,
            lang,
            events_path=node.dir.root / "events.jsonl",
            positions=None if store is None else _positions(store),
            vessel_names=None if store is None else _names(store),
            packs=node.packs,
            node=f"{node.name} ({node.party})",
            pdf=not no_pdf,
        )
    for written in (files.html, files.pdf, *files.data):
        if written is not None:
            out.print(f"wrote {written}", markup=False, soft_wrap=True)


@contextmanager
def _unknown_incident() -> Iterator[None]:
    """An unknown incident id is bad input (exit 2), as in ``seabridge incidents show``."""
    try:
        yield
    except IncidentError as exc:
        raise InputError(str(exc)) from None


def _positions(store: TrackStore) -> PositionsFn:
    def positions(mmsi: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        return store.positions(start_ms=start_ms, end_ms=end_ms, mmsi=list(mmsi))

    return positions


def _names(store: TrackStore) -> dict[int, str]:
    return {int(row["mmsi"]): row["name"] for row in store.vessels().to_pylist() if row["name"]}
