"""``seabridge incidents list|show|ack|note|resolve|from-events`` and
``seabridge agreements list|propose|countersign``.

Thin commands over :class:`seabridge.node.incidents.IncidentsService`: each opens the node's
ledger and incidents, brings them up to date (consumes what the peers' mirrors hold, sends
what is pending) and does one thing. Messages are only signed and stored here; delivery is the
running node's job (``seabridge serve``). Heavy modules are imported inside the commands.

Exit codes: 0 done, 1 a refusal by the record or a proposal refused by ``agreements
countersign`` (hash mismatch), 2 usage or input error (no node, unknown incident, a step the
lifecycle does not allow, an unreadable events file). Wall time comes from :data:`CLOCK`,
which tests replace.
"""

from __future__ import annotations

import getpass
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from seabridge.cli._app import app, err, out, user_errors
from seabridge.clock import Clock, SystemClock
from seabridge.errors import IncidentError, InputError, MalformedError, UnknownPeerError

if TYPE_CHECKING:
    from seabridge.incidents import Change
    from seabridge.node.incidents import IncidentsService

__all__ = ["CLOCK", "agreements_app", "incidents_app"]

CLOCK: Clock = SystemClock()
"""Wall time of every command here (deadlines, timeline); tests replace it."""

incidents_app = typer.Typer(
    help="Incidents: list and show them, acknowledge, note, resolve; open them from events.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
agreements_app = typer.Typer(
    help="Agreements on the rulebook and the mechanism: propose, countersign, list.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(incidents_app, name="incidents")
app.add_typer(agreements_app, name="agreements")

NODE = typer.Option(
    None,
    "--node",
    metavar="DIR",
    envvar="SEABRIDGE_NODE",
    help="The node directory (default: $SEABRIDGE_NODE).",
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON.")
USER = typer.Option(
    None, "--user", metavar="NAME", help="Who records it (default: the login name)."
)
TEXT = typer.Option("", "--text", metavar="TEXT", help="A remark kept in the timeline.")
INCIDENT = typer.Argument(..., metavar="ID", help="The incident id (e.g. jcg-2026-0001).")


@contextmanager
def _service(node_dir: Path | None) -> Iterator[IncidentsService]:
    """The node's incidents over its ledger, brought up to date; bad input exits 2."""
    from seabridge.node import load_node
    from seabridge.node.incidents import IncidentsService
    from seabridge.node.runtime import open_ledger

    with user_errors():
        try:
            if node_dir is None:
                raise InputError("give the node directory with --node DIR (or SEABRIDGE_NODE)")
            node = load_node(node_dir)
            with (
                open_ledger(node, CLOCK) as ledger,
                IncidentsService(node, ledger, CLOCK) as service,
            ):
                service.start()
                yield service
        except (IncidentError, UnknownPeerError, MalformedError) as exc:
            raise InputError(str(exc)) from None


def _user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a container
        return "operator"


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=None))


def _changes(changes: list[Change], as_json: bool) -> None:
    if as_json:
        _echo_json([change.as_json() for change in changes])
        return
    for change in changes:
        out.print(f"{change.incident_id}: {change.kind} ({change.status})", markup=False)


# --- incidents -------------------------------------------------------------------------------


@incidents_app.command("list")
def list_incidents(
    node_dir: Path | None = NODE,
    status: str | None = typer.Option(
        None, "--status", metavar="STATUS", help="Only incidents in this state (e.g. notified)."
    ),
    as_json: bool = JSON_OUT,
) -> None:
    """List incidents, oldest first (--json: a JSON array of incident objects)."""
    from rich.table import Table

    with _service(node_dir) as service:
        rows = service.manager.list(status)
    if as_json:
        _echo_json(rows)
        return
    table = Table(title=f"{len(rows)} incidents", title_justify="left")
    for column in ("id", "status", "level", "kind", "origin", "vessels", "peers", "rulebook"):
        table.add_column(column)
    for row in rows:
        rulebook = row["rulebook"]
        table.add_row(
            row["id"],
            row["status"] + (" (flagged)" if row["flagged"] else ""),
            str(row["level"]),
            row["kind"],
            row["origin"],
            " ".join(str(v) for v in row["vessels"]),
            ", ".join(row["peers"]),
            "" if rulebook is None else ("agreed" if rulebook["agreed"] else "NOT AGREED"),
        )
    out.print(table)


@incidents_app.command("show")
def show(
    incident_id: str = INCIDENT, node_dir: Path | None = NODE, as_json: bool = JSON_OUT
) -> None:
    """Show one incident: events, hotline thread, deadlines, timeline (--json: one object)."""
    with _service(node_dir) as service:
        detail = service.manager.get(incident_id)
    if as_json:
        _echo_json(detail)
        return
    out.print(
        f"{detail['id']}: {detail['kind']} {detail['status']} level {detail['level']} "
        f"(origin {detail['origin']}; peers {', '.join(detail['peers']) or 'none'})",
        markup=False,
    )
    rulebook = detail.get("rulebook")
    if rulebook is not None and rulebook.get("warning"):
        out.print(f"WARNING: {rulebook['warning']}", markup=False)
    assert node_dir is not None  # _service refused a missing --node
    statics = _statics(node_dir, [int(v["mmsi"]) for v in detail.get("vessels", [])])
    out.print("vessels:", markup=False)
    for vessel in detail.get("vessels", []):
        out.print(f"  {_vessel_line(vessel, statics.get(int(vessel['mmsi'])))}", markup=False)
    out.print(f"events ({len(detail.get('events', []))}):", markup=False)
    for event in detail.get("events", []):
        out.print(f"  {_event_line(event)}", markup=False)
    out.print(f"hotline thread ({len(detail.get('thread', []))}):", markup=False)
    for message in detail.get("thread", []):
        level = "" if message["level"] is None else f" level {message['level']}"
        template = f" [{message['template']}]" if message.get("template") else ""
        arrow = "->" if message["direction"] == "out" else "<-"
        out.print(
            f"  {message['created']} {arrow} {message['peer']} {message['kind']}{level}"
            f"{template} ({message['origin']}#{message['seq']})",
            markup=False,
        )
    for msg_id in detail.get("pending", []):
        out.print(f"  pending (not signed yet: no peer): {msg_id}", markup=False)
    if detail.get("deadlines"):
        out.print("deadlines:", markup=False)
    for deadline in detail.get("deadlines", []):
        out.print(
            f"  {deadline['due']} {deadline['peer']} level {deadline['level']}: "
            f"{deadline['state']} ({deadline['origin']}#{deadline['seq']})",
            markup=False,
        )
    out.print("timeline:", markup=False)
    for step in detail.get("timeline", []):
        out.print(
            f"  {step['at']} {step['action']}: {step['from'] or '-'} -> {step['to']} "
            f"({step['cause']}, {step['actor']})",
            markup=False,
        )


def _vessel_line(vessel: dict[str, Any], static: dict[str, Any] | None) -> str:
    parts = [str(vessel["mmsi"])]
    static = static or vessel.get("static") or {}
    parts += [
        f"{key} {static[key]}" for key in ("name", "callsign", "ship_type") if static.get(key)
    ]
    if vessel.get("party"):
        parts.append(f"fleet of {vessel['party']}")
    if vessel.get("flag_party"):
        parts.append(f"flag {vessel['flag_party']}")
    return ", ".join(parts)


def _event_line(event: dict[str, Any]) -> str:
    span = f"{event.get('start')} .. {event.get('end') or 'open'}"
    zone = f" in {event['zone']}" if event.get("zone") else ""
    metrics = event.get("metrics") or {}
    shown = ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()
    )
    return f"{event.get('kind')} level {event.get('level')} {event.get('status')}{zone}: {span}" + (
        f" ({shown})" if shown else ""
    )


