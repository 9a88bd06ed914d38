"""Commands aimed at a node directory: is it being served, where is its track store, and the
credential the local CLI uses to read through it.

``seabridge serve`` writes ``DIR/serve.json`` (its process id and listener URLs, and the PEM
file that verifies an https console) when it starts and removes it on a clean stop; a file
whose process is gone is stale and ignored. Commands that take ``--db PATH`` also take
``--node DIR``: offline they open ``DIR/tracks.duckdb`` directly (:func:`tracks_path`); while
the node is served, the serving process holds that file (DuckDB allows one process per file),
so they read (and ``ingest`` writes) through the node's console API instead
(:mod:`seabridge.node.apiclient`), with the API token the serving node writes to
``DIR/keys/cli.token`` (:data:`CLI_TOKEN_FILE`) when it starts. This module never imports the
web layer or the CLI.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from seabridge.errors import AuthError, StoreLockedError
from seabridge.node._files import replace_file

__all__ = [
    "CLI_TOKEN_FILE",
    "SERVE_FILE",
    "UPLOAD_QUARANTINE",
    "Serving",
    "read_cli_token",
    "remove_cli_token",
    "remove_serve_file",
    "serving",
    "tracks_path",
    "write_cli_token",
    "write_serve_file",
]

SERVE_FILE: Final = "serve.json"
UPLOAD_QUARANTINE: Final = "upload.jsonl"
"""Rejected lines of files ingested through a served node's API, in ``DIR/quarantine/``."""
CLI_TOKEN_FILE: Final = Path("keys") / "cli.token"
"""The local CLI's API token of a serving node, relative to the node directory."""


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


def write_cli_token(root: Path, token: str) -> Path:
    """Write the local CLI's API token to ``root/keys/cli.token`` (mode 0600, atomically).

    Anyone who can read the node directory already holds its signing and TLS keys (``keys/``,
    0600), so a token kept there grants them nothing they do not have.
    """
    path = root / CLI_TOKEN_FILE
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    temporary.replace(path)
    return path


def remove_cli_token(root: Path) -> None:
    """Remove ``root/keys/cli.token`` (the node stopped serving; its token is revoked)."""
    (root / CLI_TOKEN_FILE).unlink(missing_ok=True)


def read_cli_token(root: Path) -> str:
    """The API token a serving node wrote for the local CLI.

    Raises:
        AuthError: the file is missing, unreadable or empty (names it and what to do).
    """
    path = root / CLI_TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise AuthError(
            f"{path}: no API token for the local CLI; the serving node writes it when it starts "
            "(restart `seabridge serve`, or stop it and run this command offline)"
        ) from None
    except OSError as exc:
        raise AuthError(
            f"{path}: cannot read the local CLI's API token ({exc.strerror}); run this command "
            "as the user who runs the node"
        ) from None
    if not token:
        raise AuthError(f"{path}: the local CLI's API token file is empty; restart the node")
    return token
