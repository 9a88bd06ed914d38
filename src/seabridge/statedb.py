"""The node's ``state.sqlite`` conventions, shared by every store in it.

Ledger, incidents and users keep their tables in one SQLite file (DESIGN.md, Storage). Each
store opens its own connection the same way (autocommit; WAL; ``synchronous=FULL``; foreign
keys), keeps its own schema-version table, and migrates with statements split so that no
``executescript`` commits behind the transaction's back. Ground floor: imports nothing of
Seabridge but :mod:`seabridge.errors`; each store passes its own error class.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from seabridge.errors import SeabridgeError

__all__ = ["connect", "migrate", "split_statements", "transaction"]


def connect(
    path: str | Path, error: type[SeabridgeError], what: str, *, timeout_s: float = 10.0
) -> sqlite3.Connection:
    """An autocommit connection to ``path`` in WAL mode with ``synchronous=FULL``; ``what``
    names the store in errors ("ledger database").

    Raises:
        error: the file cannot be opened, is not a database, or refuses WAL.
    """
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=timeout_s
        )
    except sqlite3.Error as exc:
        raise error(f"{path}: cannot open the {what} ({exc})") from None
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise error(f"{path}: cannot switch the database to WAL (mode is {mode})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise error(f"{path}: not a usable {what} ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` when the block (or COMMIT) raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def migrate(
    conn: sqlite3.Connection,
    table: str,
    migrations: Sequence[str],
    error: type[SeabridgeError],
    where: str,
) -> None:
    """Bring the tables versioned in ``table`` up to ``len(migrations)``, inside the caller's
    transaction. Migration ``i`` takes version ``i`` to ``i + 1``.

    Raises:
        error: the file's version is newer than this code (``where`` names the file and area).
    """
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
    version = conn.execute(f"SELECT max(version) FROM {table}").fetchone()[0] or 0
    if version > len(migrations):
        raise error(
            f"{where} schema version {version} is newer than this Seabridge "
            f"({len(migrations)}); upgrade Seabridge"
        )
    for number in range(version, len(migrations)):
        for statement in split_statements(migrations[number], error):
            conn.execute(statement)
        conn.execute(f"INSERT INTO {table} (version) VALUES (?)", (number + 1,))


def split_statements(script: str, error: type[SeabridgeError]) -> list[str]:
    """Split a migration into statements (``executescript`` would COMMIT on its own); a
    trigger body's semicolons stay inside its statement."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise error(f"migration has an incomplete statement: {pending.strip()[:60]}")
    return statements
