"""The incident lifecycle as a transition table: states, actions, causes.

An incident is born ``open`` and moves only through :data:`TRANSITIONS`; every other
(state, action) pair is refused with an :class:`~seabridge.errors.IncidentError` that names
both. The usual path is ``open -> notified -> acknowledged -> de-escalating -> resolved ->
closed``; a missed deadline moves ``notified`` (or ``escalated`` again) to ``escalated``; an
incident whose events were all retracted goes to ``retracted``. ``closed`` and ``retracted``
are final.

Every step is recorded with what caused it (:data:`CAUSES`): a detection ``rule``, an
``operator``, a ``peer`` message, a missed ``deadline``, or the ``system`` itself.

This module is data and one pure function: no storage, no clock.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final, Literal, get_args

from seabridge.errors import IncidentError

__all__ = [
    "ACTIONS",
    "ACTIVE",
    "CAUSES",
    "FINAL",
    "STATES",
    "TRANSITIONS",
    "Action",
    "Cause",
    "State",
    "check_cause",
    "legal_actions",
    "transition",
]

State = Literal[
    "open",
    "notified",
    "acknowledged",
    "escalated",
    "de-escalating",
    "resolved",
    "closed",
    "retracted",
]
Action = Literal["notify", "acknowledge", "escalate", "clear", "resolve", "close", "retract"]
Cause = Literal["rule", "operator", "peer", "deadline", "system"]

STATES: Final[tuple[State, ...]] = get_args(State)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
CAUSES: Final[tuple[Cause, ...]] = get_args(Cause)

ACTIVE: Final = frozenset({"open", "notified", "acknowledged", "escalated"})
"""States in which the situation is ongoing: new events may join, deadlines may run."""
FINAL: Final = frozenset({"closed", "retracted"})
"""States nothing leaves."""

# What each action means:
#   notify       the counterpart was told (our notification sent, or the peer's received)
#   acknowledge  the counterpart acknowledged (a peer ack or reply, or an operator's word)
#   escalate     a deadline was missed (or an operator decided): the next ladder level
#   clear        every event of the incident closed: the situation is clearing
#   resolve      an operator declares the situation resolved
#   close        the closing message was confirmed: the record is closed
#   retract      every event of the incident was retracted by detection
_TABLE: dict[State, dict[Action, State]] = {
    "open": {
        "notify": "notified",
        "clear": "de-escalating",
        "resolve": "resolved",
        "retract": "retracted",
    },
    "notified": {
        "acknowledge": "acknowledged",
        "escalate": "escalated",
        "clear": "de-escalating",
        "resolve": "resolved",
        "retract": "retracted",
    },
    "escalated": {
        "acknowledge": "acknowledged",
        "escalate": "escalated",  # a missed deadline at level n escalates to n + 1
        "clear": "de-escalating",
        "resolve": "resolved",
        "retract": "retracted",
    },
    "acknowledged": {
        "escalate": "escalated",  # an operator may still escalate an acknowledged incident
        "clear": "de-escalating",
        "resolve": "resolved",
        "retract": "retracted",
    },
    "de-escalating": {
        "resolve": "resolved",
        "close": "closed",
        "retract": "retracted",  # a closed event may still be retracted by detection
    },
    "resolved": {"close": "closed"},
    "closed": {},
    "retracted": {},
}

TRANSITIONS: Final = MappingProxyType(
    {state: MappingProxyType(actions) for state, actions in _TABLE.items()}
)
"""state -> action -> new state: the only legal steps."""


def legal_actions(state: str) -> tuple[str, ...]:
    """The actions ``state`` accepts, in :data:`ACTIONS` order (empty for a final state)."""
    if state not in TRANSITIONS:
        raise IncidentError(f"unknown incident state {state!r} (states: {', '.join(STATES)})")
    return tuple(action for action in ACTIONS if action in TRANSITIONS[state])  # type: ignore[index]


def transition(state: str, action: str) -> State:
    """The state ``action`` leads to from ``state``.

    Raises:
        IncidentError: an unknown state or action, or an action ``state`` does not accept;
            the message names both and lists what ``state`` accepts.
    """
    if action not in ACTIONS:
        raise IncidentError(f"unknown incident action {action!r} (actions: {', '.join(ACTIONS)})")
    allowed = legal_actions(state)
    if action not in allowed:
        accepts = ", ".join(allowed) if allowed else f"nothing: {state} is final"
        raise IncidentError(
            f"an incident in state {state!r} cannot take the action {action!r} "
            f"(it accepts {accepts})"
        )
    return TRANSITIONS[state][action]  # type: ignore[index]


def check_cause(cause: str) -> Cause:
    """``cause`` if it is one of :data:`CAUSES`.

    Raises:
        IncidentError: not a known cause.
    """
    if cause not in CAUSES:
        raise IncidentError(f"unknown transition cause {cause!r} (causes: {', '.join(CAUSES)})")
    return cause