def _statics(node_dir: Path, mmsis: list[int]) -> dict[int, dict[str, Any]]:
    """Static reports of ``mmsis`` from the node's track store (through the node's API while
    ``seabridge serve`` holds it: :func:`seabridge.cli.tracks.open_store`); none before any
    ingest."""
    from seabridge.cli.tracks import open_store
    from seabridge.node.apiclient import Mirror

    if not mmsis or not (node_dir / "tracks.duckdb").exists():
        return {}
    wanted = set(mmsis)
    with open_store(None, node_dir, Mirror(positions=False, vessels=True)) as store:
        rows = store.vessels().to_pylist()
    return {int(row["mmsi"]): row for row in rows if int(row["mmsi"]) in wanted}


def _operator(action: str, incident_id: str, node_dir: Path | None, **kwargs: str) -> list[Change]:
    with _service(node_dir) as service:
        changes: list[Change] = getattr(service.manager, f"operator_{action}")(
            incident_id, **kwargs
        )
    return changes


@incidents_app.command("ack")
def ack(
    incident_id: str = INCIDENT,
    node_dir: Path | None = NODE,
    text: str = TEXT,
    user: str | None = USER,
    as_json: bool = JSON_OUT,
) -> None:
    """Record the counterpart's acknowledgement, received outside the hotline (radio,
    telephone); the incident's timers stop."""
    _changes(_operator("ack", incident_id, node_dir, user=_user(user), text=text), as_json)


