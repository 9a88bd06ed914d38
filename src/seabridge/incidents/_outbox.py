"""The outbox of incident messages: decided in a transaction, sent after it commits.

A message is written to ``incident_outbox`` inside the transaction that decides it, with a
deterministic ``msg_id`` (``INCIDENT.L<level>.<peer>``, ``INCIDENT.closing.<peer>``). After
COMMIT, :meth:`Outbox.flush` hands each pending message to the node's
:class:`~seabridge.incidents.model.SendFn` (idempotent on ``msg_id`` in the ledger) and, in a
second transaction, records the returned reference in the thread and arms its timer. A crash
in between leaves the message pending; the next flush sends it, once.
"""

from __future__ import annotations

import json
import sqlite3

from seabridge.clock import Clock
from seabridge.incidents import _rows
from seabridge.incidents._params import event_values, fill, time_text
from seabridge.incidents._rows import IncidentRow
from seabridge.incidents.mechanism import Mechanism
from seabridge.incidents.model import Change, MessageRef, Outgoing, SendFn
from seabridge.incidents.store import IncidentStore

__all__ = ["Outbox"]


class Outbox:
    """Queues, sends and records the outbound messages of one node's incidents."""

    def __init__(
        self, store: IncidentStore, mechanism: Mechanism, party: str, clock: Clock, send: SendFn
    ) -> None:
        self.store = store
        self.mechanism = mechanism
        self.party = party
        self.clock = clock
        self._send = send

    def values(self, conn: sqlite3.Connection, incident: IncidentRow) -> dict[str, str]:
        row = conn.execute(
            "SELECT event, start_ms FROM incident_events WHERE incident_id = ? "
            "ORDER BY start_ms, event_id LIMIT 1",
            (incident.id,),
        ).fetchone()
        if row is not None:
            values = event_values(json.loads(row[0]), row[1])
        else:
            vessels = [str(v) for v in incident.vessels]
            values = {"time": time_text(incident.start_ms)}
            values.update(zip(("vessel_a", "vessel_b"), vessels, strict=False))
            if vessels:
                values["vessel"] = vessels[0]
            if incident.zone:
                values["zone"] = incident.zone
        values["incident"] = incident.id
        values["unit"] = self.mechanism.counterpart(self.party, 1).unit["en"]
        return values

    def queue_level(
        self,
        conn: sqlite3.Connection,
        incident: IncidentRow,
        peer: str,
        level: int,
        refs: list[tuple[str, int]],
        missed_msg_id: str | None,
    ) -> None:
        template = self.mechanism.template_for(level, incident.kind)
        if template is None:
            return
        deadline = self.clock.now_ms() + self.mechanism.deadline_ms(level, peer)
        values = self.values(conn, incident)
        values["deadline"] = time_text(deadline)
        step = self.mechanism.step(level)
        values["counterpart"] = self.mechanism.counterpart(peer, step.notify_level).unit["en"]
        if missed_msg_id is not None:
            values["message"] = missed_msg_id
        params = fill(self.mechanism.template_params[template], values)
        msg_id = f"{incident.id}.L{level}.{peer}"
        self.queue(
            conn, incident, peer, step.message_kind, level, template, params, deadline, refs, msg_id
        )

    def queue(
        self,
        conn: sqlite3.Connection,
        incident: IncidentRow,
        peer: str,
        kind: str,
        level: int,
        template: str,
        params: dict[str, str],
        deadline_ms: int | None,
        refs: list[tuple[str, int]],
        msg_id: str,
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO incident_outbox (msg_id, incident_id, peer, kind, level, "
            "template, params, deadline_ms, refs, corr_key, created_ms, state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
            (
                msg_id,
                incident.id,
                peer,
                kind,
                level,
                template,
                json.dumps(params, sort_keys=True, ensure_ascii=False),
                deadline_ms,
                json.dumps(refs),
                incident.corr_key,
                self.clock.now_ms(),
            ),
        )

    def flush(self) -> list[Change]:
        """Send every pending outbound message, in the order decided; arm their timers.

        A send that raises stops the flush (later messages keep their order) and is reported
        as a ``send_failed`` change; the message stays pending for the next flush.
        """
        with self.store.read() as conn:
            pending = conn.execute(
                "SELECT msg_id, incident_id, peer, kind, level, template, params, deadline_ms, "
                "refs, corr_key FROM incident_outbox WHERE state = 'pending' "
                "ORDER BY created_ms, rowid"
            ).fetchall()
        changes: list[Change] = []
        for (
            msg_id,
            incident_id,
            peer,
            kind,
            level,
            template,
            params,
            deadline,
            refs,
            key,
        ) in pending:
            try:
                ref = self._send(
                    Outgoing(
                        peer,
                        kind,
                        template,
                        json.loads(params),
                        deadline,
                        [tuple(r) for r in json.loads(refs)],
                        key,
                        level,
                        msg_id,
                    )
                )
            except Exception as exc:  # the sender is the node's; any failure keeps it pending
                changes.append(
                    Change(
                        "send_failed", incident_id, "", level, {"msg_id": msg_id, "error": str(exc)}
                    )
                )
                break
            changes.append(
                self.sent(MessageRef(*ref), incident_id, peer, kind, level, template, deadline)
            )
        return changes

    def sent(
        self,
        ref: MessageRef,
        incident_id: str,
        peer: str,
        kind: str,
        level: int,
        template: str,
        deadline_ms: int | None,
    ) -> Change:
        now = self.clock.now_ms()
        with self.store.write() as conn:
            conn.execute(
                "UPDATE incident_outbox SET state = 'sent', origin = ?, seq = ? WHERE msg_id = ?",
                (ref.origin, ref.seq, ref.msg_id),
            )
            conn.execute(
                "INSERT OR IGNORE INTO incident_messages (origin, seq, msg_id, incident_id, "
                "direction, kind, peer, level, template, created_ms) "
                "VALUES (?, ?, ?, ?, 'out', ?, ?, ?, ?, ?)",
                (ref.origin, ref.seq, ref.msg_id, incident_id, kind, peer, level, template, now),
            )
            if deadline_ms is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO incident_timers (origin, seq, msg_id, incident_id, "
                    "level, peer, due_ms, state, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, "
                    "'armed', ?)",
                    (ref.origin, ref.seq, ref.msg_id, incident_id, level, peer, deadline_ms, now),
                )
            incident = _rows.load(conn, incident_id)
        detail = {
            "peer": peer,
            "kind": kind,
            "origin": ref.origin,
            "seq": ref.seq,
            "msg_id": ref.msg_id,
            "deadline_ms": deadline_ms,
        }
        return Change("sent", incident_id, incident.status, level, detail)
