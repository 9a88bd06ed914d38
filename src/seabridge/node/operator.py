"""What an operator does to an incident from the console: acknowledge, note, resolve.

Every action is recorded in the incident's timeline with the operator's name as actor (the
manager does it in the same transaction as the state change). A note is *internal* (it stays
in this node's timeline, shown only to this node's users, never sent to the peer) or shared
(also sent as a hotline ``note`` entry to every peer of the incident's thread, the timeline
recording where it went). This module never imports the web layer or the CLI.
"""

from __future__ import annotations

from seabridge.incidents import Change
from seabridge.node.incidents import IncidentsService
from seabridge.node.messages import message_body

__all__ = ["incident_ack", "incident_note", "incident_resolve"]


def incident_ack(
    service: IncidentsService, incident_id: str, user: str, text: str = ""
) -> list[Change]:
    """``user`` records the counterpart's acknowledgement.

    Raises:
        IncidentError: no such incident, or it cannot be acknowledged in its status.
    """
    return service.manager.operator_ack(incident_id, user, text)


def incident_resolve(
    service: IncidentsService, incident_id: str, user: str, text: str = ""
) -> list[Change]:
    """``user`` declares the situation resolved; its timers stop.

    Raises:
        IncidentError: no such incident, or it cannot be resolved in its status.
    """
    return service.manager.operator_resolve(incident_id, user, text)


def incident_note(
    service: IncidentsService,
    incident_id: str,
    user: str,
    text: str,
    *,
    internal: bool,
    lang: str = "en",
    text_en: str | None = None,
) -> list[Change]:
    """``user``'s note on the incident; see the module docstring.

    Raises:
        IncidentError: no such incident.
        InputError: an empty text, or a shared note in another language without its English.
    """
    peers = service.manager.get(incident_id)["peers"]  # IncidentError when unknown
    if internal:
        return service.manager.operator_note(incident_id, user, text, internal=True)
    body = message_body(
        lambda: service.phrasebook,
        template=None,
        params={},
        text=text,
        text_en=text_en,
        lang=lang,
        marker="INFORMATION",
    )
    sent = []
    for peer in peers:
        entry = service.ledger.send(peer, "note", {**body, "incident": incident_id}, lang=lang)
        sent.append({"peer": peer, "origin": entry.log, "seq": entry.seq})
    return service.manager.operator_note(incident_id, user, text, internal=False, sent=sent)
