"""The ``open_deadlines`` table: own entries with a deadline that still wait for an answer.

The deadline watcher (:meth:`~seabridge.hotline.ledger.Ledger.check_deadlines`) and the
"delivered but not acknowledged" alarm (§5.7, §5.9) ask, on every delivery step, which own
entries with a deadline have no ``ack`` or ``reply`` from the peer yet. Asked of ``log`` and
``refs`` directly, that is a scan of the whole history; this table holds only the entries not
yet answered, so the cost follows the open deadlines.

A row per own entry with a deadline while it is open for either question:

- ``acked``: an ``ack`` or ``reply`` of the channel's mirror refers to the entry's log and seq
  (any leaf hash): the alarm no longer counts it.
- ``settled``: such an answer carries the entry's leaf hash, or a ``deadline-missed`` of the own
  log refers to it: the watcher no longer reports it.

A row goes when both hold. Both only ever turn true (refs are append-only), and each is
recomputed from ``refs`` with the very conditions the scan used, whenever a stored entry refers
to the row's entry, so the table answers what the scan answered.

``deadline_watch`` lists the own logs the table follows, with the mirror whose answers count:
the ledger registers every channel when it opens (:func:`watch`), which also fills the table
once from ``log`` and ``refs`` for a file written before the table existed.

Derived data, not signed data: nothing here is exported or read by ``verify``, and the
append-only ledger tables are untouched. Functions over a connection, inside the caller's
transaction.
"""

from __future__ import annotations

import sqlite3

from seabridge.errors import LedgerError
from seabridge.hotline.entries import Entry

__all__ = ["entry_stored", "missed", "unacknowledged", "watch"]

_REFERRING = frozenset({"ack", "reply", "deadline-missed"})
"""Kinds whose refs can change a row."""


def _answered(t: str, *, same_leaf: bool) -> str:
    """An ``ack`` or ``reply`` of the mirror refers to the entry ``{t}`` (and its leaf hash)."""
    leaf = f" AND r.ref_leaf = {t}.leaf" if same_leaf else ""
    return (
        "EXISTS (SELECT 1 FROM refs r WHERE r.origin = (SELECT w.mirror FROM deadline_watch w "
        f"WHERE w.origin = {t}.origin) AND r.ref_log = {t}.origin AND r.ref_seq = {t}.seq "
        f"AND r.kind IN ('ack', 'reply'){leaf})"
    )


def _flags(t: str) -> str:
    """``acked, settled`` of the entry ``{t}`` (a row of ``log`` or ``open_deadlines``)."""
    missed = (
        f"EXISTS (SELECT 1 FROM refs r WHERE r.origin = {t}.origin AND r.ref_log = {t}.origin "
        f"AND r.ref_seq = {t}.seq AND r.kind = 'deadline-missed')"
    )
    return f"{_answered(t, same_leaf=False)}, {_answered(t, same_leaf=True)} OR {missed}"


_OPEN = (
    "INSERT INTO open_deadlines (origin, seq, leaf, deadline_ms, acked, settled) "
    f"SELECT l.origin, l.seq, l.leaf, l.deadline_ms, {_flags('l')} FROM log l "
    "WHERE l.origin = ? AND l.deadline_ms IS NOT NULL "
    "AND l.origin IN (SELECT origin FROM deadline_watch)"
)
_REFRESH = (
    f"UPDATE open_deadlines AS o SET (acked, settled) = (SELECT {_flags('o')}) "
    "WHERE o.origin = ? AND o.seq = ?"
)
_CLOSE = "DELETE FROM open_deadlines WHERE origin = ? AND acked AND settled"


def watch(conn: sqlite3.Connection, origin: str, mirror: str) -> None:
    """Follow the deadlines of the own log ``origin``, answered from ``mirror``.

    The first time, the table is filled from what ``log`` and ``refs`` hold of ``origin``
    (deleting the ``deadline_watch`` row of ``origin`` makes the next open rebuild its rows).

    Raises:
        LedgerError: ``origin`` is followed with another mirror already.
    """
    row = conn.execute("SELECT mirror FROM deadline_watch WHERE origin = ?", (origin,)).fetchone()
    if row is not None:
        if row[0] != mirror:
            raise LedgerError(f"{origin}: deadlines are answered from {row[0]}, not {mirror}")
        return
    conn.execute("INSERT INTO deadline_watch VALUES (?, ?)", (origin, mirror))
    conn.execute("DELETE FROM open_deadlines WHERE origin = ?", (origin,))  # rows of a repair
    conn.execute(_OPEN, (origin,))
    conn.execute(_CLOSE, (origin,))


def entry_stored(conn: sqlite3.Connection, origin: str, entry: Entry) -> None:
    """Follow up on ``entry``, just stored in ``origin`` with its refs: open its row when it is
    an own entry with a deadline; recompute the rows its refs may answer."""
    if entry.deadline is not None:
        conn.execute(_OPEN + " AND l.seq = ?", (origin, entry.seq))
        conn.execute(_CLOSE + " AND seq = ?", (origin, entry.seq))
    if entry.kind in _REFERRING:
        for ref in entry.refs:
            conn.execute(_REFRESH, (ref.log, ref.seq))
            conn.execute(_CLOSE + " AND seq = ?", (ref.log, ref.seq))


def _require_watched(conn: sqlite3.Connection, origin: str) -> None:
    if conn.execute("SELECT 1 FROM deadline_watch WHERE origin = ?", (origin,)).fetchone() is None:
        raise LedgerError(f"{origin}: its deadlines are not followed (not an own log?)")


def unacknowledged(conn: sqlite3.Connection, origin: str, now_ms: int) -> tuple[int, int | None]:
    """How many entries of ``origin`` the peer has cosigned whose deadline passed with no
    ``ack`` or ``reply`` from it, and the first one's seq (None when there are none)."""
    _require_watched(conn, origin)
    count, first = conn.execute(
        "SELECT count(*), min(seq) FROM open_deadlines WHERE origin = ? AND NOT acked "
        "AND deadline_ms <= ? AND seq < (SELECT max(size) FROM cosigs WHERE origin = ?)",
        (origin, now_ms, origin),
    ).fetchone()
    return int(count), None if first is None else int(first)


def missed(conn: sqlite3.Connection, origin: str, now_ms: int) -> list[tuple[int, bytes, int]]:
    """``(seq, leaf, deadline_ms)`` of the entries of ``origin`` whose deadline passed with no
    answer carrying their leaf hash and no ``deadline-missed`` yet, in seq order."""
    _require_watched(conn, origin)
    rows = conn.execute(
        "SELECT seq, leaf, deadline_ms FROM open_deadlines WHERE origin = ? AND NOT settled "
        "AND deadline_ms <= ? ORDER BY seq",
        (origin, now_ms),
    )
    return [(int(seq), bytes(leaf), int(deadline_ms)) for seq, leaf, deadline_ms in rows]
