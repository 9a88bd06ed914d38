"""``seabridge node init|show|export-bundle`` and ``seabridge peer add|list``.

Thin commands: :mod:`seabridge.node` creates and validates the node directory, its keys and
certificates, and reads and writes peer bundles; this module parses options and presents. A
bad argument, node.toml or bundle is bad input (exit 2) and the message names the file and
the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from seabridge.cli._app import app, out, user_errors
from seabridge.clock import SystemClock
from seabridge.errors import InputError

if TYPE_CHECKING:  # imported when a command runs (CLI start-up time)
    from seabridge.node import NodeConfig

__all__ = ["node_app", "peer_app"]

node_app = typer.Typer(
    help="This node: create its directory, show it, export its public peer bundle.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
peer_app = typer.Typer(
    help="The peer nodes this node talks to: add one from its bundle, list them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(node_app, name="node")
app.add_typer(peer_app, name="peer")

DIR_HELP = "The node directory (holds node.toml, keys/, peers/)."


@node_app.command("init")
def init(
    directory: Path = typer.Argument(
        ..., metavar="DIR", help="A new or empty directory for the node."
    ),
    party: str = typer.Option(
        ..., "--party", metavar="ID", help="This node's party id, lower case (jcg)."
    ),
    name: str = typer.Option(
        ..., "--name", metavar="NAME", help="The node's name, shown to peers."
    ),
    federation_listen: str = typer.Option(
        "127.0.0.1:8443",
        "--federation-listen",
        metavar="HOST:PORT",
        help="HOST:PORT of the peer (mutual TLS) listener.",
    ),
    console_listen: str = typer.Option(
        "127.0.0.1:8080",
        "--console-listen",
        metavar="HOST:PORT",
        help="HOST:PORT of the console listener.",
    ),
    endpoint: list[str] = typer.Option(
        [],
        "--endpoint",
        metavar="URL",
        help="URL peers reach the federation listener at (repeat: primary, then backups); "
        "default https://HOST:PORT of --federation-listen.",
    ),
    pack: list[str] = typer.Option(
        ["ecs"], "--pack", metavar="PACK", help="A pack in use (repeatable)."
    ),
) -> None:
    """Create a node: node.toml, Ed25519 log and cosigner keys, TLS CA and certificate."""
    from seabridge.node import init_node

    with user_errors():
        node = init_node(
            directory,
            party,
            name,
            federation_listen,
            console_listen,
            SystemClock(),
            endpoints=endpoint,
            packs=pack,
        )
    out.print(f"created node {node.party} ({node.name}) in {node.dir.root}", markup=False)
    out.print(f"CA pin (read it to the peer over another channel): {node.ca_pin()}", markup=False)
    out.print(
        f"next: seabridge node export-bundle {directory} --out {node.party}.bundle.json",
        markup=False,
    )


@node_app.command("export-bundle")
def export(
    directory: Path = typer.Argument(..., metavar="DIR", help=DIR_HELP),
    out_file: Path = typer.Option(
        ..., "--out", metavar="FILE", help="Write the bundle (JSON) here; '-' for standard output."
    ),
) -> None:
    """Write the public peer bundle: verifier keys, CA certificate, endpoints. No secrets."""
    from seabridge.node import export_bundle, load_node

    with user_errors():
        bundle = export_bundle(load_node(directory), SystemClock())
        if str(out_file) == "-":
            typer.echo(bundle.to_json(), nl=False)
            return
        try:
            out_file.write_text(bundle.to_json(), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{out_file}: cannot write the bundle ({exc.strerror})") from None
    out.print(f"wrote {out_file}: bundle of {bundle.party}, CA pin {bundle.ca_pin}", markup=False)


@node_app.command("show")
def show(
    directory: Path = typer.Argument(..., metavar="DIR", help=DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the node's party, listeners, keys and peers."""
    from seabridge.node import load_node

    with user_errors():
        node = load_node(directory)
        summary = _summary(node)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for key in ("party", "name", "created", "federation_listen", "console_listen"):
        out.print(f"{key}: {summary[key]}", markup=False)
    out.print(f"endpoints: {', '.join(summary['endpoints'])}", markup=False)
    out.print(f"packs: {', '.join(summary['packs'])}", markup=False)
    for key in ("log_vkey", "cosigner_vkey", "ca_pin"):
        out.print(f"{key}: {summary[key]}", markup=False)
    out.print(f"peers: {', '.join(p['party'] for p in summary['peers']) or 'none'}", markup=False)


def _summary(node: NodeConfig) -> dict[str, Any]:
    return {
        "party": node.party,
        "name": node.name,
        "created": node.created,
        "directory": str(node.dir.root),
        "federation_listen": str(node.federation_listen),
        "console_listen": str(node.console_listen),
        "endpoints": list(node.endpoints),
        "packs": list(node.packs),
        "log_vkey": node.log_key().verifier.vkey(),
        "cosigner_vkey": node.cosigner_key().verifier.vkey(),
        "ca_pin": node.ca_pin(),
        "peers": [_peer_summary(node, peer.party) for peer in node.peers],
    }


def _peer_summary(node: NodeConfig, party: str) -> dict[str, Any]:
    peer = node.peer(party)
    return {
        "party": peer.party,
        "name": peer.name,
        "endpoints": list(peer.endpoints),
        "log_vkey": peer.log_vkey,
        "cosigner_vkey": peer.cosigner_vkey,
        "ca_pin": peer.ca_pin,
        "added": peer.added,
    }


@peer_app.command("add")
def add(
    directory: Path = typer.Argument(..., metavar="DIR", help=DIR_HELP),
    bundle_file: Path = typer.Argument(
        ..., metavar="BUNDLE", help="The peer's bundle (seabridge node export-bundle)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Replace a different peer of the same party already configured."
    ),
) -> None:
    """Add a peer node from its public bundle (pins its CA; check the pin with the peer)."""
    from seabridge.node import import_bundle, load_node
    from seabridge.node.bundle import read_bundle

    with user_errors():
        node = load_node(directory)
        bundle = read_bundle(bundle_file)
        known = any(peer.party == bundle.party for peer in node.peers)
        updated = import_bundle(node, bundle, SystemClock(), replace=replace)
    verb = "unchanged" if updated == node else ("replaced" if known else "added")
    out.print(f"{verb}: peer {bundle.party} ({bundle.name}), CA pin {bundle.ca_pin}", markup=False)


@peer_app.command("list")
def list_peers(
    directory: Path = typer.Argument(..., metavar="DIR", help=DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the peers: party, name, endpoints and CA pin."""
    from seabridge.node import load_node

    with user_errors():
        node = load_node(directory)
        peers = [_peer_summary(node, peer.party) for peer in node.peers]
    if as_json:
        typer.echo(json.dumps(peers, indent=2, ensure_ascii=False))
        return
    if not peers:
        out.print("no peers; add one with: seabridge peer add DIR BUNDLE", markup=False)
        return
    table = Table("party", "name", "endpoints", "CA pin", "added")
    for peer in peers:
        table.add_row(
            peer["party"], peer["name"], "\n".join(peer["endpoints"]), peer["ca_pin"], peer["added"]
        )
    out.print(table)
