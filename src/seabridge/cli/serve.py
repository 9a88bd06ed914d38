"""``seabridge serve``: run a node's federation listener (mutual TLS) and its hotline delivery.

Thin: :func:`seabridge.web.server.serve_node` runs the listener, the delivery loop and the
incidents round; this command loads the node, checks its TLS files up front, sets up logging
and runs it until SIGINT or SIGTERM. The node and web packages (uvicorn, FastAPI) are imported
when the command runs, not when the CLI starts.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from seabridge.cli._app import app, out, user_errors
from seabridge.clock import SystemClock

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
) -> None:
    """Run the federation listener (mutual TLS) and deliver hotline messages to the peers."""
    from seabridge.node import load_node, server_context
    from seabridge.node.directory import parse_address
    from seabridge.web.server import serve_node

    with user_errors():
        node = load_node(directory)
        address = (
            parse_address(federation_listen, "--federation-listen")
            if federation_listen is not None
            else node.federation_listen
        )
        server_context(node)  # the TLS files and the peers' pinned CAs, checked up front
    peers = ", ".join(f"{p.party} at {' then '.join(p.endpoints)}" for p in node.peers) or "none"
    out.print(f"node {node.party}: federation listener on https://{address} (mutual TLS)")
    out.print(f"delivering to peers: {peers}; Ctrl-C or SIGTERM stops", markup=False)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    with user_errors():
        asyncio.run(serve_node(node, SystemClock(), address=address))
    out.print(f"node {node.party}: stopped")
