"""``seabridge serve``: run a whole node (sources, pipeline, incidents, hotline, listeners).

Thin: :class:`seabridge.node.service.Node` is the running node and
:func:`seabridge.web.server.serve_service` runs it with the federation and console
listeners; this command opens the node, checks its TLS files up front, sets up logging and
runs it until SIGINT or SIGTERM. The node and web packages (uvicorn, FastAPI) are imported
when the command runs, not when the CLI starts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seabridge.cli._app import app, out, user_errors
from seabridge.clock import SystemClock
from seabridge.errors import InputError

if TYPE_CHECKING:
    from seabridge.node.service import Node

__all__ = ["serve"]


@app.command("serve")
def serve(
    directory: Path = typer.Option(
        ..., "--node", metavar="DIR", help="The node directory (holds node.toml, keys/, peers/)."
    ),
    federation_listen: str | None = typer.Option(
        None,
        "--federation-listen",
        metavar="HOST:PORT",
        help="Listen here instead of node.toml's federation.listen.",
    ),
    console_listen: str | None = typer.Option(
        None,
        "--console-listen",
        metavar="HOST:PORT",
        help="Serve the console here instead of node.toml's console.listen.",
    ),
    console_tls: str | None = typer.Option(
        None,
        "--console-tls",
        metavar="self",
        help="Serve the console over HTTPS with a certificate from the node's own CA for the "
        "listen host (keys/console.pem, issued on first use; keys/tls-ca.pem verifies it). "
        "Without it: HTTPS when node.toml's [console] names tls_cert and tls_key, else HTTP.",
    ),
    replay_speed: float | None = typer.Option(
        None, "--speed", min=0.0, help="Replace every simulator source's speed (0: at once)."
    ),
) -> None:
    """Run the node: its sources -> ingest -> detection -> incidents -> hotline, the
    federation listener (mutual TLS) and the console listener, until SIGINT or SIGTERM."""
    from seabridge.node import server_context
    from seabridge.node.client import tracks_path
    from seabridge.node.consoletls import console_context, self_issued
    from seabridge.node.directory import parse_address
    from seabridge.node.service import Node
    from seabridge.web.server import serve_service

    with user_errors():
        tracks_path(directory)  # refuses a node another `seabridge serve` runs, by name
        node = Node.open(directory, SystemClock(), replay_speed=replay_speed)
    config = node.config
    try:
        with user_errors():
            federation = (
                parse_address(federation_listen, "--federation-listen")
                if federation_listen is not None
                else config.federation_listen
            )
            console = (
                parse_address(console_listen, "--console-listen")
                if console_listen is not None
                else config.console_listen
            )
            server_context(config)  # the TLS files and the peers' pinned CAs, checked up front
            if console_tls not in (None, "self"):
                raise InputError(f"--console-tls {console_tls!r}: the only value is 'self'")
            tls = self_issued(config, console, node.clock) if console_tls else config.console_tls
            if tls is not None:
                console_context(tls)  # the console's certificate and key, checked up front
    except BaseException:
        node.close()
        raise
    has_console = importlib.util.find_spec("seabridge.web.app") is not None
    where = f"http://{console}"
    if tls is not None:
        where = f"https://{console}" + ("" if tls.ca is None else f" (verify with {tls.ca})")
    _announce(node, str(federation), where, has_console)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    with user_errors():
        asyncio.run(serve_service(node, federation=federation, console=console, console_tls=tls))
    out.print(f"node {config.party}: stopped")


def _announce(node: Node, federation: str, console: str, has_console: bool) -> None:
    config = node.config
    peers = ", ".join(f"{p.party} at {' then '.join(p.endpoints)}" for p in config.peers) or "none"
    sources = ", ".join(source.name for source in config.sources) or "none"
    out.print(f"node {config.party}: federation listener on https://{federation} (mutual TLS)")
    if has_console:
        out.print(f"node {config.party}: console on {console}", markup=False)
    else:
        out.print("the console is not available in this installation (no seabridge.web.app)")
    out.print(f"sources: {sources}", markup=False)
    out.print(f"delivering to peers: {peers}; Ctrl-C or SIGTERM stops", markup=False)
