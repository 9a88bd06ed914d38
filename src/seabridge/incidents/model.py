"""The neutral records incidents exchange with the rest of the node.

The incidents layer never imports the hotline: it hands messages to a :class:`SendFn` the
node builds on its ledger and receives :class:`PeerMessage` records the node builds from
ledger entries. What comes back to the caller is a list of :class:`Change` records (for the
console, the websocket hub and the logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

__all__ = ["Change", "MessageRef", "Outgoing", "PeerMessage", "SendFn"]


class MessageRef(NamedTuple):
    """A hotline message by reference: its log (origin), seq and msg_id."""

    origin: str
    seq: int
    msg_id: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One hotline message the incidents layer wants sent.

    Attributes:
        peer: The party the message is for (``ccg``).
        kind: The hotline entry kind: ``notification`` or ``escalation``.
        template_id: The phrasebook template.
        params: Exactly the template's params, as text.
        deadline_ms: The acknowledgement deadline (Unix ms), or ``None`` for none.
        refs: (origin, seq) of the messages it refers to.
        incident_key: The incident's correlation key (text form).
        level: The ladder level (1 = first notification).
        msg_id: A deterministic id for this message.
    """

    peer: str
    kind: str
    template_id: str
    params: dict[str, str]
    deadline_ms: int | None
    refs: list[tuple[str, int]]
    incident_key: str
    level: int
    msg_id: str


class SendFn(Protocol):
    """Sends one hotline message and returns its reference once it is stored.

    The node implements it with its ledger: render the message's template with its params
    from the phrasebook, put ``incident_key`` in the body's ``incident`` field (and ``level``
    in an ``escalation`` body), refer to ``refs`` and append with ``msg_id`` as the ledger's
    idempotency key, so a resend after a crash returns the stored entry.
    """

    def __call__(self, message: Outgoing) -> MessageRef: ...


@dataclass(frozen=True, slots=True)
class PeerMessage:
    """One hotline entry from the peer's log, as the incidents layer needs it.

    ``body`` is the entry's body (``incident`` holds the sender's correlation key, ``level``
    an escalation's level); ``refs`` are the (origin, seq) it refers to. ``author`` is the
    peer party; by default the first part of ``origin`` (``ccg/hotline/jcg`` -> ``ccg``).
    """

    origin: str
    seq: int
    msg_id: str
    kind: str
    body: Mapping[str, Any] = field(default_factory=dict)
    refs: tuple[tuple[str, int], ...] = ()
    created_ms: int = 0
    deadline_ms: int | None = None
    author: str | None = None

    @property
    def party(self) -> str:
        return self.author if self.author is not None else self.origin.split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class Change:
    """Something that happened to an incident.

    ``kind`` is one of: ``opened``, ``joined``, ``updated``, ``notified``, ``acknowledged``,
    ``escalated``, ``flagged``, ``cleared``, ``closing_proposed``, ``resolved``, ``closed``,
    ``retracted``, ``noted``, ``message``, ``sent``, ``send_failed``, ``overdue``.
    """

    kind: str
    incident_id: str
    status: str
    level: int
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "incident": self.incident_id,
            "status": self.status,
            "level": self.level,
            "detail": dict(self.detail),
        }
