"""JSON views of incidents: the summary of a list and the full record of one.

Times are ISO 8601 UTC; the shapes are documented in ``IncidentManager.get``'s caller docs
(see the module docstring of :mod:`seabridge.incidents`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from seabridge.incidents._rows import IncidentRow
from seabridge.incidents.mechanism import Mechanism
from seabridge.units import ms_to_iso

__all__ = ["detail", "summary"]


def summary(incident: IncidentRow, rulebook: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of a list row."""
    return {
        "id": incident.id,
        "origin": incident.origin,
        "status": incident.status,
        "level": incident.level,
        "severity": incident.severity,
        "kind": incident.kind,
        "correlation_key": incident.corr_key,
        "vessels": list(incident.vessels),
        "zone": incident.zone,
        "peers": list(incident.peers),
        "flagged": incident.flagged,
        "closing_proposed": incident.closing_proposed,
        "start": ms_to_iso(incident.start_ms),
        "created": ms_to_iso(incident.created_ms),
        "updated": ms_to_iso(incident.updated_ms),
        "rulebook": rulebook,
    }


def _iso(ms: int | None) -> str | None:
    return None if ms is None else ms_to_iso(ms)


def _extent(events: list[dict[str, Any]]) -> dict[str, float] | None:
    points = [(e["lat"], e["lon"]) for e in events if "lat" in e and "lon" in e]
    if not points:
        return None
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return {"min_lat": min(lats), "min_lon": min(lons), "max_lat": max(lats), "max_lon": max(lons)}


def detail(
    conn: sqlite3.Connection,
    incident: IncidentRow,
    rulebook: dict[str, Any] | None,
    vessel: Callable[[int], dict[str, Any]],
    mechanism: Mechanism,
) -> dict[str, Any]:
    """The full record: summary fields plus events, vessels, extent, counterparts notified,
    deadlines, timeline and hotline thread."""
    result = summary(incident, rulebook)
    events = [
        json.loads(row[0])
        for row in conn.execute(
            "SELECT event FROM incident_events WHERE incident_id = ? ORDER BY start_ms, event_id",
            (incident.id,),
        )
    ]
    thread = [
        {
            "origin": origin,
            "seq": seq,
            "msg_id": msg_id,
            "direction": direction,
            "kind": kind,
            "peer": peer,
            "level": level,
            "template": template,
            "created": ms_to_iso(created_ms),
        }
        for origin, seq, msg_id, direction, kind, peer, level, template, created_ms in conn.execute(
            "SELECT origin, seq, msg_id, direction, kind, peer, level, template, created_ms "
            "FROM incident_messages WHERE incident_id = ? ORDER BY created_ms, origin, seq",
            (incident.id,),
        )
    ]
    result.update(
        events=events,
        vessels=[vessel(mmsi) for mmsi in incident.vessels],
        extent=_extent(events),
        counterparts=_counterparts(thread, mechanism),
        deadlines=_deadlines(conn, incident.id),
        timeline=_timeline(conn, incident.id),
        thread=thread,
        pending=[
            row[0]
            for row in conn.execute(
                "SELECT msg_id FROM incident_outbox WHERE incident_id = ? AND state = 'pending' "
                "ORDER BY created_ms, rowid",
                (incident.id,),
            )
        ],
    )
    return result


def _counterparts(thread: list[dict[str, Any]], mechanism: Mechanism) -> list[dict[str, Any]]:
    """The counterparts our messages went to: per peer and ladder level, the first message."""
    notified: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for message in thread:
        level = message["level"]
        if message["direction"] != "out" or level is None or (message["peer"], level) in seen:
            continue
        seen.add((message["peer"], level))
        if message["peer"] not in mechanism.counterparts or level > mechanism.top_level:
            continue
        step = mechanism.step(level)
        counterpart = mechanism.counterpart(message["peer"], step.notify_level)
        notified.append(
            {
                "peer": message["peer"],
                "level": level,
                "msg_id": message["msg_id"],
                "at": message["created"],
                "counterpart": counterpart.as_json(),
            }
        )
    return notified


def _deadlines(conn: sqlite3.Connection, incident_id: str) -> list[dict[str, Any]]:
    return [
        {
            "origin": origin,
            "seq": seq,
            "msg_id": msg_id,
            "peer": peer,
            "level": level,
            "due": ms_to_iso(due_ms),
            "state": state,
        }
        for origin, seq, msg_id, peer, level, due_ms, state in conn.execute(
            "SELECT origin, seq, msg_id, peer, level, due_ms, state FROM incident_timers "
            "WHERE incident_id = ? ORDER BY due_ms, origin, seq",
            (incident_id,),
        )
    ]


def _timeline(conn: sqlite3.Connection, incident_id: str) -> list[dict[str, Any]]:
    return [
        {
            "n": n,
            "at": ms_to_iso(at_ms),
            "action": action,
            "from": from_status,
            "to": to_status,
            "cause": cause,
            "actor": actor,
            "detail": json.loads(detail),
        }
        for n, at_ms, action, from_status, to_status, cause, actor, detail in conn.execute(
            "SELECT n, at_ms, action, from_status, to_status, cause, actor, detail FROM "
            "incident_transitions WHERE incident_id = ? ORDER BY n",
            (incident_id,),
        )
    ]
