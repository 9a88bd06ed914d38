"""The hotline's SQLite file (``state.sqlite``): schema, migrations, transactions.

One file per node, ``journal_mode=WAL``, ``synchronous=FULL`` (every COMMIT is fsynced, so a
return after :meth:`Store.transaction` means durable), ``foreign_keys=ON``. The schema is the
table of ``domain/hotline-protocol.md`` §5.4 plus ``refs`` (an index of entry references, for
acks and deadlines) and ``keys`` (the key valid from each seq of each log, for rotation).

Append-only: triggers ``RAISE(ABORT)`` on UPDATE and DELETE of every ledger table. Only
``delivery`` (push cursors and backoff) and ``app_cursor`` (consumer cursors) change in place,
and the derived ``open_deadlines`` (an index of unanswered deadlines, not signed data:
:mod:`seabridge.hotline.open_deadlines`).

This module knows tables and transactions, not signatures or trees: the ledger decides what
goes in (:mod:`seabridge.hotline.ledger`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seabridge import statedb
from seabridge.errors import LedgerError
from seabridge.hotline import open_deadlines

__all__ = ["APPEND_ONLY", "MIGRATIONS", "SCHEMA_VERSION", "Store"]

APPEND_ONLY = ("log", "refs", "tree", "checkpoints", "cosigs", "evidence", "keys")
"""Tables whose rows are never updated nor deleted (triggers enforce it)."""

_TABLES = """
CREATE TABLE log (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    entry BLOB NOT NULL,
    sig BLOB NOT NULL,
    leaf BLOB NOT NULL UNIQUE,
    msg_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    deadline_ms INTEGER,
    PRIMARY KEY (origin, seq),
    UNIQUE (origin, msg_id)
);
CREATE INDEX log_deadline ON log (deadline_ms) WHERE deadline_ms IS NOT NULL;
CREATE TABLE refs (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ref_log TEXT NOT NULL,
    ref_seq INTEGER NOT NULL,
    ref_leaf BLOB NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (origin, seq, ref_log, ref_seq),
    FOREIGN KEY (origin, seq) REFERENCES log (origin, seq)
);
CREATE INDEX refs_target ON refs (ref_log, ref_seq);
CREATE TABLE tree (
    origin TEXT NOT NULL,
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (origin, level, idx)
);
CREATE TABLE checkpoints (
    origin TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (origin, size)
);
CREATE TABLE cosigs (
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    cosigner TEXT NOT NULL,
    time INTEGER NOT NULL,
    line TEXT NOT NULL UNIQUE,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, size, cosigner, time)
);
CREATE TABLE delivery (
    peer TEXT PRIMARY KEY,
    acked_size INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_ms INTEGER,
    last_success_ms INTEGER,
    created_ms INTEGER NOT NULL
);
CREATE TABLE app_cursor (
    origin TEXT PRIMARY KEY,
    next_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    blobs TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE keys (
    origin TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('log', 'cosigner')),
    from_seq INTEGER NOT NULL CHECK (from_seq >= 0),
    vkey TEXT NOT NULL,
    PRIMARY KEY (origin, role, from_seq)
);
"""


def _triggers() -> str:
    statements = []
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
            )
    return "\n".join(statements)


_DELIVERED_VIA = """
ALTER TABLE delivery ADD COLUMN delivered_via TEXT;
"""
"""Version 2: the endpoint (base URL) that took the last successful push to each peer."""

_OPEN_DEADLINES = f"""
CREATE TABLE open_deadlines (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    leaf BLOB NOT NULL,
    deadline_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, seq)
);
{open_deadlines.FILL};
"""
"""Version 3: own entries whose deadline is not answered yet, derived from ``log`` and ``refs``
and filled from them here (:mod:`seabridge.hotline.open_deadlines`)."""

MIGRATIONS: tuple[str, ...] = (_TABLES + _triggers(), _DELIVERED_VIA, _OPEN_DEADLINES)
"""Schema migrations in order; migration ``i`` takes the file from version ``i`` to ``i + 1``.
Never edit one that has shipped: append a new one."""

SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """An open ``state.sqlite``: one connection, explicit transactions.

    The connection is in autocommit mode (``isolation_level=None``); every write happens inside
    :meth:`transaction`. It may be used from several threads, one at a time (the ledger holds a
    lock around each call).
    """

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self.conn = statedb.connect(
            path, LedgerError, "ledger database", timeout_s=busy_timeout_ms / 1e3
        )
        try:
            with self.transaction() as conn:
                statedb.migrate(
                    conn, "schema_version", MIGRATIONS, LedgerError, f"{path}: database"
                )
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise LedgerError(f"{path}: not a usable ledger database ({exc})") from None
        except BaseException:
            self.conn.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` when the block raises.

        The write lock is taken at BEGIN, so reads inside see the state the writes build on.
        """
        with statedb.transaction(self.conn) as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent state."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
