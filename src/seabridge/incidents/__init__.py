"""Incidents: correlation, the lifecycle table, the escalation ladder, the counterparts.

Detection events at or above the mechanism's ``open_level`` open an incident or join one;
each incident walks the lifecycle table (:mod:`~seabridge.incidents.lifecycle`) and the
escalation ladder of the pack's mechanism file (:mod:`~seabridge.incidents.mechanism`), and
talks to the peer through a send function handed in (the hotline knows nothing of incidents).
Agreements on the rulebook and the mechanism are tracked by :class:`AgreementBook`.

This package imports only :mod:`seabridge.detect` (the event type) and the ground floor;
never the hotline, the node, the web layer or the CLI.

Example::

    pack = load_pack("ecs")
    mechanism = load_mechanism(pack)
    manager = IncidentManager(
        node_dir / "state.sqlite", mechanism, "jcg", SystemClock(), send,
        parties=load_parties(pack), agreed=book.is_agreed,
    )
    changes = manager.apply_events(events)
    manager.on_peer_message(conn, PeerMessage(origin, seq, msg_id, kind, body, refs))
    manager.on_deadline_missed((origin, seq))
"""

from __future__ import annotations

from seabridge.incidents.agreements import (
    AgreementBook,
    AgreementMessage,
    countersign_body,
    document_name,
    proposal_body,
    review,
)
from seabridge.incidents.correlate import CorrelationKey, key_for
from seabridge.incidents.lifecycle import (
    ACTIONS,
    CAUSES,
    STATES,
    TRANSITIONS,
    legal_actions,
    transition,
)
from seabridge.incidents.manager import IncidentManager
from seabridge.incidents.mechanism import (
    BY_KIND,
    Counterpart,
    LadderStep,
    Mechanism,
    load_mechanism,
    parse_mechanism,
)
from seabridge.incidents.model import Change, MessageRef, Outgoing, PeerMessage, SendFn

__all__ = [
    "ACTIONS",
    "BY_KIND",
    "CAUSES",
    "STATES",
    "TRANSITIONS",
    "AgreementBook",
    "AgreementMessage",
    "Change",
    "CorrelationKey",
    "Counterpart",
    "IncidentManager",
    "LadderStep",
    "Mechanism",
    "MessageRef",
    "Outgoing",
    "PeerMessage",
    "SendFn",
    "countersign_body",
    "document_name",
    "key_for",
    "legal_actions",
    "load_mechanism",
    "parse_mechanism",
    "proposal_body",
    "review",
    "transition",
]
