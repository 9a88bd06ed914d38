"""The detection engine: a rulebook evaluated on data time, live and in batch alike.

Positions arrive as POSITION_SCHEMA batches, roughly in data-time order. The engine ticks at
multiples of ``detect.tick_s`` since the epoch (so every node ticks at the same instants);
tick T runs once data time has passed ``T + detect.tick_delay_s``. Before a tick the
positions up to T are applied, in a fixed order (ts, mmsi, msg_type, lat, lon):

1. screening rules (data quality) see them first and say which are usable;
2. every other rule observes the usable ones; the frame builder takes them all;
3. each rulebook entry evaluates the frame on the rows its applicability selects;
4. findings become events. A key that appears opens an event (start: the finding's
   ``started_ms`` or the tick; id: :func:`~seabridge.detect.model.event_id`, so nodes
   agree); its level is the entry's level raised by the grades that hold (a finding's own
   nonzero level wins), and never goes down; the event reports its most severe finding
   (:attr:`Rule.KEY_WORSE <seabridge.detect.rule.Rule.KEY_WORSE>`); an update is emitted
   when the level rises or the key metric moves by ``detect.update_change`` of its last
   reported value; a key absent for ``detect.hysteresis_s`` closes its event, which ends
   at the last tick it was present.

Late data: a position whose time is not after the last tick, but at most
``detect.watermark_min`` behind the newest data time seen when it arrives, is applied by
restoring the checkpoint taken before it (every ``detect.checkpoint_ticks`` ticks: every
rule's snapshot, the frame builder, the open events), replaying the ticks since with it,
and comparing the result with what was already emitted: events that changed are revised
(update, or closed) and events that no longer happen are retracted, both with a reason
naming the late data. Older positions are counted (:attr:`EngineStats.too_late`) and
ignored. Lateness is measured per row against the newest time seen before it, so how
the stream is cut into batches does not change the outcome.

Data time only: the engine never reads a clock.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.config import Settings
from seabridge.detect.frames import FrameBuilder, applies_mask, fleet_mask
from seabridge.detect.model import Event, EventStatus, Finding, RulebookRef, event_id
from seabridge.detect.rule import PairRule, Rule
from seabridge.detect.rulebook import Grade, Rulebook, RuleEntry, build_rules
from seabridge.geo import ZoneSet
from seabridge.packs.parties import Party, party_index
from seabridge.units import ms_to_iso

__all__ = ["Engine", "EngineSettings", "EngineStats"]

_SORT_KEYS = [
    ("ts", "ascending"),
    ("mmsi", "ascending"),
    ("msg_type", "ascending"),
    ("lat", "ascending"),
    ("lon", "ascending"),
]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The ``detect.*`` settings, in milliseconds and ticks."""

    tick_ms: int = 10_000
    tick_delay_ms: int = 5_000
    hysteresis_ms: int = 30_000
    watermark_ms: int = 600_000
    max_fix_age_ms: int = 1_800_000
    checkpoint_ticks: int = 6
    update_change: float = 0.2

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> EngineSettings:
        """Read ``detect.*`` from ``settings`` (defaults when None)."""
        values = settings if settings is not None else Settings()
        return cls(
            tick_ms=round(values["detect.tick_s"] * 1000),
            tick_delay_ms=round(values["detect.tick_delay_s"] * 1000),
            hysteresis_ms=round(values["detect.hysteresis_s"] * 1000),
            watermark_ms=round(values["detect.watermark_min"] * 60_000),
            max_fix_age_ms=round(values["detect.max_fix_age_min"] * 60_000),
            checkpoint_ticks=max(1, round(values["detect.checkpoint_ticks"])),
            update_change=values["detect.update_change"],
        )


