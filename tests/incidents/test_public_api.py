"""The public API of seabridge.incidents is pinned: a change to it is a decision."""

from __future__ import annotations

import seabridge.incidents as incidents

PUBLIC = {
    "ACTIONS", "BY_KIND", "CAUSES", "STATES", "TRANSITIONS", "AgreementBook", "AgreementMessage",
    "Change", "CorrelationKey", "Counterpart", "IncidentManager", "LadderStep", "Mechanism",
    "MessageRef", "Outgoing", "PeerMessage", "SendFn", "countersign_body", "document_name",
    "key_for", "legal_actions", "load_mechanism", "parse_mechanism", "proposal_body", "review",
    "transition",
}  # fmt: skip


def test_all_is_pinned_and_importable() -> None:
    assert set(incidents.__all__) == PUBLIC
    for name in incidents.__all__:
        assert getattr(incidents, name) is not None


def test_the_manager_api() -> None:
    manager = incidents.IncidentManager
    for method in (
        "apply_events", "on_peer_message", "on_deadline_missed", "check_timers", "flush",
        "operator_ack", "operator_note", "operator_resolve", "propose_closing",
        "confirm_closing", "list", "get", "close",
    ):  # fmt: skip
        assert callable(getattr(manager, method)), method
