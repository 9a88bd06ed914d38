"""The ``open_deadlines`` table: own entries with a deadline that may still wait for an answer.

The deadline watcher (:meth:`~seabridge.hotline.ledger.Ledger.check_deadlines`) and the
"delivered but not acknowledged" alarm (§5.7, §5.9) ask, on every delivery step, which own
entries with a deadline have no ``ack`` or ``reply`` from the peer yet. Asked of ``log`` and
``refs`` directly, that is a scan of the whole history; this table holds only the own entries
with a deadline not yet closed, and the questions check ``refs`` (indexed by target) for those
rows only, so the cost follows the open deadlines.

A row closes (is deleted) when both questions are answered for good:

- an ``ack`` or ``reply`` of the channel's mirror refers to the entry's log and seq (any leaf
  hash): the alarm no longer counts it;
- such an answer carries the entry's leaf hash, or a ``deadline-missed`` of the own log refers
  to it: the watcher no longer reports it.

Both only ever turn true (refs are append-only), so a closed row would never count again. The
mirror of ``a/hotline/b`` is ``b/hotline/a``. Schema version 3 fills the table once from ``log``
and ``refs`` (:data:`FILL`); afterwards :func:`entry_stored` keeps it, in the transaction that
stores each entry.

Derived data, not signed data: nothing here is exported or read by ``verify``, and the
append-only ledger tables are untouched. Functions over a connection, inside the caller's
transaction.
"""

from __future__ import annotations

import sqlite3

from seabridge.hotline.entries import Entry
from seabridge.hotline.views import cosigned_origin as mirror_of

__all__ = ["FILL", "entry_stored", "missed", "unacknowledged"]


def _answered(t: str, mirror: str, *, same_leaf: bool) -> str:
    """An ``ack`` or ``reply`` in ``mirror`` refers to the entry ``{t}`` (and its leaf hash)."""
    leaf = f" AND r.ref_leaf = {t}.leaf" if same_leaf else ""
    return (
        f"EXISTS (SELECT 1 FROM refs r WHERE r.ref_log = {t}.origin AND r.ref_seq = {t}.seq "
        f"AND r.origin = {mirror} AND r.kind IN ('ack', 'reply'){leaf})"
    )


def _settled(t: str, mirror: str) -> str:
    """The watcher no longer reports the entry ``{t}``."""
    missed = (
        f"EXISTS (SELECT 1 FROM refs r WHERE r.ref_log = {t}.origin AND r.ref_seq = {t}.seq "
        f"AND r.origin = {t}.origin AND r.kind = 'deadline-missed')"
    )
    return f"({_answered(t, mirror, same_leaf=True)} OR {missed})"


def _closed(t: str, mirror: str) -> str:
    """Neither question can count the entry ``{t}`` again."""
    return f"({_answered(t, mirror, same_leaf=False)} AND {_settled(t, mirror)})"


_PEER = "substr(l.origin, instr(l.origin, '/hotline/') + 9)"
FILL = (
    "INSERT INTO open_deadlines SELECT l.origin, l.seq, l.leaf, l.deadline_ms FROM log l "
    f"WHERE l.deadline_ms IS NOT NULL AND {_PEER} IN (SELECT peer FROM delivery) AND NOT "
    + _closed("l", f"({_PEER} || '/hotline/' || substr(l.origin, 1, instr(l.origin, '/') - 1))")
)
"""Part of the migration to schema version 3: the rows of a file written before the table. Own
logs are ``{party}/hotline/{peer}`` with a ``delivery`` row for ``peer`` (one per channel); the
mirror is :func:`mirror_of` spelled in SQL. Frozen once version 3 ships, like every migration."""

_CLOSE = "DELETE FROM open_deadlines AS o WHERE origin = :log AND seq = :seq AND " + _closed(
    "o", ":mirror"
)


def entry_stored(conn: sqlite3.Connection, origin: str, entry: Entry, *, own: bool) -> None:
    """Follow up on ``entry``, just stored in ``origin`` with its refs: open its row when it is
    an own entry with a deadline; close the rows its refs answer."""
    if own and entry.deadline is not None:
        conn.execute(
            "INSERT INTO open_deadlines SELECT origin, seq, leaf, deadline_ms FROM log "
            "WHERE origin = ? AND seq = ?",
            (origin, entry.seq),
        )
        conn.execute(_CLOSE, {"log": origin, "seq": entry.seq, "mirror": mirror_of(origin)})
    if entry.kind in ("ack", "reply", "deadline-missed"):
        for ref in entry.refs:
            conn.execute(_CLOSE, {"log": ref.log, "seq": ref.seq, "mirror": mirror_of(ref.log)})


def unacknowledged(conn: sqlite3.Connection, origin: str, now_ms: int) -> tuple[int, int | None]:
    """How many entries of the own log ``origin`` the peer has cosigned whose deadline passed
    with no ``ack`` or ``reply`` from it, and the first one's seq (None when there are none)."""
    count, first = conn.execute(
        "SELECT count(*), min(seq) FROM open_deadlines o WHERE origin = :log "
        "AND deadline_ms <= :now AND seq < (SELECT max(size) FROM cosigs WHERE origin = :log) "
        f"AND NOT {_answered('o', ':mirror', same_leaf=False)}",
        {"log": origin, "now": now_ms, "mirror": mirror_of(origin)},
    ).fetchone()
    return int(count), None if first is None else int(first)


def missed(conn: sqlite3.Connection, origin: str, now_ms: int) -> list[tuple[int, bytes, int]]:
    """``(seq, leaf, deadline_ms)`` of the entries of the own log ``origin`` whose deadline
    passed with no answer carrying their leaf hash and no ``deadline-missed`` yet, in seq
    order."""
    rows = conn.execute(
        "SELECT seq, leaf, deadline_ms FROM open_deadlines o WHERE origin = :log "
        f"AND deadline_ms <= :now AND NOT {_settled('o', ':mirror')} ORDER BY seq",
        {"log": origin, "now": now_ms, "mirror": mirror_of(origin)},
    )
    return [(int(seq), bytes(leaf), int(deadline_ms)) for seq, leaf, deadline_ms in rows]
