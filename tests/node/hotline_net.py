"""Two hotline nodes in one process (``domain/hotline-protocol.md`` §5.6-5.9): each node's
:class:`~seabridge.node.runtime.Delivery` reaches the other's federation app through a
:class:`Link` that can partition, lose responses after the peer committed, take hosts down or
answer for the peer. Import with ``from hotline_net import ...`` (``test_runtime.py``,
``test_soak.py``).

Both nodes share one ManualClock and are driven by ``Delivery.step``: nothing sleeps, and
every time asserted is the ManualClock's (the backoff schedule), never the wall's.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from seabridge.clock import ManualClock
from seabridge.hotline.entries import Entry
from seabridge.hotline.ledger import MAX_PULL, Ledger
from seabridge.node import NodeConfig
from seabridge.node.runtime import Delivery, DeliveryOptions, StepResult
from seabridge.web import federation_app

__all__ = [
    "CAP_S",
    "HEARTBEAT_S",
    "OPTIONS",
    "PARTIES",
    "Link",
    "Net",
    "all_entries",
    "body",
    "make_delivery",
    "other",
]

PARTIES = ("jcg", "ccg")
CAP_S = 2.0  # §5.7: backoff cap 1-2 s in tests
HEARTBEAT_S = 10.0
OPTIONS = DeliveryOptions(heartbeat_interval_s=HEARTBEAT_S, pull_interval_s=5.0)


def other(party: str) -> str:
    return "ccg" if party == "jcg" else "jcg"


def body(text: str) -> dict[str, object]:
    return {"text": text, "text_en": text, "marker": "INFORMATION"}


def all_entries(ledger: Ledger, origin: str) -> list[tuple[bytes, bytes]]:
    """Every stored entry of ``origin`` (``Ledger.entries`` answers at most MAX_PULL)."""
    found: list[tuple[bytes, bytes]] = []
    while page := ledger.entries(origin, len(found), len(found) + MAX_PULL):
        found += page
    return found


class Link(httpx.AsyncBaseTransport):
    """One direction of the network: requests of one node to the other's federation app."""

    def __init__(self, ledger: Ledger, seed: int = 0) -> None:
        self.serve(ledger)
        self.partitioned = False
        self.down_hosts: set[str] = set()
        self.drop_rate = 0.0
        self.answer: int | None = None
        self.rng = random.Random(seed)
        self.posts = 0
        self.dropped = 0

    def serve(self, ledger: Ledger) -> None:
        """Reach the federation app of ``ledger`` (the peer's, opened again after a restart)."""
        self.inner = httpx.ASGITransport(app=federation_app(ledger))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        push = request.method == "POST"
        self.posts += push
        if self.partitioned or request.url.host in self.down_hosts:
            raise httpx.ConnectError("no route to host", request=request)
        if push and self.answer is not None:
            return httpx.Response(self.answer, json={"error": "signature", "detail": "forced"})
        response = await self.inner.handle_async_request(request)
        if push and self.drop_rate and self.rng.random() < self.drop_rate:
            await response.aread()  # forwarded and committed; the answer is lost
            self.dropped += 1
            raise httpx.ReadError("connection reset before the response", request=request)
        return response


@dataclass
class Net:
    clock: ManualClock
    nodes: dict[str, NodeConfig]
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    alarms: list[tuple[str, str, int]] = field(default_factory=list)
    missed: list[Entry] = field(default_factory=list)
    receipts: list[tuple[str, str, int]] = field(default_factory=list)

    def send(self, party: str, text: str, **options: object) -> Entry:
        return self.ledgers[party].send(other(party), "notification", body(text), **options)  # type: ignore[arg-type]

    async def round(self) -> list[StepResult]:
        now = self.clock.now_ms()
        return [await self.deliveries[party].step(now) for party in PARTIES]

    def converged(self) -> bool:
        for party in PARTIES:
            ledger, peer = self.ledgers[party], self.ledgers[other(party)]
            own = ledger.own_origin(other(party))
            size = ledger.size(own)
            if ledger.delivery_state(other(party)).acked_size != size or peer.size(own) != size:
                return False
        return True

    async def settle(self, tick_s: float = 0.1, rounds: int = 3000) -> int:
        """Step both nodes, advancing the clock by ``tick_s``, until both logs are delivered
        and cosigned both ways; return the ManualClock milliseconds it took."""
        start = self.clock.now_ms()
        for _ in range(rounds):
            await self.round()
            if self.converged():
                return self.clock.now_ms() - start
            self.clock.advance(tick_s)
        raise AssertionError(f"not converged after {rounds} rounds")

    def assert_identical(self) -> None:
        """Both views of both logs: same entries, same latest checkpoint, cosigned."""
        for party in PARTIES:
            author, mirror = self.ledgers[party], self.ledgers[other(party)]
            origin = author.own_origin(other(party))
            size = author.size(origin)
            stored = all_entries(author, origin)
            assert all_entries(mirror, origin) == stored
            seqs = [Entry.from_bytes(data).seq for data, _ in stored]
            assert seqs == list(range(size))  # no gap
            msg_ids = [Entry.from_bytes(data).msg_id for data, _ in stored]
            assert len(set(msg_ids)) == size  # no duplicate
            note, cosignatures = author.checkpoint(origin)
            assert mirror.checkpoint(origin)[0] == note  # same size and root, same signature
            assert note.startswith(f"{origin}\n{size}\n")
            assert cosignatures, f"{origin} size {size} has no receipt at the author"


def make_delivery(
    net: Net, party: str, wait: Callable[[float], Awaitable[None]] | None = None
) -> Delivery:
    """``party``'s delivery loop to the other node, over its :class:`Link`."""
    peer = other(party)

    def on_alarm(peer: str, text: str) -> None:
        net.alarms.append((party, text, net.clock.now_ms()))

    def on_receipt(peer: str, size: int) -> None:
        net.receipts.append((party, peer, size))

    return Delivery(
        net.ledgers[party],
        {peer: httpx.AsyncClient(transport=net.links[party])},
        {peer: [f"https://{peer}-primary:8443", f"https://{peer}-backup:8443/"]},
        net.clock,
        options=OPTIONS,
        on_alarm=on_alarm,
        on_receipt=on_receipt,
        on_deadline_missed=net.missed.extend,
        wait=wait,
    )
