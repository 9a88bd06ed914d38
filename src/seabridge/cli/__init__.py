"""The ``seabridge`` command line: thin commands that parse, call the domain packages, present.

Commands live one module per area and register themselves on :data:`app`. Errors that
Seabridge raises on purpose are shown as one line on stderr with exit code 2 for unusable
input or arguments and 1 for everything else; typer's own usage errors also exit with 2.
"""

from __future__ import annotations

from seabridge.cli import (  # noqa: F401  (registers the commands)
    demo,
    detect,
    hotline,
    incidents,
    ingest,
    node,
    report,
    report_incident,
    rulebook,
    serve,
    simulate,
    tracks,
    users,
    zones,
)
from seabridge.cli._app import app, tracks_app

__all__ = ["app", "main", "tracks_app"]


def main() -> None:
    """Entry point of the ``seabridge`` console script."""
    app()
