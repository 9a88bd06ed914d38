"""Generated documentation pages: the CLI reference (from ``--help``), the settings table
and the rule kinds (from their parameter tables).

``python -m seabridge.cli._docs DOCS_DIR`` (``make docs``) writes them; a test regenerates
them and fails when the committed pages have drifted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.config import settings_markdown
from seabridge.detect import rules_markdown

__all__ = ["cli_reference", "generated_pages", "main"]

_WIDTH = "100"


def _command_paths(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        paths.append((*prefix, name))
    for sub in group.registered_groups:
        if sub.typer_instance is not None and sub.name:
            paths.append((*prefix, sub.name))
            paths.extend(_command_paths(sub.typer_instance, (*prefix, sub.name)))
    return sorted(paths)


def _help(path: tuple[str, ...]) -> str:
    runner = CliRunner()
    result = runner.invoke(
        app, [*path, "--help"], env={"COLUMNS": _WIDTH, "TERM": "dumb", "NO_COLOR": "1"}
    )
    if result.exit_code != 0:
        raise RuntimeError(f"`seabridge {' '.join(path)} --help` failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip().splitlines())


def cli_reference() -> str:
    """The CLI reference page: every command's ``--help``."""
    sections = [
        "# CLI reference",
        "",
        "Generated from `seabridge ... --help` by `make docs`; a test keeps it current.",
        "",
        "## seabridge",
        "",
        "```text",
        _help(()),
        "```",
    ]
    for path in _command_paths(app):
        sections += ["", f"## seabridge {' '.join(path)}", "", "```text", _help(path), "```"]
    return "\n".join(sections) + "\n"


def generated_pages() -> dict[str, str]:
    """File name in ``docs/`` -> its generated text."""
    return {
        "cli.md": cli_reference(),
        "settings.md": settings_markdown(),
        "rules.md": rules_markdown(),
    }


def main(argv: list[str]) -> int:
    docs = Path(argv[0]) if argv else Path("docs")
    os.environ["COLUMNS"] = _WIDTH
    docs.mkdir(exist_ok=True)
    for name, text in generated_pages().items():
        (docs / name).write_text(text, encoding="utf-8")
        print(f"wrote {docs / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
