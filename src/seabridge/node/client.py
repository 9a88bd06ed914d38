"""Commands aimed at a node directory: is it being served, and where is its track store.

``seabridge serve`` writes ``DIR/serve.json`` (its process id and listener URLs) when it
starts and removes it on a clean stop; a file whose process is gone is stale and ignored.
Commands that take ``--db PATH`` also take ``--node DIR``: offline they open
``DIR/tracks.duckdb`` directly (:func:`tracks_path`); while the node is served, the serving
process holds that file (DuckDB allows one process per file), so they are refused before
DuckDB is touched, with a message naming the running node's console API instead of a lock
error. This module never imports the web layer or the CLI.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from seabridge.errors import StoreLockedError
from seabridge.node._files import replace_file

__all__ = [
    "SERVE_FILE",
    "Serving",
    "remove_serve_file",
    "serving",
    "tracks_path",
    "write_serve_file",
]

SERVE_FILE: Final = "serve.json"


@dataclass(frozen=True, slots=True)
class Serving:
    """A running ``seabridge serve`` of a node directory."""

    pid: int
    console: str | None
    federation: str
    console_ca: str | None = None  # a PEM file to verify an https console listener with


def write_serve_file(
    root: Path, console: str | None, federation: str, console_ca: str | None = None
) -> None:
    """Record that this process serves the node in ``root`` (``console_ca``: the PEM file that
    verifies an https console listener, for commands that read through its API)."""
    data = {"pid": os.getpid(), "console": console, "federation": federation}
    if console_ca is not None:
        data["console_ca"] = console_ca
    replace_file(root / SERVE_FILE, (json.dumps(data) + "\n").encode())


def remove_serve_file(root: Path) -> None:
    """Forget the record (only if it is this process's)."""
    found = _read(root)
    if found is not None and found.pid == os.getpid():
        (root / SERVE_FILE).unlink(missing_ok=True)


def _read(root: Path) -> Serving | None:
    try:
        data = json.loads((root / SERVE_FILE).read_text(encoding="utf-8"))
        ca = data.get("console_ca")
        return Serving(
            int(data["pid"]),
            data.get("console"),
            str(data["federation"]),
            None if ca is None else str(ca),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def serving(root: Path) -> Serving | None:
    """The process serving the node in ``root``, or None (no record, or a stale one)."""
    found = _read(root)
    if found is None or not _alive(found.pid):
        return None
    return found


def tracks_path(root: Path) -> Path:
    """``DIR/tracks.duckdb`` of a node that is not being served.

    Raises:
        StoreLockedError: the node is served; the message names the process and its API.
    """
    found = serving(root)
    if found is not None and found.pid != os.getpid():
        api = f"{found.console}/api" if found.console else "its console API"
        raise StoreLockedError(
            f"{root}: the node is being served by process {found.pid}, which holds its track "
            f"store; read through the running node's API ({api}: tracks, vessels, events), "
            "or stop `seabridge serve` and run this command again"
        )
    return root / "tracks.duckdb"
