"""The running node: one object that owns everything a served node directory holds open.

:meth:`Node.open` loads ``node.toml`` and opens the ledger (``state.sqlite``), the track store
(``tracks.duckdb``, which only this process may then open), the incidents, the event log
(``events.jsonl``), the hub, the metrics and the live pipeline over the configured sources.
:meth:`Node.start` runs, as asyncio tasks, the pipeline (one step every ``node.step_s``, in a
worker thread), the incidents round (every second) and the hotline delivery loop to the
peers, and issues the local CLI its API token (``DIR/keys/cli.token``, see
:mod:`seabridge.node.client`: commands given ``--node DIR`` read through the console API
while the node holds its track store); :meth:`Node.stop` stops them, stores what the decoders
hold, saves the cursors, revokes that token and closes every file (idempotent). Tests drive
the pipeline with :meth:`Node.step` instead.

The listeners (federation, console) are the web layer's: ``seabridge serve`` builds a Node
and hands it to them. This module never imports the web layer or the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seabridge.ais.summary import IngestSummary
from seabridge.clock import Clock
from seabridge.detect import Engine
from seabridge.detect.rulebook import Rulebook, load_rulebook
from seabridge.errors import IncidentError, PackError
from seabridge.geo import Feature, ZoneSet, all_names, load_features, load_zones
from seabridge.hotline.entries import Entry
from seabridge.hotline.ledger import Ledger
from seabridge.incidents import Change
from seabridge.node.client import UPLOAD_QUARANTINE, remove_cli_token, write_cli_token
from seabridge.node.directory import NodeConfig, load_node
from seabridge.node.eventlog import EventLog
from seabridge.node.feedhealth import FeedHealth
from seabridge.node.hub import Hub
from seabridge.node.incidents import IncidentsService
from seabridge.node.metrics import Metrics
from seabridge.node.pipeline import CURSORS_FILE, Parts, Pipeline, StepResult, read_cursors
from seabridge.node.runtime import Delivery, DeliveryOptions, open_ledger
from seabridge.node.sources import SourceConfig, open_source
from seabridge.node.trackview import TrackView
from seabridge.packs import Pack, Party, load_pack, load_parties
from seabridge.tracks import TrackStore

if TYPE_CHECKING:
    from seabridge.node.users import UserStore

__all__ = ["Node"]

log = logging.getLogger(__name__)
_ROUND_S = 1.0
_LANGS = ("en", "ja", "zh")


class Node:
    """A node directory opened for serving; see the module docstring. Use :meth:`open`."""

    users: Any = None
    """The console's :class:`~seabridge.node.users.UserStore` (opened by :meth:`open`)."""

    def __init__(
        self,
        config: NodeConfig,
        clock: Clock,
        pack: Pack,
        ledger: Ledger,
        store: TrackStore,
        *,
        sources: Sequence[SourceConfig],
        replay_speed: float | None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.pack = pack
        self.ledger = ledger
        self.store = store
        settings = config.settings
        self.parties: tuple[Party, ...] = tuple(load_parties(pack))
        self.zones: ZoneSet = load_zones(pack)
        self.features: list[Feature] = load_features(pack)
        self.rulebook: Rulebook = load_rulebook(
            None, pack, zone_ids=self.zones.ids, parties=self.parties
        )
        self.tracks = TrackView(store, self.parties)
        self.events = EventLog(
            config.dir.root / "events.jsonl", recent=int(settings["node.events_recent"])
        )
        self.hub = Hub()
        self.metrics = Metrics()
        self.incidents: IncidentsService | None = _incidents(config, ledger, clock, self.tracks)
        self.engine = Engine(self.rulebook, self.zones, self.parties, settings=settings)
        parts = Parts(
            root=config.dir.root,
            clock=clock,
            settings=settings,
            store=store,
            engine=self.engine,
            eventlog=self.events,
            hub=self.hub,
            metrics=self.metrics,
            ledger=ledger,
            incidents=self.incidents,
            feed_health=FeedHealth(self.rulebook.ref, settings, _centre(self.zones)),
        )
        cursors = read_cursors(config.dir.root / CURSORS_FILE)
        readers = [
            open_source(
                source,
                config.dir.root,
                clock,
                cursors.get(source.name, {}),
                replay_speed=replay_speed,
                reconnect_max_s=settings["ingest.reconnect_max_s"],
            )
            for source in sources
        ]
        self.pipeline = Pipeline(parts, readers)
        self.delivery: Delivery | None = None
        self._work = threading.Lock()  # one pipeline step or incidents round at a time
        self._begun = False
        self._closed = False
        self._cli_token = False
        self._uploads = threading.Lock()  # one POST /api/ingest at a time (one quarantine)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def open(
        cls,
        directory: Path,
        clock: Clock,
        *,
        sources: Sequence[SourceConfig] | None = None,
        replay_speed: float | None = None,
    ) -> Node:
        """Open the node in ``directory`` (``sources`` replace node.toml's ``[[source]]``;
        ``replay_speed`` replaces every simulator's speed).

        Raises:
            ConfigError: node.toml is invalid. StoreLockedError: another process serves or
            reads the track store. LedgerError: the keys or the record cannot be used.
            PackError: the pack has no rulebook or an invalid file.
        """
        config = load_node(directory)
        if not config.packs:
            raise PackError(f"{config.dir.toml}: no pack in use; a serving node needs one")
        pack = load_pack(config.packs[0])
        ledger = open_ledger(config, clock)
        try:
            store = TrackStore.open(config.dir.tracks)
        except BaseException:
            ledger.close()
            raise
        try:
            node = cls(
                config,
                clock,
                pack,
                ledger,
                store,
                sources=config.sources if sources is None else sources,
                replay_speed=replay_speed,
            )
        except BaseException:
            store.close()
            ledger.close()
            raise
        node.users = _open_users(config, clock)
        return node

    # --- driving -------------------------------------------------------------------------

    def begin(self) -> None:
        """Rebuild the engine, start the sources and the incidents (once); :meth:`start`
        and :meth:`step` call it."""
        if self._begun:
            return
        self._begun = True
        self.pipeline.start()
        if self.incidents is not None:
            self.pipeline.publish_changes(self.incidents.start())

    def step(self) -> StepResult:
        """One pipeline step now (tests and :meth:`start`'s loop)."""
        with self._work:
            self.begin()
            result = self.pipeline.step()
        if result.changes and self.delivery is not None:
            self.delivery.notify()
        return result

    def incidents_round(self) -> None:
        """Consume the peers' messages, send what is pending, publish the changes."""
        if self.incidents is None:
            return
        with self._work:
            self.pipeline.publish_changes(self.incidents.check())

    def on_deadline_missed(self, entries: Sequence[Entry]) -> None:
        """The delivery loop's callback: escalate once per ``deadline-missed`` entry."""
        if self.incidents is None:
            return
        with self._work:
            self.pipeline.publish_changes(self.incidents.deadline_missed(entries))

    def operate(self, action: Callable[[IncidentsService], Sequence[Change]]) -> list[Change]:
        """Run an operator's incident ``action`` (the console) between pipeline steps, then
        publish its changes and any hotline entries it signed.

        Raises:
            IncidentError: incidents are off on this node (no mechanism), or the action's.
        """
        if self.incidents is None:
            raise IncidentError("incidents are off on this node: no pack in use has a mechanism")
        with self._work:
            changes = list(action(self.incidents))
            self.pipeline.publish_changes(changes)
        if self.delivery is not None:
            self.delivery.notify()
        return changes

    def send(self, action: Callable[[Ledger], Entry]) -> Entry:
        """Run an operator's hotline ``action`` (it signs one entry) between pipeline steps,
        publish the entry to the hub's ``hotline`` topic and wake the delivery loop."""
        with self._work:
            entry = action(self.ledger)
            self.pipeline.scan_hotline()  # publishes it (every channel, configured or not)
        if self.delivery is not None:
            self.delivery.notify()
        return entry

    async def start(
        self,
        *,
        options: DeliveryOptions | None = None,
        wait: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Run the pipeline, the incidents round and hotline delivery as tasks until
        :meth:`stop`. ``wait`` replaces the pauses between steps (tests)."""
        if self._tasks or self._closed:
            return
        await asyncio.to_thread(self._begin_locked)
        await asyncio.to_thread(self.issue_cli_token)
        self.delivery = Delivery.for_node(
            self.config,
            self.ledger,
            self.clock,
            options=options,
            on_alarm=lambda peer, text: log.warning("ALARM %s: %s", peer, text),
            on_deadline_missed=self.on_deadline_missed,
            on_receipt=self.pipeline.on_receipt,
        )
        step_s = self.config.settings["node.step_s"]
        self._tasks = [
            asyncio.create_task(self._loop(self.step, step_s, wait), name="pipeline"),
            asyncio.create_task(self._loop(self.incidents_round, _ROUND_S, wait), name="rounds"),
            asyncio.create_task(self.delivery.run(self._stop), name="delivery"),
        ]

    def issue_cli_token(self) -> None:
        """Give the local CLI a fresh API token (``DIR/keys/cli.token``, 0600), revoking the
        previous one: the node's own user :data:`~seabridge.node.users.CLI_USER`."""
        if self.users is None:
            return
        new = self.users.issue_cli_token()
        write_cli_token(self.config.dir.root, new.token)
        self._cli_token = True

    def _revoke_cli_token(self) -> None:
        if not self._cli_token:
            return
        try:
            remove_cli_token(self.config.dir.root)
            self.users.revoke_cli_tokens()
        except Exception:  # closing must go on; the next start revokes it anyway
            log.exception("cannot revoke the local CLI's API token")

    def _begin_locked(self) -> None:
        with self._work:
            self.begin()

    async def _loop(
        self,
        work: Callable[[], object],
        every_s: float,
        wait: Callable[[float], Awaitable[None]] | None,
    ) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(work)
            except Exception:  # the loop must outlive any one bad step
                log.exception("node %s failed", work.__name__)
            if wait is not None:
                await wait(every_s)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), every_s)

    async def stop_delivery(self, timeout_s: float = 3.0) -> None:
        """End hotline delivery and close its connections to the peers, leaving the rest
        running (idempotent). A server stopping calls it first: a peer stopping at the same
        time then sees our connections close instead of waiting for them (an idle TLS
        connection never answers a close_notify; both listeners would sit out their
        graceful-shutdown timeout)."""
        self._stop.set()
        delivery = [task for task in self._tasks if task.get_name() == "delivery"]
        if delivery:
            await asyncio.wait(delivery, timeout=timeout_s)
        if self.delivery is not None:
            await self.delivery.aclose()
            self.delivery = None

    async def stop(self) -> None:
        """Stop the tasks, flush what the pipeline holds, close every file (idempotent)."""
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        self._tasks = []
        if self.delivery is not None:
            await self.delivery.aclose()
            self.delivery = None
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop the sources, store what the decoders hold, close every file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._work:
            try:
                if self._begun:
                    self.pipeline.stop()
            finally:
                self._revoke_cli_token()
                self.events.close()
                if self.incidents is not None:
                    self.incidents.close()
                closer = getattr(self.users, "close", None)
                if callable(closer):
                    closer()
                self.store.close()
                self.ledger.close()

    def ingest_file(
        self, path: Path, fmt: str = "auto", start_ms: int | None = None, *, name: str = ""
    ) -> IngestSummary:
        """Decode a raw AIS file (NMEA or CSV, .gz too) into the node's track store with the
        same ingest as ``seabridge ingest`` (``POST /api/ingest``); rejected lines go to
        ``DIR/quarantine/upload.jsonl``, under ``name`` (the uploader's file name; default
        ``path``) as their source; the future-time bound is on the node's clock. Returns the
        run's :class:`~seabridge.ais.summary.IngestSummary`.

        One upload at a time; the pipeline keeps running (the store serialises each append,
        and de-duplicates against what either stored). The rows are history for the store:
        live detection does not see them (``seabridge detect --node DIR`` runs over them).

        Raises:
            SourceError, FormatError: the file cannot be read or its format is unknown.
        """
        from dataclasses import replace

        from seabridge.ais.ingest import IngestOptions, Plan, ingest, plan_sources
        from seabridge.ais.quarantine import Quarantine

        options = IngestOptions(
            fmt=fmt, start_ms=start_ms, settings=self.config.settings, clock=self.clock
        )
        with self._uploads:
            plan = plan_sources([str(path)], fmt)
            if name:
                inputs = (
                    replace(p, item=replace(p.item, name=name)) if p.item is not None else p
                    for p in plan.inputs
                )
                plan = Plan(tuple(inputs), plan.skipped)
            with Quarantine(self.config.dir.quarantine / UPLOAD_QUARANTINE) as rejected:
                return ingest(plan, self.store, rejected, options)

    # --- reads ---------------------------------------------------------------------------

    def zones_geojson(self, lang: str) -> dict[str, Any]:
        """The pack's zones and features as one FeatureCollection: every feature with all
        its names and ``name`` in ``lang`` (English when it has none); zones carry who
        declares them and their kind. Geometry, never a claim of sovereignty."""
        collection = self.zones.to_geojson()
        out: list[dict[str, Any]] = []
        for item in collection["features"]:
            props = dict(item["properties"])
            names = dict(props["names"])
            props.update(
                layer="zone", name=names.get(lang, names["en"]), all_names=all_names(names)
            )
            out.append({**item, "properties": props})
        for feature in self.features:
            names = dict(feature.names)
            props = {
                "layer": "feature",
                "id": feature.id,
                "kind": feature.kind,
                "names": names,
                "name": names.get(lang, names["en"]),
                "all_names": feature.all_names(),
                "source": feature.source,
                "verified": feature.verified,
                "note": feature.note,
            }
            point = {"type": "Point", "coordinates": [feature.lon, feature.lat]}
            out.append({"type": "Feature", "properties": props, "geometry": point})
        return {"type": "FeatureCollection", "languages": list(_LANGS), "features": out}

    def status(self) -> dict[str, Any]:
        """What the node is: party, rulebook, sources, track stats, delivery alarms."""
        return {
            "party": self.config.party,
            "name": self.config.name,
            "rulebook": self.rulebook.ref.as_json(),
            "sources": [s.name for s in self.pipeline.sources],
            "tracks": self.tracks.stats(),
            "alarms": self.delivery.alarms() if self.delivery is not None else {},
        }


def _incidents(
    config: NodeConfig, ledger: Ledger, clock: Clock, tracks: TrackView
) -> IncidentsService | None:
    try:
        return IncidentsService(config, ledger, clock, statics=tracks.vessel)
    except PackError as exc:
        log.warning("incidents are off: %s", exc)
        return None


def _centre(zones: ZoneSet) -> tuple[float, float]:
    """The middle of the zones' bounds (where feed-health events are placed)."""
    if not len(zones):
        return 0.0, 0.0
    bounds = [zone.geometry.bounds for zone in zones]
    west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
    east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
    return (south + north) / 2, (west + east) / 2


def _open_users(config: NodeConfig, clock: Clock) -> UserStore:
    """The console's user store (users tables in ``state.sqlite``)."""
    from seabridge.node.users import UserStore  # argon2: loaded only for a serving node

    return UserStore(config.dir.state, clock, config.settings)
