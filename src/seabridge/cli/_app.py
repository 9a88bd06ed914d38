"""The Typer application objects and the helpers every command shares."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from seabridge import __version__
from seabridge.errors import ConfigError, InputError, PackError, SeabridgeError
from seabridge.units import iso_to_ms

__all__ = [
    "app",
    "err",
    "out",
    "parse_bbox",
    "parse_time_ms",
    "quarantine_path_for",
    "tracks_app",
    "user_errors",
]

app = typer.Typer(
    name="seabridge",
    help="Seabridge: a shared maritime picture, a shared safety standard and a signed hotline "
    "between two maritime authorities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
tracks_app = typer.Typer(
    help="Query and export the track store.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(tracks_app, name="tracks")

# Off a terminal (pipes, CI logs) rich would wrap at 80 columns and cut table cells.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
# soft_wrap: an error message with a long path stays one line.
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 120
)


def _version(value: bool) -> None:
    if value:
        out.print(f"seabridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Seabridge command line."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Show Seabridge errors as one line on stderr and exit (2: bad input, 1: other).

    A broken pack is bad input too: packs are data a user writes or edits.
    """
    try:
        yield
    except (InputError, ConfigError, PackError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except SeabridgeError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def parse_time_ms(text: str | None, option: str) -> int | None:
    """An ISO 8601 option value in ms, or exit 2 naming the option."""
    if text is None:
        return None
    try:
        return iso_to_ms(text)
    except ValueError as exc:
        err.print(f"error: {option}: {exc}", markup=False)
        raise typer.Exit(2) from None


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``W,S,E,N`` in degrees, or exit 2 explaining the form."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        err.print(f"error: --bbox {text!r}: give W,S,E,N in degrees, e.g. 123,25,124.5,26.5")
        raise typer.Exit(2) from None
    return west, south, east, north


def quarantine_path_for(db: Path) -> Path:
    """The default quarantine file, beside the database: ``tracks.quarantine.jsonl``."""
    return db.with_name(db.stem + ".quarantine.jsonl")
