"""The two-node demo (``seabridge demo``): JCG and CCG nodes on one machine, one simulator
feeding both, a replay clock, and a scripted CCG duty officer.

- :func:`prepare` makes the work directory: ``jcg/`` and ``ccg/`` (``init_node`` with fixed
  ports on 127.0.0.1, bundles exchanged), one operator login per node with a generated
  password (``demo-logins.txt``, 0600), and the empty shared feed ``feed.nmea``.
- :func:`run_demo` opens both nodes (:class:`~seabridge.node.service.Node`, the same wiring as
  ``seabridge serve``) on one :class:`DemoClock` at the demo's speed (a replay clock that is
  held until both nodes serve, never runs ahead of what they have read, and holds again while
  a headless run drains), so detection's data time, deadlines, heartbeats and ledger
  timestamps all run together. One
  :class:`FeedWriter` runs the scenario (its start moved to now) and appends its NMEA to
  ``feed.nmea`` as the replay clock reaches each transmission; both nodes tail that file like a
  receiver's log, so they see the same sentences. Serving is the caller's: ``serve`` is handed
  each open node and serves it as ``seabridge serve`` does until told to stop.
- :class:`DemoBot` is the scripted CCG duty officer: it leaves the peer's notifications
  unanswered until the peer escalates (deadlines pass; the first situation still live at its
  deadline escalates), then acknowledges every notification and escalation after a short
  think time, signing as ``demo-bot`` with texts that start with ``[demo bot]``.
- :func:`summarize` counts what both nodes did and verifies both ledgers.

Console logins run on the wall clock (a session must not expire 60 times faster). This module
never imports the web layer or the CLI.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from seabridge.clock import Clock, SystemClock
from seabridge.errors import InputError
from seabridge.node.bundle import export_bundle, import_bundle
from seabridge.node.demobot import BOT_PREFIX, BOT_USER, DemoBot
from seabridge.node.directory import NodeConfig, init_node, load_node
from seabridge.node.sources import SourceConfig

if TYPE_CHECKING:
    from seabridge.node.service import Node
    from seabridge.sim import Scenario, Transmission

__all__ = [
    "BOT_PREFIX",
    "BOT_USER",
    "DemoBot",
    "DemoClock",
    "DemoNode",
    "DemoPorts",
    "DemoSetup",
    "FeedWriter",
    "ServeFn",
    "new_workdir",
    "prepare",
    "run_demo",
    "summarize",
]

log = logging.getLogger(__name__)

MARKER: Final = ".seabridge-demo"
FEED_FILE: Final = "feed.nmea"
LOGINS_FILE: Final = "demo-logins.txt"
SETUP_FILE: Final = "demo.json"
PARTIES: Final = (("jcg", "Japan Coast Guard"), ("ccg", "China Coast Guard"))
BOT_PARTY: Final = "ccg"
_BOT_EVERY_S: Final = 0.1  # wall seconds between the bot's looks at the hotline
_DRAIN_POLL_S: Final = 0.1
_SLACK_MS: Final = 60_000  # how far the clock may run ahead of what both nodes have read,
_SLACK_WALL_S: Final = 1.0  # or this many wall seconds of replayed time, if more (fast runs)
_FEED_EVERY_S: Final = 0.05  # wall seconds between the feed's rounds
_ASKING: Final = ("notification", "escalation")  # the kinds that ask for an acknowledgement

ServeFn = Callable[["Node", asyncio.Event, Callable[[], None]], Coroutine[Any, Any, None]]
"""Serves an open node as ``seabridge serve`` does (start it, its listeners, stop it) until the
event is set, calling the callable once it listens (the CLI's, over the web layer)."""


@dataclass(frozen=True)
class DemoPorts:
    """The listeners of both nodes: console and federation ports, jcg first."""

    console: tuple[int, int] = (8701, 8702)
    federation: tuple[int, int] = (8711, 8712)
    host: str = "127.0.0.1"

    @classmethod
    def from_base(cls, base: int) -> DemoPorts:
        """Consoles on ``base`` and ``base + 1``, federation on ``base + 10`` and ``+ 11``."""
        if not 1024 <= base <= 65_524:
            raise InputError(f"--ports-base {base}: give a port from 1024 to 65524")
        return cls((base, base + 1), (base + 10, base + 11))


@dataclass(frozen=True)
class DemoNode:
    """One node of the demo and its operator login."""

    party: str
    name: str
    dir: Path
    console_url: str
    user: str
    password: str


@dataclass(frozen=True)
class DemoSetup:
    """A prepared work directory (see :func:`prepare`)."""

    workdir: Path
    scenario: str
    speed: float
    nodes: tuple[DemoNode, ...]

    @property
    def feed(self) -> Path:
        return self.workdir / FEED_FILE

    @property
    def logins(self) -> Path:
        return self.workdir / LOGINS_FILE

    def node(self, party: str) -> DemoNode:
        return next(node for node in self.nodes if node.party == party)


# --- the work directory ----------------------------------------------------------------------


def new_workdir(parent: Path, clock: Clock | None = None) -> Path:
    """A directory name under ``parent`` no demo has used: ``seabridge-demo-YYYYMMDD-HHMMSS``."""
    now_s = (clock or SystemClock()).now_ms() // 1000
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now_s))
    candidate, n = parent / f"seabridge-demo-{stamp}", 1
    while candidate.exists():
        n += 1
        candidate = parent / f"seabridge-demo-{stamp}-{n}"
    return candidate


