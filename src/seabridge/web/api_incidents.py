"""``/api/incidents``: the incidents of this node and the operators' actions on them.

Routes::

    GET  /api/incidents[?status=]          (viewer)   summaries, oldest first
    GET  /api/incidents/{id}               (viewer)   the full record; 404 unknown
    POST /api/incidents/{id}/ack           (operator) {"text"}
    POST /api/incidents/{id}/note          (operator) {"text", "internal", "lang"?, "text_en"?}
    POST /api/incidents/{id}/resolve       (operator) {"text"}

Actions answer the incident as it is afterwards. Each is recorded in the timeline with the
caller as actor (:mod:`seabridge.node.operator`); an internal note never leaves this node, a
shared one goes to the incident's peers as a hotline ``note``. A transition the lifecycle
refuses is 409 with its message; a node without incidents (no mechanism) answers 503.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from seabridge.errors import IncidentError
from seabridge.incidents import Change
from seabridge.incidents.lifecycle import STATES
from seabridge.node import operator
from seabridge.node.incidents import IncidentsService
from seabridge.node.service import Node
from seabridge.web._params import node_of
from seabridge.web.auth import Operator, Viewer

__all__ = ["router"]

MAX_TEXT = 4000
router = APIRouter(prefix="/api/incidents", tags=["incidents"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident"},
    409: {"description": "The lifecycle refuses the action in the incident's status"},
    503: {"description": "Incidents are off on this node"},
}


class ActionIn(BaseModel):
    text: str = Field("", max_length=MAX_TEXT)


class NoteIn(ActionIn):
    internal: bool = Field(
        True, description="Kept on this node only; false also sends it to the peers."
    )
    lang: str = Field("en", max_length=8, description="The language of text.")
    text_en: str | None = Field(None, max_length=MAX_TEXT, description="text in English.")


def _service(node: Node) -> IncidentsService:
    if node.incidents is None:
        raise HTTPException(503, "incidents are off on this node: no pack has a mechanism")
    return node.incidents


def _get(node: Node, incident_id: str) -> dict[str, Any]:
    try:
        return _service(node).manager.get(incident_id)
    except IncidentError as exc:
        raise HTTPException(404, str(exc)) from None


def _act(
    request: Request, incident_id: str, action: Callable[[IncidentsService], Sequence[Change]]
) -> dict[str, Any]:
    node = node_of(request)
    _get(node, incident_id)
    try:
        node.operate(action)
    except IncidentError as exc:
        raise HTTPException(409, str(exc)) from None
    return _get(node, incident_id)


@router.get("", responses=_ERRORS)
def list_incidents(
    principal: Viewer, request: Request, status: str | None = None
) -> list[dict[str, Any]]:
    """Every incident, or those in ``status``."""
    if status is not None and status not in STATES:
        raise HTTPException(400, f"status={status!r}: one of {', '.join(STATES)}")
    return _service(node_of(request)).manager.list(status)


@router.get("/{incident_id}", responses=_ERRORS)
def get_incident(principal: Viewer, request: Request, incident_id: str) -> dict[str, Any]:
    """One incident in full: events, vessels, deadlines, timeline, hotline thread."""
    return _get(node_of(request), incident_id)


@router.post("/{incident_id}/ack", responses=_ERRORS)
def ack(principal: Operator, request: Request, incident_id: str, body: ActionIn) -> dict[str, Any]:
    """Record the counterpart's acknowledgement (e.g. received by radio)."""
    return _act(
        request,
        incident_id,
        lambda s: operator.incident_ack(s, incident_id, principal.name, body.text),
    )


@router.post("/{incident_id}/note", responses=_ERRORS)
def note(principal: Operator, request: Request, incident_id: str, body: NoteIn) -> dict[str, Any]:
    """Add a note to the timeline: internal, or also sent to the incident's peers."""
    if not body.text.strip():
        raise HTTPException(400, "text: a note needs some text")
    return _act(
        request,
        incident_id,
        lambda s: operator.incident_note(
            s, incident_id, principal.name, body.text,
            internal=body.internal, lang=body.lang, text_en=body.text_en,
        ),
    )  # fmt: skip


@router.post("/{incident_id}/resolve", responses=_ERRORS)
def resolve(
    principal: Operator, request: Request, incident_id: str, body: ActionIn
) -> dict[str, Any]:
    """Declare the situation resolved; the incident's timers stop."""
    return _act(
        request,
        incident_id,
        lambda s: operator.incident_resolve(s, incident_id, principal.name, body.text),
    )
