"""Row-level reads and writes of the incident tables (no incident rules here)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from seabridge.errors import IncidentError
from seabridge.incidents.lifecycle import check_cause, transition
from seabridge.incidents.model import Change

__all__ = [
    "IncidentRow",
    "cancel_timers",
    "change",
    "insert",
    "load",
    "log",
    "next_id",
    "save",
    "select",
    "step",
    "timeline_size",
]

_COLUMNS = (
    "id, origin, kind, corr_key, status, level, severity, peers, vessels, zone, start_ms, "
    "rulebook, flagged, closing_proposed, created_ms, updated_ms"
)


@dataclass(slots=True)
class IncidentRow:
    """One ``incidents`` row, decoded."""

    id: str
    origin: str
    kind: str
    corr_key: str
    status: str
    level: int
    severity: int
    peers: list[str]
    vessels: list[int]
    zone: str | None
    start_ms: int
    rulebook: dict[str, Any] | None
    flagged: bool
    closing_proposed: bool
    created_ms: int
    updated_ms: int

    @classmethod
    def decode(cls, row: tuple[Any, ...]) -> IncidentRow:
        values = list(row)
        values[7] = json.loads(values[7])
        values[8] = json.loads(values[8])
        values[11] = json.loads(values[11]) if values[11] is not None else None
        values[12], values[13] = bool(values[12]), bool(values[13])
        return cls(*values)

    def encode(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.origin,
            self.kind,
            self.corr_key,
            self.status,
            self.level,
            self.severity,
            json.dumps(self.peers),
            json.dumps(self.vessels),
            self.zone,
            self.start_ms,
            None if self.rulebook is None else json.dumps(self.rulebook, sort_keys=True),
            int(self.flagged),
            int(self.closing_proposed),
            self.created_ms,
            self.updated_ms,
        )


def load(conn: sqlite3.Connection, incident_id: str) -> IncidentRow:
    """The incident ``incident_id``.

    Raises:
        IncidentError: no such incident.
    """
    row = conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        raise IncidentError(f"no incident {incident_id!r}")
    return IncidentRow.decode(row)


def select(
    conn: sqlite3.Connection, where: str = "1", args: tuple[Any, ...] = ()
) -> list[IncidentRow]:
    """Incidents matching an SQL condition, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE {where} ORDER BY created_ms, id", args
    ).fetchall()
    return [IncidentRow.decode(row) for row in rows]


def insert(conn: sqlite3.Connection, incident: IncidentRow) -> None:
    conn.execute(
        f"INSERT INTO incidents ({_COLUMNS}) VALUES ({', '.join('?' * 16)})", incident.encode()
    )


def save(conn: sqlite3.Connection, incident: IncidentRow) -> None:
    values = incident.encode()
    names = [name.strip() for name in _COLUMNS.split(",")][1:]
    assignments = ", ".join(f"{name} = ?" for name in names)
    conn.execute(f"UPDATE incidents SET {assignments} WHERE id = ?", (*values[1:], incident.id))


def timeline_size(conn: sqlite3.Connection, incident_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM incident_transitions WHERE incident_id = ?", (incident_id,)
    ).fetchone()
    return int(row[0])


def log(
    conn: sqlite3.Connection,
    incident_id: str,
    at_ms: int,
    action: str,
    from_status: str | None,
    to_status: str,
    cause: str,
    actor: str,
    detail: dict[str, Any],
) -> None:
    """Append one timeline entry (a transition, or a note or flag that keeps the state)."""
    conn.execute(
        "INSERT INTO incident_transitions (incident_id, n, at_ms, action, from_status, "
        "to_status, cause, actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            incident_id,
            timeline_size(conn, incident_id) + 1,
            at_ms,
            action,
            from_status,
            to_status,
            cause,
            actor,
            json.dumps(detail, sort_keys=True, ensure_ascii=False),
        ),
    )


def next_id(conn: sqlite3.Connection, party: str) -> str:
    """The next incident id of this node: ``jcg-000001``, ``jcg-000002``, ..."""
    count = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    return f"{party}-{count + 1:06d}"


def step(
    conn: sqlite3.Connection,
    incident: IncidentRow,
    action: str,
    cause: str,
    actor: str,
    detail: dict[str, Any],
    now_ms: int,
) -> None:
    """Move ``incident`` by ``action`` (refused per the transition table), log it, save it."""
    new = transition(incident.status, action)
    log(conn, incident.id, now_ms, action, incident.status, new, check_cause(cause), actor, detail)
    incident.status, incident.updated_ms = new, now_ms
    save(conn, incident)


def cancel_timers(conn: sqlite3.Connection, incident_id: str, state: str, now_ms: int) -> int:
    """Stop every armed timer of an incident (``acked`` or ``cancelled``); how many."""
    cursor = conn.execute(
        "UPDATE incident_timers SET state = ?, updated_ms = ? WHERE incident_id = ? "
        "AND state = 'armed'",
        (state, now_ms, incident_id),
    )
    return int(cursor.rowcount)


def change(kind: str, incident: IncidentRow, **detail: Any) -> Change:
    """A :class:`Change` of ``incident`` as it stands."""
    return Change(kind, incident.id, incident.status, incident.level, detail)
