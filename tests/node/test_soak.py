"""R11 of ``domain/hotline-protocol.md`` §7, the soak: both nodes send messages to each other
while faults of four kinds land at seeded points of the traffic; after quiescence R1-R4 and R6
hold. (R5, syscall faults, is ``tests/hotline/test_syscall_faults.py``; a real ``kill -9`` is
``tests/hotline/test_kill9.py``.)

The two nodes of :mod:`hotline_net` run in one process on one ManualClock, each on its own
node directory opened as ``seabridge serve`` opens it (``open_ledger``). Faults start at a
seeded message index, never after a wall-clock sleep; the last tenth of the traffic runs clean
so that every armed crash fires:

- ``partition``: one link or both refuse every request for the next k messages, then heal;
- ``lost-responses``: one link or both lose a share of push answers after the peer committed;
- ``restart``: a node is closed between rounds and opened again on its directory;
- ``crash``: a node dies in the middle of its work and is opened again: in a push the peer
  has committed (its answer never arrives), in the application's handler after the effect was
  written (the consumer's transaction never commits), or right after a send committed (the
  application never saw the seq and sends again with the same ``msg_id``). Nothing of the dead
  node is flushed or closed except its SQLite connection, as the kernel closes a killed
  process's files; its uncommitted transaction rolls back as SQLite's journal would roll it
  back after SIGKILL.

``SEABRIDGE_SOAK_MESSAGES`` (default 600) and ``SEABRIDGE_SOAK_FAULTS`` (default 12) size the
run, ``SEABRIDGE_SOAK_SEED`` picks traffic and faults (printed, so a failing run can be
repeated). ``make soak`` runs R11's 10,000 messages and 50 faults; the wall time and messages/s
are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from collections import Counter, deque
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from hotline_net import CAP_S, HEARTBEAT_S, PARTIES, Link, Net, make_delivery, other
from node_builders import T0_MS, fixed_clock, make_pair

from seabridge.hotline.entries import Entry
from seabridge.hotline.ledger import Ledger
from seabridge.node.record import verify_node
from seabridge.node.runtime import Delivery, StepResult, open_ledger

MESSAGES = int(os.environ.get("SEABRIDGE_SOAK_MESSAGES", "600"))
FAULTS = int(os.environ.get("SEABRIDGE_SOAK_FAULTS", "12"))
SEED = int(os.environ.get("SEABRIDGE_SOAK_SEED", "20260511"))
ROUND_EVERY = 4  # messages between two delivery rounds, on average
TICK_S = 0.1  # ManualClock seconds per round
KINDS = ("partition", "lost-responses", "restart", "crash")
WINDOWS = ("partition", "lost-responses")
CRASH_POINTS = ("push", "consume", "send")
EFFECTS = "CREATE TABLE IF NOT EXISTS app_effects (origin TEXT, seq INTEGER, msg_id TEXT)"


class NodeCrashError(Exception):
    """The node's process dies here: the stack unwinds and nothing else of it runs."""

    def __init__(self, point: str) -> None:
        super().__init__(f"node crashed ({point})")
        self.point = point


@dataclass(frozen=True)
class Fault:
    kind: str
    at: int
    """The message index it starts at."""
    until: int
    """The message index a window heals at (``at`` for a restart or crash)."""
    parties: tuple[str, ...]
    """The nodes whose outgoing link is cut or lossy, or the node restarted or crashed."""
    drop_rate: float = 0.0
    point: str = ""
    """Where a crash lands (one of :data:`CRASH_POINTS`)."""


