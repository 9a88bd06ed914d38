"""``seabridge report ...``: transparency and incident reports of a node (HTML, PDF, data).

Thin commands: :mod:`seabridge.reports` computes and renders; this module finds the node's
files, parses options and presents. Heavy dependencies (DuckDB, matplotlib, jinja2) are
imported when a command runs, never at start-up.
"""

from __future__ import annotations

import typer

from seabridge.cli._app import app

__all__ = ["report_app"]

report_app = typer.Typer(
    help="Transparency and incident reports of a node: HTML, PDF and data files.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(report_app, name="report")