@incidents_app.command("note")
def note(
    incident_id: str = INCIDENT,
    node_dir: Path | None = NODE,
    text: str = typer.Option(..., "--text", metavar="TEXT", help="The note."),
    user: str | None = USER,
    as_json: bool = JSON_OUT,
) -> None:
    """Add an operator's note to the incident's timeline (its state does not change)."""
    _changes(_operator("note", incident_id, node_dir, user=_user(user), text=text), as_json)


@incidents_app.command("resolve")
def resolve(
    incident_id: str = INCIDENT,
    node_dir: Path | None = NODE,
    text: str = TEXT,
    user: str | None = USER,
    as_json: bool = JSON_OUT,
) -> None:
    """Declare the situation resolved; the incident's timers stop."""
    _changes(_operator("resolve", incident_id, node_dir, user=_user(user), text=text), as_json)


@incidents_app.command("from-events")
def from_events(
    events_path: Path = typer.Argument(
        ..., metavar="EVENTS.jsonl", help="Events written by `seabridge detect --format jsonl`."
    ),
    node_dir: Path | None = NODE,
    as_json: bool = JSON_OUT,
) -> None:
    """Open and update incidents from the output of `seabridge detect` (batch use, tests).

    Notifications to a peer are signed and stored for delivery; on a node with no peer yet
    they wait in the incidents outbox and are signed once the peer is added."""
    with _service(node_dir) as service:
        changes, events = service.apply_events_file(events_path)
        warnings = sorted(
            {w for e in events if (w := service.rulebook_warning(e.rulebook)) is not None}
        )
        pending = service.pending()
    counts = Counter(change.kind for change in changes)
    summary: dict[str, Any] = {
        "events": len(events),
        "changes": dict(sorted(counts.items())),
        "incidents": sorted({c.incident_id for c in changes if c.incident_id}),
        "sent": counts.get("sent", 0),
        "pending": pending,
        "warnings": warnings,
    }
    if as_json:
        _echo_json(summary)
        return
    done = ", ".join(f"{n} {kind}" for kind, n in summary["changes"].items()) or "no change"
    out.print(
        f"{len(events)} events: {done}; {summary['sent']} messages signed, {pending} pending",
        markup=False,
    )
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False)


# --- agreements ------------------------------------------------------------------------------


@agreements_app.command("list")
def agreements_list(node_dir: Path | None = NODE, as_json: bool = JSON_OUT) -> None:
    """Show every proposed document version and hash, and which are jointly agreed."""
    from rich.table import Table

    with _service(node_dir) as service:
        rows = service.agreements()
        own = service.documents()
    if as_json:
        _echo_json(rows)
        return
    table = Table(title="agreements", title_justify="left")
    for column in ("document", "sha256", "proposed by", "countersigned by", "agreed", "ours"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["document"],
            row["sha256"][:16],
            ", ".join(row["proposed_by"]),
            ", ".join(row["countersigned_by"]),
            "yes" if row["agreed"] else "NO",
            "yes" if row["own"] else "no",
        )
    out.print(table)
    for document, sha256 in sorted(own.items()):
        if not any(r["document"] == document and r["sha256"] == sha256 for r in rows):
            out.print(f"not proposed yet: {document} {sha256}", markup=False)


@agreements_app.command("propose")
def propose(node_dir: Path | None = NODE, as_json: bool = JSON_OUT) -> None:
    """Propose the node's pack rulebook(s) and mechanism to every peer, by canonical SHA-256
    (sending again returns the stored proposals)."""
    with _service(node_dir) as service:
        sent = service.propose()
    if as_json:
        _echo_json(sent)
        return
    for row in sent:
        out.print(
            f"proposed {row['document']} sha256 {row['sha256']} to {row['peer']} "
            f"(seq {row['seq']}; delivered by the running node)",
            markup=False,
        )
    if not sent:
        out.print("no peer to propose to; add one with seabridge peer add", markup=False)


@agreements_app.command("countersign")
def countersign(node_dir: Path | None = NODE, as_json: bool = JSON_OUT) -> None:
    """Countersign the peers' proposals whose hash matches this node's own copy; refuse the
    others (exit 1), showing both hashes."""
    with _service(node_dir) as service:
        result = service.countersign()
    if as_json:
        _echo_json({"signed": result.signed, "refused": result.refused})
    else:
        for row in result.signed:
            out.print(
                f"countersigned {row['document']} sha256 {row['sha256']} of {row['peer']}",
                markup=False,
            )
        if not result.signed and not result.refused:
            out.print("no proposal waiting for a countersignature", markup=False)
    for row in result.refused:
        err.print(f"refused: {row['peer']} seq {row['seq']}: {row['reason']}", markup=False)
    if result.refused:
        raise typer.Exit(1)
