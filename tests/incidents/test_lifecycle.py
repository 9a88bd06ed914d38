"""The transition table, exhaustively: every (state, action) pair either reaches the state
the lifecycle of issue 7 names or is refused with an error naming both."""

from __future__ import annotations

import itertools

import pytest

from seabridge.errors import IncidentError
from seabridge.incidents.lifecycle import (
    ACTIONS,
    CAUSES,
    FINAL,
    STATES,
    TRANSITIONS,
    check_cause,
    legal_actions,
    transition,
)

# Written out independently of the module's table: the lifecycle of issue 7.
EXPECTED = {
    ("open", "notify"): "notified",
    ("open", "clear"): "de-escalating",
    ("open", "resolve"): "resolved",
    ("open", "retract"): "retracted",
    ("notified", "acknowledge"): "acknowledged",
    ("notified", "escalate"): "escalated",
    ("notified", "clear"): "de-escalating",
    ("notified", "resolve"): "resolved",
    ("notified", "retract"): "retracted",
    ("escalated", "acknowledge"): "acknowledged",
    ("escalated", "escalate"): "escalated",
    ("escalated", "clear"): "de-escalating",
    ("escalated", "resolve"): "resolved",
    ("escalated", "retract"): "retracted",
    ("acknowledged", "escalate"): "escalated",
    ("acknowledged", "clear"): "de-escalating",
    ("acknowledged", "resolve"): "resolved",
    ("acknowledged", "retract"): "retracted",
    ("de-escalating", "resolve"): "resolved",
    ("de-escalating", "close"): "closed",
    ("de-escalating", "retract"): "retracted",
    ("resolved", "close"): "closed",
}
PAIRS = list(itertools.product(STATES, ACTIONS))


def test_states_actions_and_causes_are_the_issues() -> None:
    assert set(STATES) == {
        "open", "notified", "acknowledged", "escalated", "de-escalating", "resolved", "closed",
        "retracted",
    }  # fmt: skip
    assert set(CAUSES) == {"rule", "operator", "peer", "deadline", "system"}
    assert set(TRANSITIONS) == set(STATES)


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_pair(state: str, action: str) -> None:
    if (state, action) in EXPECTED:
        assert transition(state, action) == EXPECTED[(state, action)]
        assert action in legal_actions(state)
    else:
        with pytest.raises(IncidentError) as caught:
            transition(state, action)
        assert repr(state) in str(caught.value)
        assert repr(action) in str(caught.value)
        assert action not in legal_actions(state)


def test_the_usual_path_and_the_final_states() -> None:
    state = "open"
    for action in ("notify", "acknowledge", "clear", "resolve", "close"):
        state = transition(state, action)
    assert state == "closed"
    for final in FINAL:
        assert legal_actions(final) == ()
        with pytest.raises(IncidentError, match="final"):
            transition(final, "resolve")


def test_unknown_names_are_refused() -> None:
    with pytest.raises(IncidentError, match="unknown incident action 'reopen'"):
        transition("open", "reopen")
    with pytest.raises(IncidentError, match="unknown incident state 'lost'"):
        transition("lost", "notify")
    with pytest.raises(IncidentError, match="unknown transition cause 'rumour'"):
        check_cause("rumour")
    assert check_cause("deadline") == "deadline"