@dataclass(slots=True)
class EngineStats:
    """What the engine did: counts of positions, ticks, replays and events by status."""

    positions: int = 0
    applied: int = 0
    late: int = 0
    too_late: int = 0
    replays: int = 0
    ticks: int = 0
    events: dict[str, int] = field(default_factory=dict)
    first_tick_ms: int | None = None
    last_tick_ms: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "positions": self.positions,
            "applied": self.applied,
            "late": self.late,
            "too_late": self.too_late,
            "replays": self.replays,
            "ticks": self.ticks,
            "events": dict(sorted(self.events.items())),
            "first_tick": None if self.first_tick_ms is None else ms_to_iso(self.first_tick_ms),
            "last_tick": None if self.last_tick_ms is None else ms_to_iso(self.last_tick_ms),
        }


@dataclass(slots=True)
class _Tracker:
    """One open event: its identity, the finding it reports and what was last emitted."""

    id: str
    key: tuple[int | str, ...]
    start_ms: int
    last_seen_ms: int
    level: int
    shown: Finding
    emitted: Event | None = None


@dataclass(slots=True)
class _Entry:
    """A rulebook entry with its rule instance and its open events."""

    entry: RuleEntry
    rule: Rule
    trackers: dict[tuple[int | str, ...], _Tracker] = field(default_factory=dict)


@dataclass(slots=True)
class _Pending:
    """Positions received and not yet applied (ts after the last tick)."""

    table: pa.Table
    ts_ms: Any
    ordered: bool


def _key_order(key: tuple[int | str, ...]) -> tuple[tuple[bool, int | str], ...]:
    return tuple((isinstance(part, str), part) for part in key)


def _sorted_fixes(table: pa.Table) -> pa.Table:
    if table.num_rows <= 1:
        return table
    return table.take(pc.sort_indices(table, sort_keys=_SORT_KEYS))


