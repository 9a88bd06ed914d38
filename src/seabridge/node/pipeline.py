"""The live pipeline of a node: sources -> ingest -> track store -> engine -> events -> incidents.

One :meth:`Pipeline.step` polls every source once (at most ``node.step_lines`` lines each),
decodes the lines (one :class:`~seabridge.ais.nmea.NmeaDecoder` per input stream; bad lines
counted and quarantined in ``DIR/quarantine/live.jsonl``, and so are reports timed more than
``ingest.future_horizon_min`` after the node's clock, one of which would make the engine run
every tick up to its time), appends the records to the track store, persists each source's
cursor (``DIR/ingest-cursors.json``, after the store took the batch, so a restart neither
loses nor re-reads a stored batch), feeds the batch to the live
:class:`~seabridge.detect.Engine` (the same engine as ``seabridge detect``: data time only),
and then reacts (:meth:`Pipeline.react`): events go to the :class:`EventLog`, the hub
(``events``) and the metrics; detection events (not feed-health ones, which are about our
own receivers) go to the incidents, whose changes go to the hub (``incidents``); the
entries the incidents signed, and those the peers sent, go to the hub (``hotline``): every
channel of the ledger is scanned (our log to each pack party, configured as a peer or not,
and each peer's mirror), so a message on a channel without a peer yet reaches the console.

While anyone subscribes to ``positions`` (a console is open), each vessel's newest position
of a batch goes to the hub, which adds the
vessel's static properties when it publishes (the pipeline's
:class:`~seabridge.node.vesselinfo.VesselStatics`, a cache seeded from the store and updated
by the static reports ingested), so each row has what an ``/api/vessels`` row has.

On start the engine is rebuilt from the last ``node.rebuild_window_min`` of stored tracks;
what it emits then was emitted before the restart and is dropped. The pipeline is driven
step by step (tests call :meth:`step`; :class:`~seabridge.node.service.Node` calls it in a
worker thread); it never sleeps and reads time only from the injected clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from seabridge.ais.horizon import Horizon
from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.records import POSITION_SCHEMA
from seabridge.ais.summary import IngestSummary
from seabridge.clock import Clock
from seabridge.config import Settings
from seabridge.detect import Engine, Event
from seabridge.hotline.entries import Entry, parse_timestamp
from seabridge.hotline.ledger import Ledger
from seabridge.incidents import Change
from seabridge.node._files import replace_file
from seabridge.node.eventlog import EventLog
from seabridge.node.feedhealth import FeedHealth
from seabridge.node.hub import Hub
from seabridge.node.incidents import IncidentsService
from seabridge.node.metrics import Metrics
from seabridge.node.sources import Source
from seabridge.node.trackview import position_rows
from seabridge.node.vesselinfo import VesselStatics
from seabridge.tracks import TrackStore

__all__ = ["CURSORS_FILE", "Pipeline", "StepResult"]

log = logging.getLogger(__name__)

CURSORS_FILE = "ingest-cursors.json"
_DEDUP_KEYS = ("ts", "mmsi", "msg_type", "lat", "lon")


@dataclass
class StepResult:
    """What one step did."""

    lines: int = 0
    positions: int = 0
    statics: int = 0
    duplicates: int = 0
    events: list[Event] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def read_cursors(path: Path) -> dict[str, dict[str, Any]]:
    """The persisted cursors by source name (empty when none or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): dict(v) for k, v in data.items()} if isinstance(data, dict) else {}


@dataclass
class Parts:
    """What the pipeline works on (the node owns and closes them)."""

    root: Path
    clock: Clock
    settings: Settings
    store: TrackStore
    engine: Engine
    eventlog: EventLog
    hub: Hub
    metrics: Metrics
    ledger: Ledger
    incidents: IncidentsService | None
    feed_health: FeedHealth


