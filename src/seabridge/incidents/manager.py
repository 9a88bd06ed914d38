"""The incident manager: events in, incidents with their ladder and hotline thread out.

:class:`IncidentManager` turns detection events at or above the mechanism's ``open_level``
into incidents (opening one or joining an open one, see :mod:`~seabridge.incidents.correlate`),
walks each through the lifecycle table (:mod:`~seabridge.incidents.lifecycle`) and up the
escalation ladder of the mechanism (:mod:`~seabridge.incidents.mechanism`), and keeps
everything in the incident tables of ``state.sqlite`` (:mod:`~seabridge.incidents.store`).

Outbound messages go through the :class:`~seabridge.incidents.model.SendFn` handed in (the
hotline knows nothing of incidents). They are decided inside the incident transaction and
written to an outbox; after COMMIT they are sent with a deterministic ``msg_id`` (the ledger's
idempotency key), and the returned reference arms the acknowledgement timer. A crash between
the two leaves the message pending, and the next :meth:`IncidentManager.flush` (every call
flushes; :meth:`~IncidentManager.check_timers` is the one to call at start-up) sends it once.

Deadlines: the hotline appends ``deadline-missed`` when an acknowledgement deadline passes
(protocol amendment 3) and the node calls :meth:`~IncidentManager.on_deadline_missed`; the
timer moves from ``armed`` to ``missed`` in the same transaction as the escalation, so a
repeated call, a restart or :meth:`~IncidentManager.check_timers` with ``escalate=True`` never
escalates twice for one miss.

Time is the injected :class:`~seabridge.clock.Clock`'s. This module must not import the
hotline, the node, the web layer or the CLI.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seabridge.clock import Clock
from seabridge.detect.model import Event
from seabridge.errors import IncidentError
from seabridge.incidents import _inbound, _rows, _views
from seabridge.incidents._outbox import Outbox
from seabridge.incidents._params import fill, time_text
from seabridge.incidents._rows import IncidentRow
from seabridge.incidents.correlate import (
    Candidate,
    CorrelationKey,
    find_join,
    key_for,
)
from seabridge.incidents.lifecycle import ACTIVE, transition
from seabridge.incidents.mechanism import Mechanism
from seabridge.incidents.model import Change, MessageRef, PeerMessage, SendFn
from seabridge.incidents.store import IncidentStore
from seabridge.packs import Party

__all__ = ["IncidentManager"]


class IncidentManager:
    """Incidents of one node.

    Args:
        path_or_conn: ``state.sqlite`` (a path), or an open connection (the ledger's) in
            autocommit mode; the manager closes only what it opened.
        mechanism: The jointly agreed mechanism.
        party: This node's party (``jcg``); one of the mechanism's parties.
        clock: The clock deadlines and timestamps come from.
        send: Sends a hotline message and returns its reference.
        parties: The pack's parties: fleets and flags decide who is notified.
        statics: Static data of a vessel by MMSI (name, callsign, ship type ...) for display.
        agreed: Whether a rulebook SHA-256 is jointly agreed; ``None`` means not known, and
            every incident carries the warning.
    """

    def __init__(
        self,
        path_or_conn: str | Path | sqlite3.Connection,
        mechanism: Mechanism,
        party: str,
        clock: Clock,
        send: SendFn,
        *,
        parties: Sequence[Party] = (),
        statics: Callable[[int], Mapping[str, Any] | None] | None = None,
        agreed: Callable[[str], bool] | None = None,
    ) -> None:
        if party not in mechanism.parties:
            raise IncidentError(
                f"party {party!r} is not in the mechanism {mechanism.id} "
                f"(parties: {', '.join(mechanism.parties)})"
            )
        self.mechanism = mechanism
        self.party = party
        self.clock = clock
        self._send = send
        self._parties = {p.id: p for p in parties}
        self._statics = statics
        self._agreed = agreed
        self.store = IncidentStore(path_or_conn)
        self._outbox = Outbox(self.store, mechanism, party, clock, send)

    def close(self) -> None:
        """Close the database connection if the manager opened it."""
        self.store.close()

    # --- events ------------------------------------------------------------------------------

    def apply_events(self, events: Iterable[Event]) -> list[Change]:
        """Open, join, update or retract incidents for detection events; notify per policy.

        Events below the mechanism's ``open_level`` are ignored unless they update an event
        already in an incident; closed or retracted events of no incident are ignored.
        """
        changes: list[Change] = []
        with self.store.write() as conn:
            for event in events:
                changes.extend(self._apply_one(conn, event))
        return changes + self.flush()

    def _apply_one(self, conn: sqlite3.Connection, event: Event) -> list[Change]:
        changes: list[Change] = []
        attached = conn.execute(
            "SELECT incident_id FROM incident_events WHERE event_id = ?", (event.id,)
        ).fetchone()
        if attached is None:
            if event.status in ("closed", "retracted") or event.level < self.mechanism.open_level:
                return []
            target = find_join(event, self._candidates(conn), self.mechanism.correlation_window_ms)
            if target is None:
                incident = self._open(conn, event)
                changes.append(self._change("opened", incident, event=event.id))
            else:
                incident = _rows.load(conn, target)
                changes.append(self._change("joined", incident, event=event.id))
        else:
            incident = _rows.load(conn, attached[0])
            changes.append(self._change("updated", incident, event=event.id, status=event.status))
        self._store_event(conn, incident, event)
        changes.extend(self._maybe_notify(conn, incident))
        changes.extend(self._reassess(conn, incident))
        return changes

    def _candidates(self, conn: sqlite3.Connection) -> list[Candidate]:
        active = sorted(ACTIVE)
        rows = _rows.select(conn, f"status IN ({', '.join('?' * len(active))})", tuple(active))
        candidates = []
        for row in rows:
            events = conn.execute(
                "SELECT event_id, start_ms, event FROM incident_events WHERE incident_id = ?",
                (row.id,),
            ).fetchall()
            zones = tuple(
                (zone, start) for _, start, text in events if (zone := json.loads(text)["zone"])
            )
            candidates.append(
                Candidate(
                    id=row.id,
                    status=row.status,
                    key=CorrelationKey.parse(row.corr_key),
                    vessels=frozenset(row.vessels),
                    event_ids=frozenset(e[0] for e in events),
                    zone_starts=zones,
                )
            )
        return candidates

    def _open(self, conn: sqlite3.Connection, event: Event) -> IncidentRow:
        now = self.clock.now_ms()
        key = key_for(event, self.mechanism.correlation_window_ms)
        incident = IncidentRow(
            id=_rows.next_id(conn, self.party),
            origin=self.party,
            kind=event.kind,
            corr_key=key.text,
            status="open",
            level=0,
            severity=event.level,
            peers=[],
            vessels=list(key.vessels),
            zone=event.zone,
            start_ms=event.start_ms,
            rulebook=event.rulebook.as_json(),
            flagged=False,
            closing_proposed=False,
            created_ms=now,
            updated_ms=now,
        )
        _rows.insert(conn, incident)
        detail = {"event": event.id, "key": key.text}
        _rows.log(conn, incident.id, now, "open", None, "open", "rule", event.rule_id, detail)
        return incident

    def _store_event(self, conn: sqlite3.Connection, incident: IncidentRow, event: Event) -> None:
        now = self.clock.now_ms()
        conn.execute(
            "INSERT INTO incident_events (incident_id, event_id, status, level, start_ms, event, "
            "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, event_id) DO "
            "UPDATE SET status = excluded.status, level = excluded.level, event = "
            "excluded.event, updated_ms = excluded.updated_ms",
            (
                incident.id,
                event.id,
                event.status,
                event.level,
                event.start_ms,
                json.dumps(event.as_json(), sort_keys=True),
                now,
            ),
        )
        incident.vessels = sorted(set(incident.vessels) | {int(v) for v in event.vessels})
        incident.severity = max(incident.severity, event.level)
        incident.updated_ms = now
        _rows.save(conn, incident)

    def _involved(self, vessels: Iterable[int]) -> list[str]:
        """The other parties an incident's vessels involve, per the notify policy."""
        found = []
        for party_id in self.mechanism.parties:
            party = self._parties.get(party_id)
            if party_id == self.party or party is None:
                continue
            fleet = "fleet" in self.mechanism.involving and any(party.in_fleet(v) for v in vessels)
            flag = "flag" in self.mechanism.involving and any(
                v // 1_000_000 in party.mids for v in vessels
            )
            if fleet or flag:
                found.append(party_id)
        return found

    def _maybe_notify(self, conn: sqlite3.Connection, incident: IncidentRow) -> list[Change]:
        if incident.origin != self.party or incident.status != "open":
            return []
        peers = self._involved(incident.vessels)
        if not peers or self.mechanism.template_for(1, incident.kind) is None:
            return []
        for peer in peers:
            self._outbox.queue_level(conn, incident, peer, 1, [], None)
        incident.peers, incident.level = peers, 1
        self._step(conn, incident, "notify", "rule", "mechanism", {"peers": peers, "level": 1})
        return [self._change("notified", incident, peers=peers)]

    def _reassess(self, conn: sqlite3.Connection, incident: IncidentRow) -> list[Change]:
        """Clear or retract the incident when its events say so."""
        statuses = {
            row[0]
            for row in conn.execute(
                "SELECT status FROM incident_events WHERE incident_id = ?", (incident.id,)
            )
        }
        if not statuses or not statuses <= {"closed", "retracted"}:
            return []
        if statuses == {"retracted"} and incident.status not in ("resolved", "closed", "retracted"):
            self._cancel_timers(conn, incident.id, "cancelled")
            self._step(conn, incident, "retract", "rule", "detection", {})
            return [self._change("retracted", incident)]
        if incident.status in ACTIVE:
            self._cancel_timers(conn, incident.id, "cancelled")
            self._step(conn, incident, "clear", "rule", "detection", {})
            incident.closing_proposed = True
            _rows.save(conn, incident)
            return [self._change("cleared", incident), self._closing_change(conn, incident)]
        return []

    def flush(self) -> list[Change]:
        """Send every pending outbound message, in the order decided; arm their timers.

        A send that raises stops the flush (later messages keep their order) and is reported
        as a ``send_failed`` change; the message stays pending for the next flush.
        """
        return self._outbox.flush()

    # --- inbound messages --------------------------------------------------------------------

    def on_peer_message(
        self, conn: sqlite3.Connection | None, message: PeerMessage
    ) -> list[Change]:
        """Attach a peer's hotline message to its incident and act on it.

        An ``ack`` or ``reply`` referring to our message acknowledges the incident and stops
        its timers; a ``notification`` or ``escalation`` whose correlation key (body
        ``incident``) matches an incident joins it, else opens a peer-reported incident;
        anything else referring to an incident's message is attached to its thread.
        Idempotent on (origin, seq). Given ``conn`` (the ledger's, inside its consume
        transaction), every write goes through it and commits with the message.
        """
        if message.kind in _inbound.IGNORED_KINDS:
            return []
        with self.store.write(conn) as c:
            return _inbound.handle(
                c, message, self.party, self.mechanism.correlation_window_ms, self.clock.now_ms()
            )

    # --- deadlines ---------------------------------------------------------------------------

    def on_deadline_missed(self, ref: tuple[str, int] | MessageRef) -> list[Change]:
        """Escalate the incident whose message ``ref`` (origin, seq) missed its deadline.

        One escalation per miss: only an armed timer escalates, and it is marked missed in
        the same transaction. The next ladder level is notified with its template and
        deadline, referring to the unanswered message; past the top level the incident stays
        escalated and is flagged. A ref of no armed timer changes nothing.
        """
        origin, seq = ref[0], ref[1]
        with self.store.write() as conn:
            changes = self._miss(conn, origin, seq)
        return changes + self.flush() if changes else changes

    def _miss(self, conn: sqlite3.Connection, origin: str, seq: int) -> list[Change]:
        timer = conn.execute(
            "SELECT incident_id, level, peer, msg_id, state FROM incident_timers "
            "WHERE origin = ? AND seq = ?",
            (origin, seq),
        ).fetchone()
        if timer is None or timer[4] != "armed":
            return []
        incident_id, level, peer, msg_id, _ = timer
        conn.execute(
            "UPDATE incident_timers SET state = 'missed', updated_ms = ? WHERE origin = ? "
            "AND seq = ?",
            (self.clock.now_ms(), origin, seq),
        )
        incident = _rows.load(conn, incident_id)
        if incident.status not in ("notified", "escalated", "acknowledged"):
            return []
        detail: dict[str, Any] = {"missed": msg_id, "peer": peer, "level": level + 1}
        if level + 1 <= self.mechanism.top_level:
            self._step(conn, incident, "escalate", "deadline", "deadline", detail)
            incident.level = max(incident.level, level + 1)
            _rows.save(conn, incident)
            self._outbox.queue_level(conn, incident, peer, level + 1, [(origin, seq)], msg_id)
            return [self._change("escalated", incident, **detail)]
        if incident.status != "escalated":
            self._step(conn, incident, "escalate", "deadline", "deadline", detail)
        incident.flagged = True
        _rows.save(conn, incident)
        detail = {"missed": msg_id, "peer": peer, "top_level": self.mechanism.top_level}
        _rows.log(
            conn,
            incident.id,
            self.clock.now_ms(),
            "flag",
            incident.status,
            incident.status,
            "deadline",
            "deadline",
            detail,
        )
        return [self._change("flagged", incident, **detail)]

    def check_timers(self, now_ms: int | None = None, *, escalate: bool = False) -> list[Change]:
        """Send what a crash left pending, then report armed timers past due.

        Call it at start-up and periodically. With ``escalate=False`` (the default: the
        hotline's ``deadline-missed`` entry escalates) each overdue timer is reported as an
        ``overdue`` change; with ``escalate=True`` it is escalated here instead, by the same
        one-per-miss path as :meth:`on_deadline_missed`.
        """
        changes = self.flush()
        now = self.clock.now_ms() if now_ms is None else now_ms
        with self.store.read() as conn:
            due = conn.execute(
                "SELECT origin, seq, msg_id, incident_id, level, due_ms FROM incident_timers "
                "WHERE state = 'armed' AND due_ms <= ? ORDER BY due_ms, origin, seq",
                (now,),
            ).fetchall()
        for origin, seq, msg_id, incident_id, level, due_ms in due:
            if escalate:
                changes.extend(self.on_deadline_missed((origin, seq)))
            else:
                detail = {"origin": origin, "seq": seq, "msg_id": msg_id, "due_ms": due_ms}
                changes.append(Change("overdue", incident_id, "", level, detail))
        return changes

    def _cancel_timers(self, conn: sqlite3.Connection, incident_id: str, state: str) -> int:
        return _rows.cancel_timers(conn, incident_id, state, self.clock.now_ms())

    # --- operators ---------------------------------------------------------------------------

    def operator_ack(self, incident_id: str, user: str, text: str = "") -> list[Change]:
        """An operator records the counterpart's acknowledgement (e.g. received by radio)."""
        with self.store.write() as conn:
            incident = _rows.load(conn, incident_id)
            transition(incident.status, "acknowledge")  # refuse before touching the timers
            stopped = self._cancel_timers(conn, incident_id, "acked")
            self._step(
                conn, incident, "acknowledge", "operator", user, {"text": text, "timers": stopped}
            )
            return [self._change("acknowledged", incident, by=user)]

    def operator_note(self, incident_id: str, user: str, text: str, **detail: Any) -> list[Change]:
        """An operator's note in the timeline (the state does not change); ``detail`` adds
        to the recorded ``{"text": text}`` (e.g. ``internal``, where it was sent)."""
        with self.store.write() as conn:
            incident = _rows.load(conn, incident_id)
            _rows.log(
                conn,
                incident_id,
                self.clock.now_ms(),
                "note",
                incident.status,
                incident.status,
                "operator",
                user,
                {**detail, "text": text},
            )
            return [self._change("noted", incident, by=user)]

    def operator_resolve(self, incident_id: str, user: str, text: str = "") -> list[Change]:
        """An operator declares the situation resolved; its timers stop."""
        with self.store.write() as conn:
            incident = _rows.load(conn, incident_id)
            transition(incident.status, "resolve")
            self._cancel_timers(conn, incident_id, "cancelled")
            self._step(conn, incident, "resolve", "operator", user, {"text": text})
            return [self._change("resolved", incident, by=user)]

    def propose_closing(self, incident_id: str) -> Change:
        """The closing message proposed for an incident whose events all closed (for the
        operator to confirm with :meth:`confirm_closing`; never sent automatically).

        Raises:
            IncidentError: no such incident, or it is not de-escalating.
        """
        with self.store.read() as conn:
            incident = _rows.load(conn, incident_id)
            if incident.status != "de-escalating":
                raise IncidentError(
                    f"incident {incident_id} is {incident.status}: a closing message is "
                    "proposed only once all its events closed (de-escalating)"
                )
            return self._closing_change(conn, incident)

    def _closing_change(self, conn: sqlite3.Connection, incident: IncidentRow) -> Change:
        template = self.mechanism.closing_template
        values = self._outbox.values(conn, incident)
        values["time"] = time_text(self.clock.now_ms())
        params = fill(self.mechanism.template_params[template], values)
        peers = self._thread_peers(conn, incident.id)
        detail = {"template": template, "params": params, "peers": peers}
        return self._change("closing_proposed", incident, **detail)

    def _thread_peers(self, conn: sqlite3.Connection, incident_id: str) -> list[str]:
        rows = conn.execute(
            "SELECT DISTINCT peer FROM incident_messages WHERE incident_id = ? ORDER BY peer",
            (incident_id,),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def confirm_closing(self, incident_id: str, user: str, text: str = "") -> list[Change]:
        """An operator confirms the closing: the closing message goes to every party in the
        incident's thread, and the incident is resolved (if it was not) and closed."""
        with self.store.write() as conn:
            incident = _rows.load(conn, incident_id)
            changes: list[Change] = []
            if incident.status == "de-escalating":
                self._step(conn, incident, "resolve", "operator", user, {"text": text})
                changes.append(self._change("resolved", incident, by=user))
            transition(incident.status, "close")
            proposal = self._closing_change(conn, incident)
            for peer in proposal.detail["peers"]:
                self._outbox.queue(
                    conn,
                    incident,
                    peer,
                    "notification",
                    max(incident.level, 1),
                    proposal.detail["template"],
                    proposal.detail["params"],
                    None,
                    [],
                    f"{incident.id}.closing.{peer}",
                )
            self._step(conn, incident, "close", "operator", user, {"text": text})
            changes.append(self._change("closed", incident, by=user))
        return changes + self.flush()

    # --- views -------------------------------------------------------------------------------

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every incident (or those in ``status``) as a JSON summary, oldest first."""
        with self.store.read() as conn:
            rows = _rows.select(conn, "status = ?", (status,)) if status else _rows.select(conn)
            return [_views.summary(row, self._rulebook_view(row)) for row in rows]

    def get(self, incident_id: str) -> dict[str, Any]:
        """One incident in full, as JSON (see :func:`seabridge.incidents._views.detail`).

        Raises:
            IncidentError: no such incident.
        """
        with self.store.read() as conn:
            incident = _rows.load(conn, incident_id)
            return _views.detail(
                conn,
                incident,
                self._rulebook_view(incident),
                self._vessel_view,
                self.mechanism,
            )

    def _rulebook_view(self, incident: IncidentRow) -> dict[str, Any] | None:
        if incident.rulebook is None:
            return None
        sha = str(incident.rulebook.get("sha256", ""))
        agreed = bool(self._agreed(sha)) if self._agreed is not None else False
        warning = (
            None
            if agreed
            else (
                f"rulebook {incident.rulebook.get('id')} v{incident.rulebook.get('version')} "
                f"({sha[:12]}) is not jointly agreed with the other party"
            )
        )
        return {**incident.rulebook, "agreed": agreed, "warning": warning}

    def _vessel_view(self, mmsi: int) -> dict[str, Any]:
        fleet = next((p.id for p in self._parties.values() if p.in_fleet(mmsi)), None)
        flag = next((p.id for p in self._parties.values() if mmsi // 1_000_000 in p.mids), None)
        static = self._statics(mmsi) if self._statics is not None else None
        return {
            "mmsi": mmsi,
            "party": fleet,
            "flag_party": flag,
            "static": dict(static) if static else None,
        }

    # --- helpers -----------------------------------------------------------------------------

    def _step(
        self,
        conn: sqlite3.Connection,
        incident: IncidentRow,
        action: str,
        cause: str,
        actor: str,
        detail: dict[str, Any],
    ) -> None:
        _rows.step(conn, incident, action, cause, actor, detail, self.clock.now_ms())

    @staticmethod
    def _change(change: str, incident: IncidentRow, **detail: Any) -> Change:
        return _rows.change(change, incident, **detail)
