"""The incidents' tables in the node's ``state.sqlite``: schema, migrations, transactions.

Incidents live in the same file as the hotline's ledger, in their own tables with their own
schema-version table (``incidents_schema``), and follow the ledger's conventions: WAL,
``synchronous=FULL`` (a returned write is durable), foreign keys on, migrations in code,
``BEGIN IMMEDIATE`` write transactions. Tables:

- ``incidents``: one row per incident, its current state (a projection of the timeline);
- ``incident_events``: the detection events attached, latest version of each;
- ``incident_transitions``: the timeline, append-only (triggers refuse UPDATE and DELETE);
- ``incident_messages``: the hotline thread, by reference (origin, seq, msg_id, direction),
  append-only;
- ``incident_timers``: acknowledgement deadlines (incident, level, message, due_ms, state);
- ``incident_outbox``: messages decided but not yet handed to the hotline (sent after the
  deciding transaction commits, idempotently by msg_id, so a crash in between loses nothing).

When the store is given an open connection (the ledger's), writes may run inside the caller's
transaction (:meth:`IncidentStore.write` with ``conn``), so an inbound hotline message and its
incident effects commit together. This module knows tables, not incident rules.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seabridge import statedb
from seabridge.errors import IncidentError

__all__ = ["APPEND_ONLY", "MIGRATIONS", "SCHEMA_VERSION", "IncidentStore"]

APPEND_ONLY = ("incident_transitions", "incident_messages")
"""Tables whose rows are never updated nor deleted (triggers enforce it)."""

_TABLES = """
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    corr_key TEXT NOT NULL,
    status TEXT NOT NULL,
    level INTEGER NOT NULL DEFAULT 0,
    severity INTEGER NOT NULL DEFAULT 0,
    peers TEXT NOT NULL,
    vessels TEXT NOT NULL,
    zone TEXT,
    start_ms INTEGER NOT NULL,
    rulebook TEXT,
    flagged INTEGER NOT NULL DEFAULT 0,
    closing_proposed INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX incidents_key ON incidents (corr_key);
CREATE INDEX incidents_status ON incidents (status);
CREATE TABLE incident_events (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    event_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    level INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (incident_id, event_id)
);
CREATE TABLE incident_transitions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    n INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    cause TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (incident_id, n)
);
CREATE TABLE incident_messages (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    msg_id TEXT NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind TEXT NOT NULL,
    peer TEXT NOT NULL,
    level INTEGER,
    template TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, seq)
);
CREATE INDEX incident_messages_incident ON incident_messages (incident_id);
CREATE TABLE incident_timers (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    msg_id TEXT NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    level INTEGER NOT NULL,
    peer TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('armed', 'acked', 'missed', 'cancelled')),
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, seq)
);
CREATE INDEX incident_timers_armed ON incident_timers (due_ms) WHERE state = 'armed';
CREATE TABLE incident_outbox (
    msg_id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    level INTEGER NOT NULL,
    template TEXT NOT NULL,
    params TEXT NOT NULL,
    deadline_ms INTEGER,
    refs TEXT NOT NULL,
    corr_key TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
    origin TEXT,
    seq INTEGER
);
CREATE INDEX incident_outbox_pending ON incident_outbox (created_ms) WHERE state = 'pending';
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


MIGRATIONS: tuple[str, ...] = (_TABLES + _triggers(),)
"""Schema migrations in order; migration ``i`` takes the tables from version ``i`` to ``i + 1``.
Never edit one that has shipped: append a new one."""

SCHEMA_VERSION = len(MIGRATIONS)


class IncidentStore:
    """The incident tables of one ``state.sqlite``, through one connection.

    Args:
        path_or_conn: The database file (opened here, closed by :meth:`close`), or an open
            connection in autocommit mode (``isolation_level=None``) that the caller owns, such
            as the ledger's.
    """

    def __init__(self, path_or_conn: str | Path | sqlite3.Connection) -> None:
        self.owned = not isinstance(path_or_conn, sqlite3.Connection)
        if isinstance(path_or_conn, sqlite3.Connection):
            self.conn = path_or_conn
            self.path = "(connection)"
        else:
            self.path = str(path_or_conn)
            self.conn = statedb.connect(path_or_conn, IncidentError, "incidents database")
        if self.conn.isolation_level is not None:
            raise IncidentError("the incidents store needs a connection with isolation_level=None")
        try:
            with self.write() as conn:
                statedb.migrate(
                    conn, "incidents_schema", MIGRATIONS, IncidentError, f"{self.path}: incidents"
                )
        except sqlite3.DatabaseError as exc:
            self.close()
            raise IncidentError(f"{self.path}: not a usable incidents database ({exc})") from None
        except BaseException:
            self.close()
            raise

    @contextmanager
    def write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error).

        Given ``conn`` (the caller's, already inside its transaction), writes go through it
        and the caller commits or rolls back.
        """
        if conn is not None:
            yield conn
            return
        with statedb.transaction(self.conn) as own:
            yield own

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent state."""
        if self.conn.in_transaction:  # inside the caller's transaction already
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection if this store opened it (a given one stays the caller's)."""
        if self.owned:
            self.conn.close()