class Pipeline:
    """See the module docstring. ``sources`` are started by :meth:`start`."""

    def __init__(self, parts: Parts, sources: Sequence[Source]) -> None:
        self.parts = parts
        self.sources = list(sources)
        self.quarantine = Quarantine(parts.root / "quarantine" / "live.jsonl")
        self.summary = IngestSummary(rejected=self.quarantine.counts)
        self._decoders: dict[str, NmeaDecoder] = {}
        self._max_age_s = parts.settings["ingest.multipart_max_age_s"]
        self._horizon = Horizon.from_settings(parts.settings, parts.clock)
        self._step_lines = int(parts.settings["node.step_lines"])
        self._cursors_path = parts.root / CURSORS_FILE
        self._seen_sizes: dict[str, int] = {}
        self._sent_ms: dict[str, dict[int, int]] = {}
        self._messages = 0
        self._rejected: dict[str, int] = {}
        self.statics = VesselStatics(parts.engine.parties)
        """Name, ship type, flag and party per MMSI, added to the hub's positions."""
        parts.hub.describe = self.statics.of

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Rebuild the engine from stored tracks, note the hotline's sizes, start sources."""
        self.rebuild()
        self.statics.update(self.parts.store.vessels())
        ledger = self.parts.ledger
        for _, origin, _ in _origins(ledger):
            self._seen_sizes[origin] = ledger.size(origin)
        now_ms = self.parts.clock.now_ms()
        for source in self.sources:
            source.start()
            self.parts.feed_health.watch(source.name, source.config.silent_after_s, now_ms)
            self.parts.metrics.set("seabridge_source_up", 1, source=source.name)

    def rebuild(self) -> int:
        """Feed the engine the newest ``node.rebuild_window_min`` of tracks; its events were
        emitted before and are dropped. Returns the positions fed."""
        store, engine = self.parts.store, self.parts.engine
        stats = store.stats()
        window_ms = round(self.parts.settings["node.rebuild_window_min"] * 60_000)
        if stats.last_ms is None or window_ms == 0:
            return 0
        engine.feed_statics(store.vessels())
        start = stats.last_ms + 1 - window_ms
        fed = 0
        chunk_ms = 600_000
        while start <= stats.last_ms:
            batch = store.positions(start_ms=start, end_ms=start + chunk_ms, order="ts")
            engine.feed_positions(batch)
            fed += batch.num_rows
            start += chunk_ms
        return fed

    def stop(self) -> None:
        """Stop the sources, store what the decoders hold, save the cursors."""
        for source in self.sources:
            source.stop()
        self._flush_decoders()
        self.quarantine.close()

    def _flush_decoders(self) -> None:
        positions, statics = self._take(list(self._decoders))
        if positions.num_rows or statics.num_rows:
            self._store(positions, statics, StepResult())
        self._save_cursors()

    # --- one step ------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Ingest what every source has now, detect, and react (see the module docstring)."""
        result = self.ingest()
        result.changes = self.react(result.events)
        return result

    def ingest(self) -> StepResult:
        """Poll, decode, store, persist cursors and run the engine; no incidents yet."""
        clock, metrics = self.parts.clock, self.parts.metrics
        result = StepResult()
        streams: list[str] = []
        for source in self.sources:
            lines, rejected = 0, sum(self.quarantine.counts.values())
            for stream, (chunk, receive_ms) in source.poll(self._step_lines):
                self._decoder(stream).feed(chunk, receive_ms)
                lines += len(chunk)
                if stream not in streams:
                    streams.append(stream)
            rejected = sum(self.quarantine.counts.values()) - rejected
            self.parts.feed_health.seen(source.name, lines, rejected, clock.now_ms())
            if lines:
                metrics.inc("seabridge_lines_total", lines, source=source.name)
            result.lines += lines
        positions, statics = self._take(streams)
        self._store(positions, statics, result)
        self._save_cursors()
        self._count(result, positions)
        engine = self.parts.engine
        if statics.num_rows:
            engine.feed_statics(statics)
            self.statics.update(statics)
        hub = self.parts.hub
        if positions.num_rows:
            result.events.extend(engine.feed_positions(_dedupe(positions)))
            if hub.wants("positions"):  # no console: no rows built (a replay's hot path)
                hub.offer_positions(position_rows(_newest(positions)))
        else:
            hub.flush_positions()
        result.events.extend(self._feed_health())
        return result

    def _decoder(self, stream: str) -> NmeaDecoder:
        decoder = self._decoders.get(stream)
        if decoder is None:
            decoder = NmeaDecoder(
                stream,
                self.quarantine,
                self.summary,
                max_age_s=self._max_age_s,
                horizon=self._horizon,
            )
            self._decoders[stream] = decoder
        return decoder

    def _take(self, streams: Sequence[str]) -> tuple[pa.Table, pa.Table]:
        positions: list[pa.RecordBatch] = []
        statics: list[pa.RecordBatch] = []
        for stream in streams:
            pos, sta = self._decoders[stream].take()
            if pos.num_rows:
                positions.append(pos)
            if sta.num_rows:
                statics.append(sta)
        position_table = (
            pa.Table.from_batches(positions) if positions else POSITION_SCHEMA.empty_table()
        )
        static_table = pa.Table.from_batches(statics) if statics else pa.table({})
        return position_table, static_table

    def _store(self, positions: pa.Table, statics: pa.Table, result: StepResult) -> None:
        store = self.parts.store
        if statics.num_rows:
            result.duplicates += store.append_statics(statics)
            result.statics += statics.num_rows
        if positions.num_rows:
            result.duplicates += store.append_positions(positions)
            result.positions += positions.num_rows

    def _save_cursors(self) -> None:
        cursors = read_cursors(self._cursors_path)
        cursors.update({source.name: source.cursor() for source in self.sources})
        text = json.dumps(cursors, indent=1, sort_keys=True) + "\n"
        replace_file(self._cursors_path, text.encode())

    def _count(self, result: StepResult, positions: pa.Table) -> None:
        metrics, summary = self.parts.metrics, self.summary
        if result.positions:
            metrics.inc("seabridge_positions_total", result.positions)
            newest = positions.column("ts").cast(pa.int64()).to_numpy().max()
            if newest / 1000 > metrics.value("seabridge_data_time_seconds"):
                metrics.set("seabridge_data_time_seconds", newest / 1000)
        if result.duplicates:
            metrics.inc("seabridge_duplicates_total", result.duplicates)
        if summary.messages > self._messages:
            metrics.inc("seabridge_messages_total", summary.messages - self._messages)
            self._messages = summary.messages
        for reason, count in self.quarantine.counts.items():
            before = self._rejected.get(reason, 0)
            if count > before:
                metrics.inc("seabridge_rejected_total", count - before, reason=reason)
                self._rejected[reason] = count

    def _feed_health(self) -> list[Event]:
        health = self.parts.feed_health
        events = health.check(self.parts.clock.now_ms())
        for source in self.sources:
            up = health.up(source.name)
            self.parts.metrics.set("seabridge_source_up", 1 if up else 0, source=source.name)
        return events

    # --- reactions -----------------------------------------------------------------------

    def react(self, events: Sequence[Event]) -> list[Change]:
        """Log and publish events, hand detection events to the incidents, publish changes
        and new hotline entries; returns the incident changes."""
        parts = self.parts
        for record in parts.eventlog.append(events):
            parts.metrics.inc("seabridge_events_total", kind=str(record["kind"]))
            parts.hub.publish("events", record)
        changes: list[Change] = []
        detected = [event for event in events if event.rule_id != "feed_health"]
        if parts.incidents is not None and detected:
            changes = parts.incidents.apply_events(detected)
        self.publish_changes(changes)
        return changes

    def publish_changes(self, changes: Sequence[Change]) -> None:
        """Incident changes to the hub and metrics, then new hotline entries."""
        for change in changes:
            self.parts.metrics.inc("seabridge_incident_changes_total", kind=change.kind)
            self.parts.hub.publish("incidents", change.as_json())
        self.scan_hotline()

    def scan_hotline(self) -> None:
        """Publish entries appended since the last scan to every channel's own log (configured
        peer or not) and every peer's mirror; update the queue-depth gauges."""
        ledger, now_ms = self.parts.ledger, self.parts.clock.now_ms()
        for peer, origin, outbound in _origins(ledger):
            for entry in ledger.read_entries(origin, self._seen_sizes.get(origin, 0)):
                if outbound:
                    self._sent_ms.setdefault(peer, {})[entry.seq] = now_ms
                self.parts.hub.publish("hotline", _entry_json(peer, outbound, entry))
                self._seen_sizes[origin] = entry.seq + 1
            if outbound:
                depth = ledger.size(origin) - ledger.delivery_state(peer).acked_size
                self.parts.metrics.set("seabridge_hotline_queue_depth", max(0, depth), peer=peer)

    def on_receipt(self, peer: str, size: int) -> None:
        """The delivery loop stored ``peer``'s receipt for our first ``size`` entries."""
        now_ms = self.parts.clock.now_ms()
        sent = self._sent_ms.get(peer, {})
        for seq in [seq for seq in sent if seq < size]:
            latency_s = max(0, now_ms - sent.pop(seq)) / 1000
            self.parts.metrics.observe("seabridge_hotline_receipt_latency_seconds", latency_s)
        self.parts.hub.publish("hotline", {"type": "receipt", "peer": peer, "size": size})


