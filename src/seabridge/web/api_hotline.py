"""``/api/hotline``: both directions of each hotline channel, the phrasebook, and sending.

Routes::

    GET  /api/hotline[?peer=]     (viewer)   Ledger.log_view rows of every channel (or one),
                                             oldest first; "deadline" when the entry has one
    GET  /api/hotline/templates   (viewer)   [{id, marker, kind, params, text: {en, ja, zh}}]
    POST /api/hotline/send        (operator) {"to", "kind", "template"?, "params"?, "text"?,
                                             "text_en"?, "marker"?, "lang", "deadline"?,
                                             "level"?, "msg_id"?} -> {"seq", "msg_id", "origin"}
    POST /api/hotline/ack         (operator) {"to", "seq", "text"?, "text_en"?, "lang"?}
                                             -> {"seq", "msg_id", "origin"}

Row ``origin`` is the log (``jcg/hotline/ccg``: jcg's log on the channel to ccg). Bodies are
built by :mod:`seabridge.node.messages`, as ``seabridge hotline send|ack`` builds them; the
node signs at once (also to a party of the pack not configured yet) and publishes the entry
on the hub's ``hotline`` topic. An unknown peer or template, or a bad field, is a 400; a
``msg_id`` stored with other content (acknowledging again with another text) a 409.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from seabridge.errors import InputError, LedgerError, MalformedError, UnknownPeerError
from seabridge.hotline.entries import Entry
from seabridge.hotline.ledger import Ledger
from seabridge.node import messages
from seabridge.web._params import node_of
from seabridge.web.auth import Operator, Viewer

__all__ = ["router"]

MAX_TEXT = 4000
router = APIRouter(prefix="/api/hotline", tags=["hotline"])
_BAD: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown peer or template, or a bad field"},
    409: {"description": "The msg_id (an ack: the entry) is stored with other content"},
}


class SendIn(BaseModel):
    to: str = Field(max_length=64)
    kind: Literal["notification", "note", "escalation"] = "notification"
    template: str | None = Field(None, max_length=128)
    params: dict[str, str | int] = Field(default_factory=dict)
    text: str | None = Field(None, max_length=MAX_TEXT)
    text_en: str | None = Field(None, max_length=MAX_TEXT)
    marker: str | None = Field(None, max_length=32)
    lang: str = Field("en", max_length=8)
    deadline: str | None = Field(None, description="ISO 8601 UTC time an answer is due by.")
    level: int = Field(1, ge=1, le=4, description="The ladder level of an escalation.")
    msg_id: str | None = Field(None, max_length=128, description="Idempotency key.")


class AckIn(BaseModel):
    to: str = Field(max_length=64)
    seq: int = Field(ge=0)
    text: str | None = Field(None, max_length=MAX_TEXT)
    text_en: str | None = Field(None, max_length=MAX_TEXT)
    lang: str = Field("en", max_length=8)


class SentOut(BaseModel):
    seq: int
    msg_id: str
    origin: str


def _sent(entry: Entry) -> SentOut:
    return SentOut(seq=entry.seq, msg_id=entry.msg_id, origin=entry.log)


def _sign(request: Request, action: Any) -> Entry:
    try:
        entry: Entry = node_of(request).send(action)
    except (UnknownPeerError, MalformedError) as exc:
        raise InputError(str(exc)) from None
    except LedgerError as exc:  # e.g. a msg_id (an ack) stored with other content
        raise HTTPException(409, str(exc)) from None
    return entry


@router.get("", responses=_BAD)
def log(principal: Viewer, request: Request, peer: str | None = None) -> list[dict[str, Any]]:
    """Both directions of every channel (or the one to ``peer``), oldest first."""
    ledger = node_of(request).ledger
    if peer is not None and peer not in ledger.channels:
        raise InputError(f"peer={peer!r}: channels: {', '.join(ledger.channels) or 'none'}")
    rows = [row for p in ([peer] if peer else ledger.channels) for row in ledger.log_view(p)]
    return sorted(rows, key=lambda row: (row["created"], row["origin"], row["seq"]))


@router.get("/templates", responses=_BAD)
def templates(principal: Viewer, request: Request) -> list[dict[str, Any]]:
    """The phrasebook's templates, in every language."""
    return messages.templates_json(messages.phrasebook_of(node_of(request).config))


@router.post("/send", responses=_BAD)
def send(principal: Operator, request: Request, body: SendIn) -> SentOut:
    """Sign and store a message for ``to`` at once (delivered by the node when it can)."""
    node = node_of(request)
    message = messages.message_body(
        lambda: messages.phrasebook_of(node.config),
        template=body.template,
        params=body.params,
        text=body.text if body.template is None else None,
        text_en=body.text_en,
        lang=body.lang,
        marker=body.marker,
        template_marker_ok=True,
    )
    if body.template is not None and body.text:
        message = _with_remark(message, body.text, body.text_en, body.lang)
    if body.kind == "escalation":
        message["level"] = body.level
    deadline_ms = messages.parse_deadline_iso(body.deadline, node.clock.now_ms())

    def action(ledger: Ledger) -> Entry:
        return ledger.send(
            body.to, body.kind, message, deadline_ms=deadline_ms, lang=body.lang, msg_id=body.msg_id
        )

    return _sent(_sign(request, action))


def _with_remark(
    message: dict[str, object], text: str, text_en: str | None, lang: str
) -> dict[str, object]:
    """A templated message with the operator's free text after it (with its English)."""
    remark = messages.ack_body(text, text_en, lang)
    return {
        **message,
        "text": f"{message['text']}\n{remark['text']}",
        "text_en": f"{message['text_en']}\n{remark['text_en']}",
    }


@router.post("/ack", responses=_BAD)
def ack(principal: Operator, request: Request, body: AckIn) -> SentOut:
    """Acknowledge the peer's entry ``seq`` (the human acknowledgement; idempotent)."""
    message = messages.ack_body(body.text, body.text_en, body.lang)

    def action(ledger: Ledger) -> Entry:
        ref = messages.peer_ref(ledger, body.to, body.seq)
        return ledger.send(
            body.to, "ack", message, refs=(ref,), lang=body.lang, msg_id=f"ack.{body.to}.{body.seq}"
        )

    return _sent(_sign(request, action))