class Engine:
    """Evaluate a rulebook over position batches; see the module docstring.

    Args:
        rulebook: The validated rulebook (its entries, grades and hash).
        zones: The zones of the pack (frames carry membership; filters name them).
        parties: The pack's parties (fleets: grading and filters).
        settings: ``detect.*`` settings (defaults when None); :class:`EngineSettings`
            is accepted too.
    """

    def __init__(
        self,
        rulebook: Rulebook,
        zones: ZoneSet,
        parties: Sequence[Party],
        *,
        settings: Settings | EngineSettings | None = None,
    ) -> None:
        self.rulebook = rulebook
        self.ref: RulebookRef = rulebook.ref
        self.parties = tuple(parties)
        self.zones = zones
        self.settings = (
            settings
            if isinstance(settings, EngineSettings)
            else EngineSettings.from_settings(settings)
        )
        self.stats = EngineStats()
        rules = build_rules(rulebook, zones, self.parties)
        self._entries = [
            _Entry(entry, rule) for entry, rule in zip(rulebook.rules, rules, strict=True)
        ]
        self._screens = [e for e in self._entries if e.rule.SCREENS]
        self._active = list(self._entries)  # the entries evaluated at each tick
        self._frames = FrameBuilder(self.parties, zones, max_age_ms=self.settings.max_fix_age_ms)
        self._party_of: dict[int, int] = {}
        self._max_ts: int | None = None
        self._next_tick: int | None = None
        self._last_tick: int | None = None
        self._pending: list[_Pending] = []
        self._applied: dict[int, pa.Table] = {}
        self._checkpoints: deque[tuple[int, Any]] = deque()
        self._published: dict[str, tuple[Event, int]] = {}
        self._out: list[Event] = []
        self._replaying = False
        self._replayed: list[Event] = []

    # -- public API ------------------------------------------------------------------------

    def feed_statics(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Static data (any table with ``mmsi`` and optionally ``ship_type``, ``flag``).

        Statics update the vessels' ship type and flag from now on; they never cause replays.
        """
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self._frames.apply_statics(table)

    def feed_positions(self, batch: pa.RecordBatch | pa.Table) -> list[Event]:
        """Apply a batch of positions; return the events it caused, in emission order."""
        table = _conform(batch)
        rows = table.num_rows
        self._out = []
        if rows == 0:
            return []
        self.stats.positions += rows
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        prior = self._max_ts if self._max_ts is not None else int(ts[0])
        runmax = np.maximum(np.maximum.accumulate(ts), prior)
        too_old = ts < runmax - self.settings.watermark_ms
        if self._next_tick is None:
            self._next_tick = -(-int(ts[0]) // self.settings.tick_ms) * self.settings.tick_ms
        tick, delay = self.settings.tick_ms, self.settings.tick_delay_ms
        position = 0
        next_tick = self._next_tick
        while next_tick + delay <= int(runmax[-1]):
            fire_at = int(np.searchsorted(runmax, next_tick + delay, side="left"))
            # Every tick this row makes due fires after it arrives.
            self._max_ts = int(runmax[fire_at])
            newest = self._max_ts - delay
            due = range(next_tick, newest - (newest - next_tick) % tick + 1, tick)
            self._absorb(table, ts, too_old, position, fire_at + 1)
            position = fire_at + 1
            for tick_ms in due:
                self._fire(tick_ms)
            next_tick = due[-1] + tick
        self._max_ts = int(runmax[-1])
        self._absorb(table, ts, too_old, position, rows)
        out, self._out = self._out, []
        return out

    def advance(self, time_ms: int) -> list[Event]:
        """Data time has reached ``time_ms`` without positions: run the ticks now due.

        For replays that feed only some vessels (the scale-out engine's run-on): ticks fire as
        if a position of another vessel at ``time_ms`` had arrived. Before any position, a
        no-op.
        """
        self._out = []
        if self._next_tick is None:
            return []
        self._max_ts = time_ms if self._max_ts is None else max(self._max_ts, time_ms)
        delay = self.settings.tick_delay_ms
        while self._next_tick + delay <= self._max_ts:
            self._fire(self._next_tick)
        out, self._out = self._out, []
        return out

    def follow(self, rule_ids: Collection[str] | None) -> None:
        """From now on evaluate only the entries ``rule_ids`` (None: all of them again).

        For replays that want only some entries' events (the scale-out engine's run-on, which
        follows the events it owns): the others are neither observed nor evaluated, so their
        state stays as it was and they emit nothing. Screens (data quality) always run, since
        they decide which fixes every entry may use.

        Raises:
            ValueError: an id that is not an entry of the rulebook.
        """
        if rule_ids is None:
            self._active = list(self._entries)
            return
        wanted = set(rule_ids)
        unknown = wanted - {e.entry.id for e in self._entries}
        if unknown:
            raise ValueError(f"not in rulebook {self.ref.id}: {', '.join(sorted(unknown))}")
        self._active = [e for e in self._entries if e.rule.SCREENS or e.entry.id in wanted]

    def finish(self) -> list[Event]:
        """Run the ticks still pending (up to the first tick at or after the newest data).

        Nothing is closed: events still open at the end of the data stay open.
        """
        self._out = []
        if self._max_ts is not None and self._next_tick is not None:
            tick = self.settings.tick_ms
            last = -(-self._max_ts // tick) * tick
            for tick_ms in range(self._next_tick, last + 1, tick):
                self._fire(tick_ms)
        out, self._out = self._out, []
        return out

    def open_events(self) -> list[Event]:
        """The last emitted state of every event still open."""
        return [
            tracker.emitted
            for entry in self._entries
            for tracker in entry.trackers.values()
            if tracker.emitted is not None
        ]

    # -- intake ----------------------------------------------------------------------------

    def _absorb(self, table: pa.Table, ts: Any, too_old: Any, begin: int, end: int) -> None:
        """Rows [begin, end) arrive: pending if after the last tick, late if not."""
        if end <= begin:
            return
        part_ts = ts[begin:end]
        old = too_old[begin:end]
        last = self._last_tick
        late = ~old & (part_ts <= last) if last is not None else np.zeros(end - begin, bool)
        fresh = ~old & ~late
        n_old = int(old.sum())
        if n_old:
            self.stats.too_late += n_old
        part = table.slice(begin, end - begin)
        if fresh.all():
            ordered = bool(np.all(part_ts[1:] >= part_ts[:-1]))
            self._pending.append(_Pending(part, part_ts, ordered))
        elif fresh.any():
            keep = np.flatnonzero(fresh)
            sub_ts = part_ts[keep]
            ordered = bool(np.all(sub_ts[1:] >= sub_ts[:-1]))
            self._pending.append(_Pending(part.take(keep), sub_ts, ordered))
        if late.any():
            self._late(part.take(np.flatnonzero(late)))

    def _take_due(self, tick_ms: int) -> pa.Table | None:
        """Pending rows with ts <= tick_ms, removed from the pending list."""
        due: list[pa.Table] = []
        rest: list[_Pending] = []
        for item in self._pending:
            if item.ordered:
                cut = int(np.searchsorted(item.ts_ms, tick_ms, side="right"))
                if cut:
                    due.append(item.table.slice(0, cut))
                if cut < item.table.num_rows:
                    rest.append(_Pending(item.table.slice(cut), item.ts_ms[cut:], ordered=True))
            else:
                mask = item.ts_ms <= tick_ms
                if mask.any():
                    due.append(item.table.filter(pa.array(mask)))
                if not mask.all():
                    keep = ~mask
                    rest.append(
                        _Pending(item.table.filter(pa.array(keep)), item.ts_ms[keep], False)
                    )
        self._pending = rest
        if not due:
            return None
        return _sorted_fixes(pa.concat_tables(due) if len(due) > 1 else due[0])

    # -- ticks -----------------------------------------------------------------------------

    def _fire(self, tick_ms: int) -> None:
        if not self._checkpoints:
            self._checkpoints.append((tick_ms - self.settings.tick_ms, self._snapshot()))
        fixes = self._take_due(tick_ms)
        if fixes is not None:
            self._applied[tick_ms] = fixes
        self._tick(tick_ms, fixes)
        self._next_tick = tick_ms + self.settings.tick_ms
        self._forget()

    def _tick(self, tick_ms: int, fixes: pa.Table | None) -> None:
        """Apply the fixes due at ``tick_ms``, evaluate every entry, run the lifecycle."""
        if fixes is not None and fixes.num_rows:
            accepted: Any = None
            for screen in self._screens:
                mask = np.asarray(screen.rule.screen(fixes), dtype=np.bool_)
                accepted = mask if accepted is None else accepted & mask
            usable = fixes if accepted is None else fixes.filter(pa.array(accepted))
            if usable.num_rows:
                for entry in self._active:
                    if not entry.rule.SCREENS:
                        entry.rule.observe(usable)
            self._frames.apply(fixes, accepted)
            if not self._replaying:
                self.stats.applied += fixes.num_rows
        frame = self._frames.frame(tick_ms)
        for screen in self._screens:
            frame.usable &= np.asarray(screen.rule.usable(frame), dtype=np.bool_)
        for entry in self._active:
            rule = entry.rule
            mask = applies_mask(
                frame,
                entry.entry.applies,
                self.parties,
                with_fleets=not rule.PAIR,
                with_zones=not rule.ZONE_AWARE,
            )
            fleets = entry.entry.applies.fleets
            if isinstance(rule, PairRule) and fleets is not None:
                anchors = fleet_mask(frame.party, fleets, self.parties)
                findings = list(rule.evaluate(frame, mask, anchors))
            else:
                findings = list(rule.evaluate(frame, mask))
            if rule.PAIR and fleets is not None:
                findings = [f for f in findings if self._in_fleets(f.vessels, fleets)]
            self._lifecycle(entry, tick_ms, findings)
        self._last_tick = tick_ms
        if not self._replaying:
            self.stats.ticks += 1
            if self.stats.first_tick_ms is None:
                self.stats.first_tick_ms = tick_ms
            self.stats.last_tick_ms = tick_ms
        if (tick_ms // self.settings.tick_ms) % self.settings.checkpoint_ticks == 0:
            self._checkpoints.append((tick_ms, self._snapshot()))

    def _party(self, mmsi: int) -> int:
        party = self._party_of.get(mmsi)
        if party is None:
            party = int(party_index(self.parties, np.asarray([mmsi]))[0])
            self._party_of[mmsi] = party
        return party

    def _in_fleets(self, vessels: Sequence[int], fleets: str | Sequence[str]) -> bool:
        party_of = self._party_of
        for mmsi in vessels:
            party = party_of.get(mmsi)
            if party is None:
                party = self._party(int(mmsi))
            if party >= 0 and (fleets == "any" or self.parties[party].id in fleets):
                return True
        return False

    def _grade(self, entry: RuleEntry, finding: Finding) -> int:
        if finding.level:
            return finding.level
        level = entry.level
        for grade in entry.grades:
            if grade.level > level and self._grade_holds(grade, finding):
                level = grade.level
        return level

    def _grade_holds(self, grade: Grade, finding: Finding) -> bool:
        if not all(condition.holds(finding.metrics) for condition in grade.when):
            return False
        return grade.fleets is None or self._in_fleets(finding.vessels, grade.fleets)

    # -- lifecycle -------------------------------------------------------------------------

    def _lifecycle(self, entry: _Entry, tick_ms: int, findings: list[Finding]) -> None:
        rule_entry, rule = entry.entry, entry.rule
        key_metric, worse = rule.key_metric(), rule.KEY_WORSE
        seen: set[tuple[int | str, ...]] = set()
        for finding in sorted(findings, key=lambda f: _key_order(f.key)):
            if finding.key in seen:
                continue
            seen.add(finding.key)
            level = self._grade(rule_entry, finding)
            tracker = entry.trackers.get(finding.key)
            if tracker is None:
                started = finding.started_ms
                start = started if started is not None and started < tick_ms else tick_ms
                tracker = _Tracker(
                    id=event_id(self.ref.sha256, rule_entry.id, finding.key, start),
                    key=finding.key,
                    start_ms=start,
                    last_seen_ms=tick_ms,
                    level=level,
                    shown=finding,
                )
                entry.trackers[finding.key] = tracker
                self._emit(entry, tracker, "open", tick_ms)
                continue
            tracker.last_seen_ms = tick_ms
            if _more_severe(finding, level, tracker, key_metric, worse):
                tracker.shown = finding
            tracker.level = max(tracker.level, level)
            if self._material(tracker, key_metric):
                self._emit(entry, tracker, "update", tick_ms)
        hysteresis = self.settings.hysteresis_ms
        gone = [
            tracker
            for key, tracker in entry.trackers.items()
            if key not in seen and tick_ms - tracker.last_seen_ms >= hysteresis
        ]
        for tracker in sorted(gone, key=lambda t: _key_order(t.key)):
            del entry.trackers[tracker.key]
            self._emit(entry, tracker, "closed", tick_ms)

    def _material(self, tracker: _Tracker, key_metric: str | None) -> bool:
        """Whether the tracker moved enough since it was last emitted to emit an update."""
        last = tracker.emitted
        if last is None:
            return True
        if tracker.level != last.level:
            return True
        return _moved(last.metrics, tracker.shown.metrics, key_metric, self.settings)

    def _emit(self, entry: _Entry, tracker: _Tracker, status: EventStatus, tick_ms: int) -> None:
        shown = tracker.shown
        event = Event(
            id=tracker.id,
            rule_id=entry.entry.id,
            kind=entry.entry.kind,
            rulebook=self.ref,
            level=tracker.level,
            status=status,
            vessels=tuple(int(v) for v in shown.vessels),
            start_ms=tracker.start_ms,
            end_ms=tracker.last_seen_ms if status == "closed" else None,
            lat=float(shown.lat),
            lon=float(shown.lon),
            zone=shown.zone,
            metrics=dict(shown.metrics),
        )
        tracker.emitted = event
        if self._replaying:
            self._replayed.append(event)
        else:
            self._publish(event, tick_ms)

    def _publish(self, event: Event, tick_ms: int) -> None:
        self._published[event.id] = (event, tick_ms)
        self._out.append(event)
        self.stats.events[event.status] = self.stats.events.get(event.status, 0) + 1

    # -- checkpoints and late data ---------------------------------------------------------

    def _snapshot(self) -> Any:
        return (
            self._frames.snapshot(),
            [entry.rule.snapshot() for entry in self._entries],
            [_copy_trackers(entry.trackers) for entry in self._entries],
        )

    def _restore(self, saved: Any) -> None:
        frames, rules, trackers = saved
        self._frames.restore(frames)
        for entry, rule_state, entry_trackers in zip(self._entries, rules, trackers, strict=True):
            entry.rule.restore(rule_state)
            entry.trackers = _copy_trackers(entry_trackers)

    def _forget(self) -> None:
        """Drop checkpoints, applied fixes and published states no late row can reach."""
        if self._max_ts is None:
            return
        horizon = self._max_ts - self.settings.watermark_ms
        while len(self._checkpoints) > 1 and self._checkpoints[1][0] < horizon:
            self._checkpoints.popleft()
        oldest = self._checkpoints[0][0] if self._checkpoints else horizon
        for tick_ms in [t for t in self._applied if t <= oldest]:
            del self._applied[tick_ms]
        if len(self._published) > 4096:
            stale = [
                event_id_
                for event_id_, (event, tick_ms) in self._published.items()
                if tick_ms <= oldest and event.status in ("closed", "retracted")
            ]
            for event_id_ in stale:
                del self._published[event_id_]

    def _late(self, rows: pa.Table) -> None:
        """Apply late rows (ts <= last tick) by replaying from the checkpoint before them."""
        ts = rows.column("ts").cast(pa.int64()).to_numpy()
        base = self._checkpoints[0][0] if self._checkpoints else None
        reachable = ts > base if base is not None else np.zeros(ts.size, bool)
        if not reachable.all():
            self.stats.too_late += int((~reachable).sum())
            rows, ts = rows.filter(pa.array(reachable)), ts[reachable]
        if rows.num_rows == 0:
            return
        self.stats.late += rows.num_rows
        self.stats.replays += 1
        tick = self.settings.tick_ms
        ticks = -(-ts // tick) * tick
        for tick_ms in np.unique(ticks).tolist():
            part = rows.filter(pa.array(ticks == tick_ms))
            known = self._applied.get(tick_ms)
            merged = part if known is None else pa.concat_tables([known, part])
            self._applied[tick_ms] = _sorted_fixes(merged)
        earliest = int(ts.min())
        checkpoint_ms, saved = next(
            (c for c in reversed(self._checkpoints) if c[0] < earliest), self._checkpoints[0]
        )
        while self._checkpoints and self._checkpoints[-1][0] > checkpoint_ms:
            self._checkpoints.pop()
        last_tick = self._last_tick
        assert last_tick is not None  # a row is late only after a tick
        before = {
            event_id_: event
            for event_id_, (event, tick_ms) in self._published.items()
            if tick_ms > checkpoint_ms or event.status in ("open", "update")
        }
        self._restore(saved)
        self._replaying = True
        self._replayed = []
        try:
            for tick_ms in range(checkpoint_ms + tick, last_tick + 1, tick):
                self._tick(tick_ms, self._applied.get(tick_ms))
        finally:
            self._replaying = False
        self._reconcile(before, self._replayed, _late_note(rows, ts), last_tick)

    def _reconcile(
        self, before: dict[str, Event], replayed: list[Event], note: str, tick_ms: int
    ) -> None:
        """Emit what changed between the published events and the replayed outcome."""
        after: dict[str, Event] = {event.id: event for event in replayed}
        owner: dict[str, _Tracker] = {}
        for entry in self._entries:
            for tracker in entry.trackers.values():
                owner[tracker.id] = tracker
                if tracker.emitted is not None:
                    after[tracker.id] = tracker.emitted
        order = sorted(
            set(before) | set(after),
            key=lambda i: ((after.get(i) or before[i]).start_ms, i),
        )
        for event_id_ in order:
            old, new = before.get(event_id_), after.get(event_id_)
            if new is None:
                assert old is not None
                if old.status != "retracted":
                    self._publish(_revised(old, "retracted", f"retracted: {note}"), tick_ms)
                continue
            if old is None or old.status == "retracted":
                opened = _revised(new, "open", f"opened late: {note}", end_ms=None)
                self._publish(opened, tick_ms)
                if new.status == "closed":
                    self._publish(_revised(new, "closed", f"opened late: {note}"), tick_ms)
                elif event_id_ in owner:
                    owner[event_id_].emitted = opened
                continue
            if self._differs(old, new):
                status: EventStatus = "closed" if new.status == "closed" else "update"
                revised = _revised(new, status, f"revised: {note}")
                self._publish(revised, tick_ms)
                if event_id_ in owner:
                    owner[event_id_].emitted = revised
            elif event_id_ in owner:
                owner[event_id_].emitted = old

    def _differs(self, old: Event, new: Event) -> bool:
        if (old.status == "closed") != (new.status == "closed"):
            return True
        if (old.level, old.end_ms, old.vessels, old.zone) != (
            new.level,
            new.end_ms,
            new.vessels,
            new.zone,
        ):
            return True
        rule_kind = next(e.rule for e in self._entries if e.entry.id == new.rule_id)
        return _moved(old.metrics, new.metrics, rule_kind.key_metric(), self.settings)


def _copy_trackers(
    trackers: dict[tuple[int | str, ...], _Tracker],
) -> dict[tuple[int | str, ...], _Tracker]:
    """Trackers are mutable but hold only immutable findings and events: copy one level."""
    return {key: copy.copy(tracker) for key, tracker in trackers.items()}


def _conform(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    if table.schema.equals(POSITION_SCHEMA):
        return table
    missing = [name for name in POSITION_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(f"position batch lacks columns {', '.join(missing)}")
    return table.select(POSITION_SCHEMA.names).cast(POSITION_SCHEMA)


def _more_severe(
    finding: Finding, level: int, tracker: _Tracker, key_metric: str | None, worse: str
) -> bool:
    """Whether ``finding`` should replace what the tracker reports."""
    if worse == "latest" or key_metric is None:
        return True
    if level != tracker.level:
        return level > tracker.level
    new = finding.metrics.get(key_metric)
    old = tracker.shown.metrics.get(key_metric)
    if new is None or new != new:
        return False
    if old is None or old != old:
        return True
    return new < old if worse == "lower" else new > old


def _moved(old: Any, new: Any, key_metric: str | None, settings: EngineSettings) -> bool:
    if key_metric is None:
        return False
    before, after = old.get(key_metric), new.get(key_metric)
    if before is None or after is None or before != before or after != after:
        return (before is None) != (after is None)
    return bool(abs(after - before) >= settings.update_change * max(abs(before), 1.0))


def _revised(event: Event, status: EventStatus, reason: str, **changes: Any) -> Event:
    return dataclasses.replace(event, status=status, reason=reason, **changes)


def _late_note(rows: pa.Table, ts: Any) -> str:
    mmsis = sorted(set(rows.column("mmsi").to_pylist()))
    shown = ", ".join(str(m) for m in mmsis[:3]) + (", ..." if len(mmsis) > 3 else "")
    span = ms_to_iso(int(ts.min()))
    if ts.max() != ts.min():
        span += f" to {ms_to_iso(int(ts.max()))}"
    count = rows.num_rows
    return f"{count} late position{'s' if count != 1 else ''} ({span}; MMSI {shown})"