def _origins(ledger: Ledger) -> list[tuple[str, str, bool]]:
    """(peer, origin, outbound) of every log the ledger holds: our log on each channel (a pack
    party without a configured peer too) and, for a configured peer, its mirror."""
    origins = []
    for peer in ledger.channels:
        origins.append((peer, ledger.own_origin(peer), True))
        if peer in ledger.peers:
            origins.append((peer, ledger.mirror_origin(peer), False))
    return origins


def _entry_json(peer: str, outbound: bool, entry: Entry) -> dict[str, Any]:
    return {
        "type": "entry",
        "peer": peer,
        "direction": "out" if outbound else "in",
        "origin": entry.log,
        "seq": entry.seq,
        "kind": entry.kind,
        "msg_id": entry.msg_id,
        "created": entry.created,
        "created_ms": parse_timestamp(entry.created),
        "body": dict(entry.body),
    }


def _dedupe(table: pa.Table) -> pa.Table:
    """The batch without rows repeating (mmsi, ts, msg_type, lat, lon): two receivers heard
    the same report (the store drops them too; the engine must see what the store keeps).

    Rows come out in ``np.lexsort`` order of (ts, mmsi, msg_type, lat, lon), the first of
    equal rows kept. Sorting floats is what costs (~1 ms a column for 13k rows), so the
    integer keys are sorted first (packed into one int64 when they fit) and only the rows
    whose integer keys tie, a tenth of a two-receiver feed, are sorted by lat and lon.
    """
    if table.num_rows <= 1:
        return table
    ts, mmsi, kind, lat, lon = (table.column(k).cast(_cast(k)).to_numpy() for k in _DEDUP_KEYS)
    base = int(ts.min())
    if int(ts.max()) - base < 1 << 27 and int(mmsi.max()) < 1 << 30 and int(kind.max()) < 64:
        packed = ((ts - base) << 36) | (mmsi << 6) | kind  # 27 + 30 + 6 bits, non-negative
        order = np.argsort(packed, kind="stable")
        ordered = packed[order]
        tie = ordered[1:] == ordered[:-1]
    else:  # a batch spanning days, or a key out of range: the same order, slower
        order = np.lexsort((kind, mmsi, ts))
        tie = np.ones(order.size - 1, dtype=bool)
        for values in (ts, mmsi, kind):
            ordered = values[order]
            tie &= ordered[1:] == ordered[:-1]
    if not tie.any():
        return table.take(order)
    starts = np.concatenate(([True], ~tie))  # the first row of each run of tied keys
    group = np.cumsum(starts)
    tied = np.concatenate((tie, [False])) | np.concatenate(([False], tie))
    rows = order[tied]  # in place: groups ascend with position and lexsort is stable
    order[tied] = rows[np.lexsort((lon[rows], lat[rows], group[tied]))]
    same = tie.copy()
    for values in (lat, lon):
        ordered = values[order]
        same &= ordered[1:] == ordered[:-1]
    return table.take(order[np.concatenate(([True], ~same))])


def _cast(key: str) -> pa.DataType:
    return pa.int64() if key in ("mmsi", "ts", "msg_type") else pa.float64()


def _newest(table: pa.Table) -> pa.Table:
    """Each vessel's newest row of the batch."""
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    mmsi = table.column("mmsi").to_numpy()
    order = np.lexsort((ts, mmsi))
    last = np.ones(order.size, dtype=bool)
    last[:-1] = mmsi[order][1:] != mmsi[order][:-1]
    return table.take(pa.array(order[last]))
