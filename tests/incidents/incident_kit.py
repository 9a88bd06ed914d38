"""Builders for incident tests: events, a fake SendFn that records calls, a manager factory.

Never a real ledger: the incidents layer must stay independent of the hotline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from seabridge.clock import ManualClock
from seabridge.detect.model import Event, RulebookRef
from seabridge.incidents.manager import IncidentManager
from seabridge.incidents.mechanism import Mechanism, load_mechanism
from seabridge.incidents.model import MessageRef, Outgoing, PeerMessage
from seabridge.packs import load_pack, load_parties

PACK = load_pack("ecs")
MECHANISM = load_mechanism(PACK)
PARTIES = load_parties(PACK)
RULEBOOK = RulebookRef("ecs-standard", 1, "ab" * 32)
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
JCG_SHIP, CCG_SHIP = 431999101, 413999101  # fleets of parties.toml
JP_FISHER, CN_FISHER = 431999004, 412999003  # flags only
OWN_LOG, PEER_LOG = "jcg/hotline/ccg", "ccg/hotline/jcg"


def event(
    event_id: str,
    vessels: tuple[int, ...] = (JCG_SHIP, CCG_SHIP),
    *,
    kind: str = "close_quarters",
    status: str = "open",
    level: int = 2,
    start_ms: int = T0,
    zone: str | None = None,
    lat: float = 25.74,
    lon: float = 123.47,
) -> Event:
    return Event(
        id=event_id,
        rule_id=kind.replace("_", "-"),
        kind=kind,
        rulebook=RULEBOOK,
        level=level,
        status=status,  # type: ignore[arg-type]
        vessels=vessels,
        start_ms=start_ms,
        end_ms=None if status == "open" else start_ms + 60_000,
        lat=lat,
        lon=lon,
        zone=zone,
        metrics={"cpa_m": 250.0, "tcpa_s": 300.0},
    )


@dataclass(frozen=True, slots=True)
class Call(Outgoing):
    ref: MessageRef


@dataclass
class FakeHotline:
    """A SendFn that records every call and numbers messages like a log, idempotent on
    msg_id as the ledger is; ``fail`` makes the next sends raise."""

    calls: list[Call] = field(default_factory=list)
    by_msg_id: dict[str, MessageRef] = field(default_factory=dict)
    fail: int = 0

    def __call__(self, message: Outgoing) -> MessageRef:
        if self.fail:
            self.fail -= 1
            raise OSError("link down")
        if message.msg_id in self.by_msg_id:
            return self.by_msg_id[message.msg_id]
        ref = MessageRef(OWN_LOG, len(self.by_msg_id), message.msg_id)
        self.by_msg_id[message.msg_id] = ref
        sent = {f.name: getattr(message, f.name) for f in fields(message)}
        self.calls.append(Call(**sent, ref=ref))
        return ref

    def of_kind(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]


def manager(
    path: Path,
    clock: ManualClock,
    hotline: FakeHotline,
    *,
    party: str = "jcg",
    mechanism: Mechanism = MECHANISM,
    **options: Any,
) -> IncidentManager:
    return IncidentManager(path, mechanism, party, clock, hotline, parties=PARTIES, **options)


def ack(seq: int, ref: MessageRef, kind: str = "ack") -> PeerMessage:
    """The peer's ack (or reply) of our message ``ref``, at ``seq`` of its log."""
    return PeerMessage(PEER_LOG, seq, f"ack.{seq}", kind, {}, ((ref.origin, ref.seq),))
