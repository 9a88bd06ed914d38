"""The demo's scripted duty officer (:class:`DemoBot`): answers the peer's hotline messages
for one node, labelled as a bot, and lets a deadline pass on purpose so an escalation follows.

Used by :mod:`seabridge.node.demo`; it signs through the node's ledger and notes in its
incidents, like an operator would. Never imports the web layer or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from seabridge.clock import Clock
from seabridge.hotline.entries import Entry, Ref, parse_timestamp
from seabridge.hotline.ledger import Ledger

if TYPE_CHECKING:
    from seabridge.node.incidents import IncidentsService

__all__ = ["BOT_PREFIX", "BOT_USER", "DemoBot"]

BOT_USER: Final = "demo-bot"
BOT_PREFIX: Final = "[demo bot]"
_ASKING: Final = ("notification", "escalation")


@dataclass
class _Pending:
    ref: Ref
    incident: str
    due_ms: int


class DemoBot:
    """The scripted duty officer of one node (CCG in the demo), labelled as a bot.

    Every ``step`` reads the peer's new messages from this node's mirror. Until the peer's
    first ``escalation`` comes, every ``notification`` is left unanswered, so deadlines pass
    and the peer escalates: the incidents escalate only a situation still live at its
    deadline (a close quarters situation is often over within its 15 minutes; a vessel in a
    zone is not), so the first escalation follows the earliest notification whose situation
    outlasts its deadline, without waiting for a second round of deadlines. From then on
    every notification, and every escalation, is acknowledged ``think_s`` (clock seconds)
    after it was written, with an ``ack`` entry whose text starts with ``[demo bot]``, noted
    in the incident's timeline as user ``demo-bot``. Deterministic: the choices depend only
    on the peer's log.
    """

    def __init__(
        self,
        ledger: Ledger,
        peer: str,
        clock: Clock,
        *,
        incidents: IncidentsService | None = None,
        think_s: float = 120.0,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.peer = peer
        self.clock = clock
        self.incidents = incidents
        self.think_ms = round(think_s * 1000)
        self.on_sent = on_sent
        self.ignored: list[tuple[str, int]] = []
        """The peer's notifications left unanswered on purpose (log, seq)."""
        self.escalated = False
        """An escalation from the peer has come: nothing more is left unanswered."""
        self.acked: list[tuple[str, int]] = []
        self._next = 0
        self._pending: list[_Pending] = []

    def step(self) -> list[Entry]:
        """Read new peer messages, send the acks now due; returns the acks sent."""
        origin = self.ledger.mirror_origin(self.peer)
        for entry in self.ledger.read_entries(origin, self._next):
            self._next = entry.seq + 1
            if entry.kind not in _ASKING or entry.deadline is None:
                continue
            if entry.kind == "escalation":
                self.escalated = True
            elif self._ignore(entry):
                continue
            self._pending.append(
                _Pending(
                    Ref(entry.log, entry.seq, entry.leaf_hash()),
                    str(entry.body.get("incident", "")),
                    parse_timestamp(entry.created) + self.think_ms,
                )
            )
        now_ms = self.clock.now_ms()
        due = [item for item in self._pending if item.due_ms <= now_ms]
        self._pending = [item for item in self._pending if item.due_ms > now_ms]
        sent = [self._ack(item) for item in due]
        if sent and self.on_sent is not None:
            self.on_sent()
        return sent

    def _ignore(self, entry: Entry) -> bool:
        """Leave this notification unanswered? (See the class docstring.)"""
        if self.escalated:
            return False
        self.ignored.append((entry.log, entry.seq))
        return True

    def _ack(self, item: _Pending) -> Entry:
        text = f"{BOT_PREFIX} Acknowledged your message {item.ref.log}#{item.ref.seq}."
        entry = self.ledger.send(
            self.peer,
            "ack",
            {"text": text, "text_en": text},
            refs=(item.ref,),
            lang="en",
            msg_id=f"ack.{self.peer}.{item.ref.seq}",  # as `seabridge hotline ack`: one ack
        )
        self.acked.append((item.ref.log, item.ref.seq))
        self._note(item, text)
        return entry

    def _note(self, item: _Pending, text: str) -> None:
        if self.incidents is None or not item.incident:
            return
        manager = self.incidents.manager
        for row in manager.list():
            if row["correlation_key"] == item.incident:
                manager.operator_note(row["id"], BOT_USER, text)
                return