def _fresh(workdir: Path) -> None:
    """Make ``workdir`` empty for a new run; only a demo's own directory is replaced.

    Raises:
        InputError: it is a file, or holds files a demo did not write.
    """
    if workdir.exists():
        if not workdir.is_dir():
            raise InputError(f"--workdir {workdir}: not a directory")
        if any(workdir.iterdir()) and not (workdir / MARKER).exists():
            raise InputError(
                f"--workdir {workdir}: the directory is not empty and was not made by "
                "`seabridge demo`; choose a new or empty directory"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("written by `seabridge demo`; replaced when reused\n")


def prepare(
    workdir: Path,
    *,
    scenario: str = "ecs-demo",
    speed: float = 60.0,
    ports: DemoPorts | None = None,
    clock: Clock | None = None,
) -> DemoSetup:
    """Create both nodes in ``workdir`` (bundles exchanged), their logins and the feed file.

    Raises:
        InputError: ``workdir`` holds other files, or ``speed`` is not positive.
        ConfigError: a node cannot be created.
    """
    if not speed > 0:
        raise InputError(f"--speed {speed}: give a positive number (60: one hour a minute)")
    ports = ports or DemoPorts()
    clock = clock or SystemClock()
    workdir = workdir.resolve()  # the nodes' sources name the feed relative to their own dirs
    _fresh(workdir)
    configs: list[NodeConfig] = []
    nodes: list[DemoNode] = []
    for i, (party, name) in enumerate(PARTIES):
        console = f"{ports.host}:{ports.console[i]}"
        config = init_node(
            workdir / party, party, name, f"{ports.host}:{ports.federation[i]}", console, clock
        )
        configs.append(config)
        nodes.append(
            DemoNode(
                party,
                name,
                config.dir.root,
                f"http://{console}/",
                f"{party}-duty",
                secrets.token_urlsafe(12),
            )
        )
    jcg, ccg = configs
    import_bundle(jcg, export_bundle(ccg, clock), clock)
    import_bundle(ccg, export_bundle(jcg, clock), clock)
    _add_users(nodes, configs)
    setup = DemoSetup(workdir, scenario, speed, tuple(nodes))
    _write_logins(setup)
    setup.feed.touch()
    (workdir / SETUP_FILE).write_text(
        json.dumps({"scenario": scenario, "speed": speed}, indent=2) + "\n", encoding="utf-8"
    )
    return setup


def _add_users(nodes: list[DemoNode], configs: list[NodeConfig]) -> None:
    from seabridge.node.users import UserStore  # argon2: loaded only when needed

    for node, config in zip(nodes, configs, strict=True):
        with UserStore(config.dir.state, SystemClock(), config.settings) as users:
            users.add(node.user, node.password, "operator")


def _write_logins(setup: DemoSetup) -> None:
    lines = ["# seabridge demo: console logins (demo only; delete with the directory)"]
    for node in setup.nodes:
        lines.append(
            f"{node.party}  {node.console_url}  user {node.user}  password {node.password}"
        )
    fd = os.open(setup.logins, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    setup.logins.chmod(0o600)


# --- the feed --------------------------------------------------------------------------------


def _moved(scenario: Scenario, start_ms: int) -> Scenario:
    """``scenario`` starting at ``start_ms`` (whole seconds) instead of its file's start."""
    spec = scenario.spec.model_copy(update={"start": start_ms - start_ms % 1000})
    return dataclasses.replace(scenario, spec=spec)


class FeedWriter:
    """One simulator for both nodes: appends the scenario's NMEA to ``path`` as ``clock``
    reaches each transmission's time. :meth:`start` runs it in a thread of its own until the
    scenario ends or :meth:`stop`; :meth:`pump` is one round of that thread (tests)."""

    def __init__(self, scenario: str, path: Path, clock: Clock, start_ms: int) -> None:
        self.scenario = scenario
        self.path = path
        self.clock = clock
        self.start_ms = start_ms - start_ms % 1000
        self.lines = 0
        self.finished = False
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo feed", daemon=True)
        self.bytes = 0
        self._marks: list[tuple[int, int]] = []  # (bytes written, data time of the last line)
        self._transmissions: Iterator[Transmission] | None = None
        self._next: Transmission | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def pump(self, until_ms: int) -> int:
        """Append every transmission up to ``until_ms`` (flushed); returns the lines added."""
        if self._transmissions is None:
            from seabridge.sim import Simulation, load_scenario

            simulation = Simulation(_moved(load_scenario(self.scenario), self.start_ms))
            self._transmissions = iter(simulation.transmissions())
            self._next = next(self._transmissions, None)
        added: list[str] = []
        last_ms = 0
        while self._next is not None and self._next.ts_ms <= until_ms:
            added.extend(line + "\n" for line in self._next.lines())
            last_ms = self._next.ts_ms
            self._next = next(self._transmissions, None)
        if added:
            with self.path.open("a", encoding="ascii") as feed:
                feed.writelines(added)
            self.lines += len(added)
            self.bytes += sum(len(line) for line in added)
            self._marks.append((self.bytes, last_ms))
        self.finished = self._next is None
        return len(added)

    def time_at(self, offset: int) -> int:
        """The data time written up to byte ``offset`` of the feed (the start before any)."""
        at = bisect.bisect_right(self._marks, (offset, 1 << 62)) - 1
        return self._marks[at][1] if at >= 0 else self.start_ms

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self.finished:
                self.pump(self.clock.now_ms())
                self._stop.wait(_FEED_EVERY_S)
        except Exception as exc:  # a scripted situation that did not come true ends the feed
            self.error = str(exc)
            log.warning("demo feed stopped: %s", exc)


# --- running ---------------------------------------------------------------------------------


class DemoClock:
    """The demo's replay clock: ``speed`` times the wall from ``origin_ms``, held at the origin
    until :meth:`start` (opening the nodes must not eat replayed time), and never more than
    ``limit()`` (when set and not None): the nodes' ingest plus a slack, so that on a busy
    machine deadlines, heartbeats and timestamps wait for the data instead of running ahead
    of it. Monotonic; after a hold it goes on at ``speed`` without a jump. Thread-safe."""

    def __init__(self, origin_ms: int, speed: float, wall: Clock) -> None:
        self.origin_ms = origin_ms
        self.speed = speed
        self.limit: Callable[[], int | None] | None = None
        self._wall = wall
        self._now_ms = origin_ms
        self._wall_ms: int | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._wall_ms = self._wall.now_ms()

    def now_ms(self) -> int:
        with self._lock:
            if self._wall_ms is None:
                return self._now_ms
            wall_ms = self._wall.now_ms()
            candidate = self._now_ms + round((wall_ms - self._wall_ms) * self.speed)
            self._wall_ms = wall_ms
            cap = self.limit() if self.limit is not None else None
            if cap is not None:
                candidate = min(candidate, max(self._now_ms, cap))
            self._now_ms = max(self._now_ms, candidate)
            return self._now_ms

    def hold(self) -> None:
        """Stop the replayed time where it is (:meth:`start` resumes it): at the end of a
        headless run no further deadline passes, so the outboxes can drain for good."""
        self.now_ms()
        with self._lock:
            self._wall_ms = None

    def sleep(self, seconds: float) -> None:
        self._wall.sleep(seconds / self.speed)


def _ingest_limit(feed: FeedWriter, nodes: list[Node], slack_ms: int) -> Callable[[], int | None]:
    """The clock's limit: the data time every node has read from the feed, plus ``slack_ms``;
    None once the scenario is written and read to its end."""

    def limit() -> int | None:
        offsets = [_offset(node) for node in nodes]
        if feed.finished and min(offsets) >= feed.bytes:
            return None
        return min(feed.time_at(offset) for offset in offsets) + slack_ms

    return limit


def _offset(node: Node) -> int:
    """How far the node has read the feed file (bytes)."""
    found = [int(v) for source in node.pipeline.sources for v in source.cursor().values()]
    return max(found, default=0)


@dataclass
class DemoRun:
    """What :func:`run_demo` started (for the caller's ``on_ready``)."""

    setup: DemoSetup
    clock: DemoClock
    nodes: dict[str, Node]
    feed: FeedWriter
    bot: DemoBot | None = None
    drained: bool = False
    failed: list[str] = field(default_factory=list)
    """Nodes that stopped serving before the demo ended (``serve jcg``: a port in use)."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    """The serving tasks, one per node."""
    bot_task: asyncio.Task[None] | None = None


def _open_node(directory: Path, feed: Path, clock: Clock) -> Node:
    from seabridge.node.service import Node
    from seabridge.node.users import UserStore

    source = SourceConfig(name="demo-feed", url=str(feed), silent_after_s=0.0)
    node = Node.open(directory, clock, sources=[source])
    # Logins and sessions run on the wall clock: a replayed hour must not end a session.
    replayed = node.users
    node.users = UserStore(node.config.dir.state, SystemClock(), node.config.settings)
    replayed.close()
    return node


def outbox_drained(node: Node) -> bool:
    """Every entry of the node's own logs is receipted by its peer."""
    ledger = node.ledger
    return all(
        ledger.delivery_state(peer).acked_size >= ledger.size(ledger.own_origin(peer))
        for peer in ledger.peers
    )


async def run_demo(
    setup: DemoSetup,
    serve: ServeFn,
    *,
    stop: asyncio.Event,
    duration_s: float | None = None,
    min_replay_ms: int | None = None,
    drain_s: float = 30.0,
    on_ready: Callable[[DemoRun], None] | None = None,
    wall: Clock | None = None,
) -> DemoRun:
    """Serve both nodes (``serve``) until ``stop`` is set, a node stops serving (Ctrl-C, a
    port in use) or ``duration_s`` wall seconds pass, and then (given ``min_replay_ms``) the
    replay clock has advanced that far (a loaded machine replays slower than the speed: the
    clock waits for the ingest); with a duration, then settle (see :func:`_settle`: at most
    ``drain_s``) so that every message counted is receipted. Every node is stopped and
    closed on return."""
    wall = wall or SystemClock()
    clock = DemoClock(wall.now_ms(), setup.speed, wall)
    feed = FeedWriter(setup.scenario, setup.feed, clock, clock.origin_ms)
    nodes: dict[str, Node] = {}
    run = DemoRun(setup, clock, nodes, feed)
    serving = asyncio.Event()  # set by serve's Ctrl-C handler too: then a stop, not a failure
    bot_stop = asyncio.Event()
    try:
        for made in setup.nodes:
            nodes[made.party] = await asyncio.to_thread(_open_node, made.dir, setup.feed, clock)
        ready = {party: asyncio.Event() for party in nodes}
        run.tasks = [
            asyncio.create_task(serve(node, serving, ready[party].set), name=f"serve {party}")
            for party, node in nodes.items()
        ]
        if not await _first(run.tasks, *(event.wait() for event in ready.values())):
            run.failed = _failed(run.tasks, serving)
            return run  # a node could not serve (its error is logged)
        run.bot = _bot(nodes, clock)
        run.bot_task = asyncio.create_task(_run_bot(run.bot, bot_stop), name="demo bot")
        slack_ms = max(_SLACK_MS, round(setup.speed * _SLACK_WALL_S * 1000))
        clock.limit = _ingest_limit(feed, list(nodes.values()), slack_ms)
        clock.start()
        feed.start()
        if on_ready is not None:
            on_ready(run)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first(run.tasks, stop.wait()), duration_s)
        if min_replay_ms is not None:
            await _replayed(run, stop, clock.origin_ms + min_replay_ms)
        feed.stop()
        run.failed = _failed(run.tasks, serving)
        if duration_s is not None and not serving.is_set():
            run.drained = await _settle(run, bot_stop, stop, drain_s)
    finally:
        stop.set()
        serving.set()
        bot_stop.set()
        feed.stop()
        waited = [*run.tasks, *([run.bot_task] if run.bot_task is not None else [])]
        for task in waited:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
        for node in nodes.values():
            await node.stop()  # idempotent: serve stopped it, unless it never started
    return run


async def _replayed(run: DemoRun, stop: asyncio.Event, until_ms: int) -> None:
    """Wait until the replay clock reaches ``until_ms`` (or the scenario's data ends, a node
    stops serving, or ``stop``)."""
    while run.clock.now_ms() < until_ms and not stop.is_set() and not run.feed.finished:
        if any(task.done() for task in run.tasks):
            return
        await asyncio.sleep(_DRAIN_POLL_S)


def _failed(tasks: list[asyncio.Task[None]], serving: asyncio.Event) -> list[str]:
    """The serving tasks that ended on their own (not told to by ``serving``: Ctrl-C), with
    their errors logged; every ended task's exception is retrieved here."""
    ended = [task for task in tasks if task.done()]
    for task in ended:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("%s failed: %s", task.get_name(), error)
    return [] if serving.is_set() else [task.get_name() for task in ended]


async def _first(tasks: list[asyncio.Task[None]], *waits: Coroutine[Any, Any, Any]) -> bool:
    """Wait until every one of ``waits`` is done (True) or one of ``tasks`` ends (False)."""
    together = asyncio.ensure_future(asyncio.gather(*waits))
    together.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        await asyncio.wait([together, *tasks], return_when=asyncio.FIRST_COMPLETED)
        return bool(together.done())
    finally:
        together.cancel()


def _bot(nodes: dict[str, Node], clock: Clock) -> DemoBot:
    node = nodes[BOT_PARTY]
    peer = next(party for party in nodes if party != BOT_PARTY)

    def wake() -> None:
        if node.delivery is not None:
            node.delivery.notify()

    return DemoBot(node.ledger, peer, clock, incidents=node.incidents, on_sent=wake)


async def _run_bot(bot: DemoBot, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(bot.step)
        except Exception:  # the bot must outlive one bad look at the hotline
            log.exception("demo bot step failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _BOT_EVERY_S)


async def _settle(
    run: DemoRun, bot_stop: asyncio.Event, stop: asyncio.Event, drain_s: float
) -> bool:
    """End a headless run with an exact summary: every notification and escalation signed is
    receipted by the peer, and none is signed after that. The replayed time holds (no
    deadline passes from now on) and the bot stops; each node reads the feed to its end and
    then runs, at the held time, a pipeline step, an incidents round and the deadline check
    of its own (:func:`_quiesce`): what its loops would still sign is signed now, and their
    later rounds find nothing more. Then wait until both outboxes are receipted. False when
    ``drain_s`` wall seconds pass first, or ``stop`` is set."""
    run.clock.hold()
    bot_stop.set()
    if run.bot_task is not None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await run.bot_task
    loop = asyncio.get_running_loop()
    deadline = loop.time() + drain_s
    nodes = list(run.nodes.values())

    async def until(done: Callable[[], bool]) -> bool:
        while not done():
            if stop.is_set() or loop.time() >= deadline:
                return False
            await asyncio.sleep(_DRAIN_POLL_S)
        return True

    if not await until(lambda: all(_offset(node) >= run.feed.bytes for node in nodes)):
        return False
    for node in nodes:
        await asyncio.to_thread(_quiesce, node, run.clock.now_ms())
        if node.delivery is not None:
            node.delivery.notify()
    return await until(lambda: all(outbox_drained(node) for node in nodes))


def _quiesce(node: Node, now_ms: int) -> None:
    """Sign now what ``node`` still would at the held time ``now_ms``: the events of lines
    read but not yet processed, pending incident messages, and the escalations of deadlines
    passed by then (the ledger appends one ``deadline-missed`` per entry, whoever asks)."""
    node.step()
    node.incidents_round()
    node.on_deadline_missed(node.ledger.check_deadlines(now_ms))


# --- the summary -----------------------------------------------------------------------------


def summarize(setup: DemoSetup, clock: Clock | None = None) -> dict[str, Any]:
    """What both (stopped) nodes did: incidents, events by kind, hotline counts (messages
    asking for an acknowledgement: sent, receipted by the peer, acknowledged; escalations),
    each ledger's verification (as ``seabridge ledger verify``), and the work directory."""
    from seabridge.node.incidents import IncidentsService
    from seabridge.node.record import verify_node
    from seabridge.node.runtime import open_ledger

    clock = clock or SystemClock()
    incidents = 0
    kinds: Counter[str] = Counter()
    hotline = Counter({"sent": 0, "receipted": 0, "acknowledged": 0, "escalated": 0})
    verified: dict[str, str] = {}
    for node in setup.nodes:
        config = load_node(node.dir)
        kinds.update(_event_kinds(node.dir / "events.jsonl"))
        with open_ledger(config, clock) as ledger:
            with IncidentsService(config, ledger, clock) as service:
                incidents += len(service.manager.list())
            for peer in ledger.peers:
                for row in ledger.log_view(peer):
                    if row["origin"] != ledger.own_origin(peer) or row["kind"] not in _ASKING:
                        continue
                    hotline["sent"] += 1
                    hotline["receipted"] += bool(row["receipted"])
                    hotline["acknowledged"] += bool(row["acknowledged"])
                    hotline["escalated"] += row["kind"] == "escalation"
            report = verify_node(config, ledger)
        verified[node.party] = "ok" if report.ok else "FAILED"
    return {
        "incidents": incidents,
        "events_by_kind": dict(sorted(kinds.items())),
        "hotline": dict(hotline),
        "ledger_verify": verified,
        "workdir": str(setup.workdir),
    }


def _event_kinds(path: Path) -> Counter[str]:
    """Distinct events by kind in a node's ``events.jsonl`` (every status change is a line)."""
    seen: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line a crash cut short
            if isinstance(record, dict) and "id" in record and "kind" in record:
                seen[str(record["id"])] = str(record["kind"])
    return Counter(seen.values())