def plan_faults(rng: random.Random, messages: int, faults: int) -> list[Fault]:
    """``faults`` faults, the kinds in turn (shuffled), at seeded indexes in the first 90 %."""
    kinds = [KINDS[i % len(KINDS)] for i in range(faults)]
    rng.shuffle(kinds)
    last = max(1, messages * 9 // 10 - faults)  # a send crash takes a message of its own
    longest = max(2, 2 * messages // max(faults, 1))
    plan = []
    for kind in kinds:
        at, party = rng.randrange(last), rng.choice(PARTIES)
        if kind in WINDOWS:
            until = at + rng.randint(1, longest)
            parties = rng.choice(((party,), PARTIES))
            rate = rng.choice((0.25, 0.5, 1.0)) if kind == "lost-responses" else 0.0
            plan.append(Fault(kind, at, until, parties, drop_rate=rate))
        else:
            point = rng.choice(CRASH_POINTS) if kind == "crash" else ""
            plan.append(Fault(kind, at, at, (party,), point=point))
    return sorted(plan, key=lambda fault: fault.at)


class SoakLink(Link):
    """A :class:`Link` whose node can be made to die in its next push: after the peer has
    committed it, or, when the link is cut, before anything left."""

    def __init__(self, ledger: Ledger, seed: int = 0) -> None:
        super().__init__(ledger, seed)
        self.crash_armed = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.crash_armed and request.method == "POST":
            self.crash_armed = False
            if not self.partitioned:
                await (await self.inner.handle_async_request(request)).aread()
            raise NodeCrashError("push")
        self.refused += self.partitioned
        return await super().handle_async_request(request)


@dataclass
class App:
    """The application of one node: the peer's log handed over exactly once (§5.8), one
    ``app_effects`` row per entry written in the consumer's transaction."""

    crash_after: int | None = None
    """Die inside the handler of the entry after this many more (its effect written)."""

    def consume(self, ledger: Ledger, peer: str) -> int:
        def handler(conn: sqlite3.Connection, entry: Entry) -> None:
            conn.execute(EFFECTS)
            row = (entry.log, entry.seq, entry.msg_id)
            conn.execute("INSERT INTO app_effects VALUES (?, ?, ?)", row)
            if self.crash_after == 0:
                self.crash_after = None
                raise NodeCrashError("consume")
            if self.crash_after is not None:
                self.crash_after -= 1

        return ledger.consume(ledger.mirror_origin(peer), handler)


@dataclass
class SoakNet(Net):
    """Two nodes on their node directories; a crash in a round restarts the node."""

    apps: dict[str, App] = field(default_factory=dict)
    acked: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per sender: msg_id -> the seq its send returned to the application."""
    fired: Counter[str] = field(default_factory=Counter)
    """Restarts, and crashes by point, that happened."""
    abandoned: list[Delivery] = field(default_factory=list)
    opened: int = 0

    def open(self, party: str) -> Ledger:
        """``party``'s ledger from its node directory, as ``seabridge serve`` opens it."""
        self.opened += 1
        rng = random.Random(f"{SEED}/{self.opened}")  # backoff jitter
        ledger = open_ledger(
            self.nodes[party],
            self.clock,
            backoff_cap_s=CAP_S,
            heartbeat_interval_s=HEARTBEAT_S,
            rng=rng,
        )
        self.ledgers[party] = ledger
        return ledger

    def link(self, party: str) -> SoakLink:
        link = self.links[party]
        assert isinstance(link, SoakLink)
        return link

    async def restart(self, party: str, crashed: str | None = None) -> None:
        """Stop ``party``'s node (cleanly, or dead at point ``crashed``) and open it again on
        the same directory; the peer's link then reaches the new process."""
        if crashed is None:
            await self.deliveries[party].aclose()
        else:
            self.abandoned.append(self.deliveries[party])  # its HTTP client closed at the end
        self.ledgers[party].close()
        self.link(other(party)).serve(self.open(party))
        self.deliveries[party] = make_delivery(self, party)
        self.fired[f"crash-{crashed}" if crashed else "restart"] += 1

    async def round(self) -> list[StepResult]:
        """Each node: one delivery step, then its application consumes what arrived."""
        results = []
        for party in PARTIES:
            try:
                results.append(await self.deliveries[party].step(self.clock.now_ms()))
            except NodeCrashError as crash:
                await self.restart(party, crash.point)
            await self.consume(party)
        return results

    async def consume(self, party: str) -> None:
        """``party``'s application takes what arrived; when it dies in its handler, the node
        is restarted and the application goes on from the cursor."""
        while True:
            try:
                self.apps[party].consume(self.ledgers[party], other(party))
                return
            except NodeCrashError as crash:
                await self.restart(party, crash.point)

    def message(self, party: str, index: int) -> Entry:
        """Send message ``index`` from ``party``; the application notes the seq returned."""
        msg_id = f"{party}.{index:05d}"
        entry = self.send(party, f"{party} message {index}", msg_id=msg_id)
        assert self.acked[party].setdefault(msg_id, entry.seq) == entry.seq, msg_id
        return entry

    async def crash_after_send(self, party: str, index: int) -> None:
        """The send commits, the node dies before the application sees the seq; after the
        restart the application sends again with the same msg_id (R2's indeterminate send)."""
        unseen = self.send(party, f"{party} message {index}", msg_id=f"{party}.{index:05d}")
        await self.restart(party, "send")
        again = self.message(party, index)
        assert (again.seq, again.to_bytes()) == (unseen.seq, unseen.to_bytes())

    def set_windows(self, active: list[Fault]) -> None:
        for party in PARTIES:
            link = self.link(party)
            here = [fault for fault in active if party in fault.parties]
            link.partitioned = any(fault.kind == "partition" for fault in here)
            link.drop_rate = max((fault.drop_rate for fault in here), default=0.0)

    async def inject(self, fault: Fault, index: int, rng: random.Random) -> int:
        """Start ``fault`` before message ``index``; return how many messages it sent."""
        party = fault.parties[0]
        if fault.kind == "restart":
            await self.restart(party)
        elif fault.point == "send":
            await self.crash_after_send(party, index)
            return 1
        elif fault.point == "push":
            self.link(party).crash_armed = True
        elif fault.point == "consume":
            self.apps[party].crash_after = rng.randrange(4)
        return 0


async def traffic(net: SoakNet, plan: list[Fault], rng: random.Random) -> None:
    """``MESSAGES`` sends from both nodes, a delivery round every ~ROUND_EVERY of them, the
    faults of ``plan`` started and healed at their message indexes."""
    queue = deque(plan)
    active: list[Fault] = []
    index = 0
    while index < MESSAGES:
        active = [fault for fault in active if fault.until > index]
        while queue and queue[0].at <= index and index < MESSAGES:
            fault = queue.popleft()
            if fault.kind in WINDOWS:
                active.append(fault)
            else:
                index += await net.inject(fault, index, rng)
        net.set_windows(active)
        if index == MESSAGES:
            break
        net.message(rng.choice(PARTIES), index)
        index += 1
        if rng.random() < 1 / ROUND_EVERY:
            await net.round()
            net.clock.advance(TICK_S)
    assert not queue, f"{len(queue)} faults not injected: too few messages for the faults"
    net.set_windows([])  # every window heals
    await net.settle(tick_s=TICK_S)
    for party in PARTIES:  # what arrived in the last round
        await net.consume(party)


def effects(path: Path, origin: str) -> list[tuple[int, str, int]]:
    """(seq, msg_id, how many times) of the application's effects of ``origin``."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT seq, msg_id, count(*) FROM app_effects WHERE origin = ? "
            "GROUP BY seq, msg_id ORDER BY seq",
            (origin,),
        ).fetchall()
    return [(int(seq), str(msg_id), int(count)) for seq, msg_id, count in rows]


def check(net: SoakNet) -> None:
    """R1-R4 and R6 after quiescence."""
    net.assert_identical()  # R3/R4/R6: the peer holds every entry, same bytes and checkpoint
    for party in PARTIES:
        peer = other(party)
        author, mirror = net.ledgers[party], net.ledgers[peer]
        origin = author.own_origin(peer)
        acked = net.acked[party]
        stored = {entry.msg_id: entry.seq for entry in author.read_entries(origin)}
        lost = sorted(mid for mid, seq in acked.items() if stored.get(mid) != seq)
        assert not lost, f"R1: {origin}: acknowledged, not stored at that seq: {lost[:10]}"
        assert stored == {entry.msg_id: entry.seq for entry in mirror.read_entries(origin)}
        assert stored.keys() == acked.keys(), f"{origin}: entries no send returned"
        assert author.delivery_state(peer).acked_size == len(stored)  # all cosigned
        handled = effects(net.nodes[peer].dir.state, origin)
        expected = sorted((seq, mid, 1) for mid, seq in acked.items())
        assert handled == expected, f"R2: {origin}: effects missing or duplicated at {peer}"
        assert author.evidence() == [], f"{party} kept evidence of an equivocation"
        report = verify_node(net.nodes[party], author)
        assert report.ok, report.summary_lines()
        assert net.deliveries[party].alarms() == {}


def test_soak(tmp_path: Path) -> None:
    """R11: N messages both ways with M mixed faults; after quiescence R1-R4 and R6 hold."""
    print(f"seed={SEED} messages={MESSAGES} faults={FAULTS}")
    rng = random.Random(SEED)
    plan = plan_faults(rng, MESSAGES, FAULTS)
    clock = fixed_clock()
    nodes = dict(zip(PARTIES, make_pair(tmp_path, clock), strict=True))
    net = SoakNet(clock, nodes)
    for party in PARTIES:
        net.open(party)
        net.apps[party], net.acked[party] = App(), {}
    for i, party in enumerate(PARTIES):
        net.links[party] = SoakLink(net.ledgers[other(party)], seed=SEED + i)
        net.deliveries[party] = make_delivery(net, party)

    async def scenario() -> float:
        try:
            started = time.perf_counter()
            await traffic(net, plan, rng)
            return time.perf_counter() - started
        finally:
            for delivery in [*net.deliveries.values(), *net.abandoned]:
                await delivery.aclose()

    try:
        run_s = asyncio.run(scenario())
        started = time.perf_counter()
        check(net)
        check_s = time.perf_counter() - started
    finally:
        for ledger in net.ledgers.values():
            ledger.close()

    crashes = {point: net.fired[f"crash-{point}"] for point in CRASH_POINTS}
    planned = Counter(fault.point for fault in plan if fault.kind == "crash")
    assert crashes == {point: planned[point] for point in CRASH_POINTS}, "an armed crash missed"
    assert net.fired["restart"] == sum(fault.kind == "restart" for fault in plan)
    kinds = Counter(fault.kind for fault in plan)
    print(
        f"faults: {', '.join(f'{kind} {kinds[kind]}' for kind in KINDS)} "
        f"(crashes in a push {crashes['push']}, in the handler {crashes['consume']}, "
        f"after a send {crashes['send']}); answers lost "
        f"{sum(net.link(p).dropped for p in PARTIES)}, requests refused "
        f"{sum(net.link(p).refused for p in PARTIES)}, alarms {len(net.alarms)}; "
        f"{(clock.now_ms() - T0_MS) / 1000:.0f} s of the ManualClock"
    )
    print(
        f"wall time {run_s:.1f} s for {MESSAGES} messages ({MESSAGES / run_s:.0f} messages/s), "
        f"checks and verify {check_s:.1f} s"
    )
