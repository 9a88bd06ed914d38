"""``GET /api/events?since=ISO&until=ISO&kind=&min_level=&limit=`` (viewer): recent detection
events, oldest first, as :meth:`Event.as_json <seabridge.detect.model.Event.as_json>` records.

An event raised under a rulebook whose hash is not jointly agreed with the other party (the
incidents' :class:`~seabridge.incidents.AgreementBook`) carries ``warning``; on a node without
incidents every event does (agreement cannot be known there).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request

from seabridge.node.service import Node
from seabridge.web._params import node_of, parse_time
from seabridge.web.auth import Viewer

__all__ = ["MAX_EVENTS", "event_json", "router"]

MAX_EVENTS: Final = 5000
_UNKNOWN: Final = "incidents are off on this node: whether the rulebook is agreed is not known"

router = APIRouter(prefix="/api", tags=["events"])


@router.get("/events", responses={400: {"description": "Bad time"}})
def events(
    principal: Viewer,
    request: Request,
    since: str | None = None,
    until: str | None = None,
    kind: str | None = None,
    min_level: Annotated[int | None, Query(ge=0, le=10)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 1000,
) -> list[dict[str, Any]]:
    """Events that touch ``[since, until)``, of ``kind``, at ``min_level`` or above."""
    node = node_of(request)
    records = node.events.query(
        since_ms=parse_time("since", since),
        until_ms=parse_time("until", until),
        kind=kind or None,
        min_level=min_level,
        limit=limit,
    )
    return [event_json(node, record) for record in records]


def event_json(node: Node, record: dict[str, Any]) -> dict[str, Any]:
    """An event record with ``warning`` when its rulebook is not jointly agreed."""
    service = node.incidents
    warning = (
        service.rulebook_warning(record.get("rulebook") or {}) if service is not None else _UNKNOWN
    )
    return {**record, "warning": warning} if warning else record
