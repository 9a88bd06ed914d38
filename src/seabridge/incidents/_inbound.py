"""Inbound peer messages: attach each to its incident by reference or correlation key.

Every function here runs inside one write transaction (the ledger's, when the node consumes
inside it) and only touches the incident tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from seabridge.errors import IncidentError
from seabridge.incidents import _rows
from seabridge.incidents._rows import IncidentRow, change
from seabridge.incidents.correlate import Candidate, CorrelationKey, find_peer_match
from seabridge.incidents.model import Change, PeerMessage

__all__ = ["IGNORED_KINDS", "handle"]

ACK_KINDS: Final = frozenset({"ack", "reply"})
NOTICE_KINDS: Final = frozenset({"notification", "escalation"})
IGNORED_KINDS: Final = frozenset({"heartbeat", "key-rotation", "agreement"})


def handle(
    conn: sqlite3.Connection, msg: PeerMessage, party: str, window_ms: int, now_ms: int
) -> list[Change]:
    """Act on one peer message (idempotent on its (origin, seq)); see
    :meth:`seabridge.incidents.manager.IncidentManager.on_peer_message`."""
    known = conn.execute(
        "SELECT 1 FROM incident_messages WHERE origin = ? AND seq = ?", (msg.origin, msg.seq)
    ).fetchone()
    if known is not None or msg.kind in IGNORED_KINDS:
        return []
    target = referenced(conn, msg.refs)
    if msg.kind in ACK_KINDS:
        return on_ack(conn, msg, target, now_ms) if target else []
    if msg.kind in NOTICE_KINDS:
        return on_notice(conn, msg, target, party, window_ms, now_ms)
    if target is None:
        return []
    incident = _rows.load(conn, target)
    attach(conn, incident, msg, now_ms)
    return [change("message", incident, message_kind=msg.kind, msg_id=msg.msg_id)]


def referenced(conn: sqlite3.Connection, refs: Sequence[tuple[str, int]]) -> str | None:
    """The incident whose thread holds the first of ``refs`` found, or ``None``."""
    for origin, seq in refs:
        row = conn.execute(
            "SELECT incident_id FROM incident_messages WHERE origin = ? AND seq = ?",
            (origin, seq),
        ).fetchone()
        if row is not None:
            return str(row[0])
    return None


def attach(conn: sqlite3.Connection, incident: IncidentRow, msg: PeerMessage, now_ms: int) -> None:
    """Put ``msg`` in the incident's thread; its author becomes one of the incident's peers."""
    level = msg.body.get("level")
    conn.execute(
        "INSERT OR IGNORE INTO incident_messages (origin, seq, msg_id, incident_id, "
        "direction, kind, peer, level, template, created_ms) "
        "VALUES (?, ?, ?, ?, 'in', ?, ?, ?, ?, ?)",
        (
            msg.origin,
            msg.seq,
            msg.msg_id,
            incident.id,
            msg.kind,
            msg.party,
            level if isinstance(level, int) else None,
            msg.body.get("template"),
            msg.created_ms or now_ms,
        ),
    )
    if msg.party not in incident.peers:
        incident.peers = [*incident.peers, msg.party]
        _rows.save(conn, incident)


def on_ack(conn: sqlite3.Connection, msg: PeerMessage, target: str, now_ms: int) -> list[Change]:
    """An ack or reply of our message: the incident is acknowledged, its timers stop."""
    incident = _rows.load(conn, target)
    attach(conn, incident, msg, now_ms)
    stopped = _rows.cancel_timers(conn, incident.id, "acked", now_ms)
    changes = [change("message", incident, message_kind=msg.kind, msg_id=msg.msg_id)]
    if incident.status in ("notified", "escalated"):
        detail = {"msg_id": msg.msg_id, "kind": msg.kind, "timers": stopped}
        _rows.step(conn, incident, "acknowledge", "peer", msg.party, detail, now_ms)
        changes.append(change("acknowledged", incident, by=msg.party, msg_id=msg.msg_id))
    return changes


def on_notice(
    conn: sqlite3.Connection,
    msg: PeerMessage,
    target: str | None,
    party: str,
    window_ms: int,
    now_ms: int,
) -> list[Change]:
    """A peer's notification or escalation: join the incident its key or refs name, or open
    a peer-reported incident."""
    key: CorrelationKey | None = None
    text = msg.body.get("incident")
    if isinstance(text, str):
        try:
            key = CorrelationKey.parse(text)
        except IncidentError:
            key = None  # a free-text incident reference: match by refs only
    if target is None and key is not None:
        target = find_peer_match(key, live_candidates(conn), window_ms)
    changes: list[Change] = []
    if target is None:
        if key is None:
            return []
        incident = open_reported(conn, msg, key, party, now_ms)
        changes.append(change("opened", incident, reported_by=msg.party))
    else:
        incident = _rows.load(conn, target)
        changes.append(change("joined", incident, msg_id=msg.msg_id, by=msg.party))
    attach(conn, incident, msg, now_ms)
    if incident.status == "open":
        _rows.step(conn, incident, "notify", "peer", msg.party, {"msg_id": msg.msg_id}, now_ms)
        changes.append(change("notified", incident, by=msg.party))
    return changes


def live_candidates(conn: sqlite3.Connection) -> list[Candidate]:
    """Every incident not final, for matching a peer's key."""
    rows = _rows.select(conn, "status NOT IN ('closed', 'retracted')")
    return [
        Candidate(
            r.id, r.status, CorrelationKey.parse(r.corr_key), frozenset(r.vessels), frozenset()
        )
        for r in rows
    ]


def open_reported(
    conn: sqlite3.Connection, msg: PeerMessage, key: CorrelationKey, party: str, now_ms: int
) -> IncidentRow:
    """A new incident reported by the peer: its origin is the peer, its events none yet."""
    level = msg.body.get("level")
    incident = IncidentRow(
        id=_rows.next_id(conn, party),
        origin=msg.party,
        kind=key.kind,
        corr_key=key.text,
        status="open",
        level=level if isinstance(level, int) else 1,
        severity=0,
        peers=[msg.party],
        vessels=list(key.vessels),
        zone=key.zone,
        start_ms=key.window_ms,
        rulebook=None,
        flagged=False,
        closing_proposed=False,
        created_ms=now_ms,
        updated_ms=now_ms,
    )
    _rows.insert(conn, incident)
    detail = {"msg_id": msg.msg_id, "key": key.text}
    _rows.log(conn, incident.id, now_ms, "open", None, "open", "peer", msg.party, detail)
    return incident
