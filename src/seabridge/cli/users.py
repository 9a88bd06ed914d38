"""``seabridge users add|disable|enable|reset|role|list|token``: the console's users.

Thin commands over :class:`seabridge.node.users.UserStore` in the node's ``state.sqlite``;
they work while the node runs (SQLite WAL) and take effect at once (a disabled user's
sessions end, a role change applies to the next request). Passwords come from
``--password-file`` (its first line), ``--password-stdin`` (one line), or a hidden prompt
typed twice; never from a command-line option, which would sit in the shell history and
the process list. Nothing here prints or logs a password.

Exit codes: 0 done, 1 refused (the last enabled admin), 2 bad input (no node, unknown user
or role, a name or password that is not acceptable, a taken name). Wall time comes from
:data:`CLOCK`, which tests replace.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seabridge.cli._app import app, err, out, user_errors
from seabridge.clock import Clock, SystemClock
from seabridge.errors import InputError
from seabridge.units import ms_to_iso

if TYPE_CHECKING:
    from seabridge.node.users import User, UserStore

__all__ = ["CLOCK", "users_app"]

CLOCK: Clock = SystemClock()
"""Time stamps of users, sessions and tokens; tests replace it."""

users_app = typer.Typer(
    help="Console users: add, disable, enable, reset a password, change a role, list, and "
    "create API tokens.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(users_app, name="users")

NODE = typer.Option(
    None,
    "--node",
    metavar="DIR",
    envvar="SEABRIDGE_NODE",
    help="The node directory (default: $SEABRIDGE_NODE).",
)
NAME = typer.Argument(..., metavar="NAME", help="The user name (a-z, 0-9, '.', '_', '-').")
PASSWORD_FILE = typer.Option(
    None,
    "--password-file",
    metavar="FILE",
    help="Read the password from the first line of FILE (keep it 0600, delete it after).",
)
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from one line of standard input."
)
ROLE_HELP = "viewer (reads), operator (acts on incidents and the hotline), admin (users too)"


@contextmanager
def _store(node_dir: Path | None) -> Iterator[UserStore]:
    """The node's users; bad input exits 2, a refusal 1."""
    from seabridge.node import load_node
    from seabridge.node.users import UserStore

    with user_errors():
        if node_dir is None:
            raise InputError("give the node directory with --node DIR (or SEABRIDGE_NODE)")
        node = load_node(node_dir)
        with UserStore(node.dir.state, CLOCK, node.settings) as store:
            yield store


def _password(password_file: Path | None, password_stdin: bool) -> str:
    """The new password from the file, stdin or a hidden prompt typed twice."""
    with user_errors():
        if password_file is not None and password_stdin:
            raise InputError("give either --password-file or --password-stdin, not both")
        if password_file is not None:
            try:
                lines = password_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"--password-file {password_file}: cannot read ({exc})") from None
            return lines[0] if lines else ""
        if password_stdin:
            return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt("Password", hide_input=True, err=True)
    if typer.prompt("Again", hide_input=True, err=True) != first:
        err.print("error: the two passwords differ; nothing changed")
        raise typer.Exit(2)
    return first


def _show(verb: str, user: User) -> None:
    state = "disabled" if user.disabled else "enabled"
    out.print(f"{verb} user {user.name} ({user.role}, {state})", markup=False)


@users_app.command("add")
def add(
    name: str = NAME,
    node_dir: Path | None = NODE,
    role: str = typer.Option("viewer", "--role", metavar="ROLE", help=ROLE_HELP),
    password_file: Path | None = PASSWORD_FILE,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Add a console user with ROLE (default viewer) and a password of 8 or more characters."""
    password = _password(password_file, password_stdin)
    with _store(node_dir) as store:
        _show("added", store.add(name, password, role))


@users_app.command("disable")
def disable(name: str = NAME, node_dir: Path | None = NODE) -> None:
    """Disable a user: their sessions end and their API tokens are revoked at once."""
    with _store(node_dir) as store:
        _show("disabled", store.disable(name))


@users_app.command("enable")
def enable(name: str = NAME, node_dir: Path | None = NODE) -> None:
    """Enable a disabled user again (revoked API tokens stay revoked)."""
    with _store(node_dir) as store:
        _show("enabled", store.enable(name))


@users_app.command("reset")
def reset(
    name: str = NAME,
    node_dir: Path | None = NODE,
    password_file: Path | None = PASSWORD_FILE,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set a new password; the user's sessions end (API tokens stay valid)."""
    password = _password(password_file, password_stdin)
    with _store(node_dir) as store:
        _show("reset the password of", store.reset(name, password))


@users_app.command("role")
def role(
    name: str = NAME,
    new_role: str = typer.Argument(..., metavar="ROLE", help=ROLE_HELP),
    node_dir: Path | None = NODE,
) -> None:
    """Give a user another role; it applies to their next request."""
    with _store(node_dir) as store:
        _show("changed", store.set_role(name, new_role))


@users_app.command("list")
def list_users(
    node_dir: Path | None = NODE,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List the console's users (never their password hashes)."""
    from rich.table import Table

    with _store(node_dir) as store:
        users = store.list()
    if as_json:
        rows = [
            {
                "name": user.name,
                "role": user.role,
                "disabled": user.disabled,
                "created": ms_to_iso(user.created_ms),
                "updated": ms_to_iso(user.updated_ms),
            }
            for user in users
        ]
        typer.echo(json.dumps(rows))
        return
    table = Table(title=f"{len(users)} users", title_justify="left")
    for column in ("name", "role", "state", "created", "updated"):
        table.add_column(column)
    for user in users:
        state = "disabled" if user.disabled else "enabled"
        created, updated = ms_to_iso(user.created_ms), ms_to_iso(user.updated_ms)
        table.add_row(user.name, user.role, state, created, updated)
    out.print(table)


@users_app.command("token")
def token(
    name: str = NAME,
    node_dir: Path | None = NODE,
    label: str = typer.Option("", "--label", metavar="TEXT", help="What the token is for."),
) -> None:
    """Create an API token for NAME (for scripts: Authorization: Bearer TOKEN). The token is
    printed once, alone on standard output; only its hash is kept."""
    with _store(node_dir) as store:
        new = store.create_token(name, label)
    typer.echo(new.token)
    err.print(f"API token {new.info.id} of {name}: shown once, store it now", markup=False)
