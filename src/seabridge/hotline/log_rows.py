"""Reads and writes of the log tables that opening, sending and receiving share.

Functions over a connection, inside the caller's transaction: they never BEGIN or COMMIT, sign,
or verify a signature. What goes in is the ledger's decision (:mod:`seabridge.hotline.ledger`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from seabridge.errors import (
    EquivocationError,
    LedgerError,
    MalformedError,
    UnknownPeerError,
    VerificationError,
)
from seabridge.hotline import open_deadlines
from seabridge.hotline.entries import Entry, parse_timestamp
from seabridge.hotline.keys import Verifier, parse_vkey
from seabridge.hotline.merkle import MerkleTree
from seabridge.hotline.push import KeySchedule

__all__ = [
    "check_stored",
    "checkpoint_row",
    "cosigned_note",
    "entry_by_msg_id",
    "init_key",
    "insert_entries",
    "latest_checkpoint",
    "load_tree",
    "log_size",
    "mark_consumed",
    "next_unconsumed",
    "require_known",
    "schedule",
    "signed_entries",
]


def log_size(conn: sqlite3.Connection, origin: str) -> int:
    """Number of entries stored for ``origin``."""
    row = conn.execute("SELECT max(seq) FROM log WHERE origin = ?", (origin,)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def require_known(conn: sqlite3.Connection, origin: str) -> None:
    """Raise :class:`UnknownPeerError` unless ``origin`` is a log of this record."""
    if conn.execute("SELECT 1 FROM keys WHERE origin = ?", (origin,)).fetchone() is None:
        raise UnknownPeerError(f"origin {origin!r} is not a log of this record")


def checkpoint_row(conn: sqlite3.Connection, origin: str, size: int) -> tuple[bytes, str] | None:
    """``(root, signed note)`` of the stored checkpoint of ``origin`` at ``size``, or None."""
    row = conn.execute(
        "SELECT root, note FROM checkpoints WHERE origin = ? AND size = ?", (origin, size)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def latest_checkpoint(conn: sqlite3.Connection, origin: str) -> tuple[int, bytes] | None:
    """``(size, root)`` of the largest stored checkpoint of ``origin``, or None."""
    row = conn.execute(
        "SELECT size, root FROM checkpoints WHERE origin = ? ORDER BY size DESC LIMIT 1",
        (origin,),
    ).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))


def load_tree(conn: sqlite3.Connection, origin: str) -> MerkleTree:
    """The stored Merkle tree of ``origin``.

    Raises:
        LedgerError: the stored tree nodes are damaged.
    """
    nodes = conn.execute("SELECT level, idx, hash FROM tree WHERE origin = ?", (origin,))
    try:
        return MerkleTree.from_nodes(log_size(conn, origin), nodes)
    except (MalformedError, VerificationError) as exc:
        raise LedgerError(f"{origin}: the stored tree is damaged ({exc})") from None


def check_stored(conn: sqlite3.Connection, origin: str) -> MerkleTree:
    """Load the tree of ``origin``; refuse checkpoints the log contradicts (S7).

    Raises:
        LedgerError: a tree leaf differs from its stored entry.
        EquivocationError: a stored checkpoint is not a root of the stored log (a rollback).
    """
    tree = load_tree(conn, origin)
    leaves = conn.execute("SELECT seq, leaf FROM log WHERE origin = ? ORDER BY seq", (origin,))
    for seq, leaf in leaves:
        if tree.leaf(seq) != leaf:
            raise LedgerError(f"{origin} seq {seq}: stored tree leaf differs from the entry")
    for size, root in conn.execute(
        "SELECT size, root FROM checkpoints WHERE origin = ? ORDER BY size", (origin,)
    ):
        if size > tree.size or tree.root(size) != root:
            raise EquivocationError(
                f"{origin}: the stored checkpoint of size {size} does not match the stored "
                f"log ({tree.size} entries): the database was rolled back or altered; "
                "refusing to start (restore the latest state.sqlite, or run ledger verify)"
            )
    return tree


def init_key(
    conn: sqlite3.Connection, origin: str, role: str, key: Verifier, *, own_key: bool
) -> None:
    """Record ``key`` as the first ``role`` key of ``origin``, or check it against the record.

    Raises:
        LedgerError: an own key is not the current one, or a peer key was never announced.
    """
    rows = conn.execute(
        "SELECT vkey FROM keys WHERE origin = ? AND role = ? ORDER BY from_seq",
        (origin, role),
    ).fetchall()
    vkey = key.vkey()
    if not rows:
        conn.execute("INSERT INTO keys VALUES (?, ?, 0, ?)", (origin, role, vkey))
    elif own_key and rows[-1][0] != vkey:
        raise LedgerError(
            f"{origin}: the {role} key given ({vkey}) is not the current one in the record "
            f"({rows[-1][0]}); open the ledger with the key of the last key-rotation entry"
        )
    elif not own_key and vkey not in {r[0] for r in rows}:
        raise LedgerError(
            f"{origin}: the configured {role} key {vkey} was never announced in this log; "
            "check the peer bundle"
        )


def schedule(conn: sqlite3.Connection, origin: str, role: str) -> KeySchedule:
    """The ``role`` keys of ``origin``, each valid from its seq."""
    keys = KeySchedule()
    for from_seq, vkey in conn.execute(
        "SELECT from_seq, vkey FROM keys WHERE origin = ? AND role = ?", (origin, role)
    ):
        keys.add(from_seq, parse_vkey(vkey))
    return keys


def insert_entries(
    conn: sqlite3.Connection,
    origin: str,
    entries: Sequence[Entry],
    sigs: Sequence[bytes],
    nodes: Sequence[tuple[int, int, bytes]],
    *,
    own: bool,
) -> None:
    """Store signed entries of ``origin`` (``own``: this node's log) with their references and
    the tree nodes they add; keep ``open_deadlines`` up to date in the same transaction."""
    for entry, sig in zip(entries, sigs, strict=True):
        deadline = None if entry.deadline is None else parse_timestamp(entry.deadline)
        conn.execute(
            "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                origin,
                entry.seq,
                entry.to_bytes(),
                sig,
                entry.leaf_hash(),
                entry.msg_id,
                entry.kind,
                parse_timestamp(entry.created),
                deadline,
            ),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO refs VALUES (?, ?, ?, ?, ?, ?)",
            [(origin, entry.seq, r.log, r.seq, r.leaf, entry.kind) for r in entry.refs],
        )
        open_deadlines.entry_stored(conn, origin, entry, own=own)
    conn.executemany("INSERT INTO tree VALUES (?, ?, ?, ?)", [(origin, *node) for node in nodes])


def signed_entries(
    conn: sqlite3.Connection, origin: str, start: int, end: int
) -> list[tuple[bytes, bytes]]:
    """``(entry bytes, signature)`` of the stored entries ``[start, end)`` of ``origin``."""
    rows = conn.execute(
        "SELECT entry, sig FROM log WHERE origin = ? AND seq >= ? AND seq < ? ORDER BY seq",
        (origin, start, end),
    )
    return [(bytes(entry), bytes(sig)) for entry, sig in rows]


def entry_by_msg_id(conn: sqlite3.Connection, origin: str, msg_id: str) -> Entry | None:
    """The stored entry of ``origin`` with ``msg_id``, or None."""
    row = conn.execute(
        "SELECT entry FROM log WHERE origin = ? AND msg_id = ?", (origin, msg_id)
    ).fetchone()
    return None if row is None else Entry.from_bytes(row[0])


def cosigned_note(
    conn: sqlite3.Connection, origin: str, size: int, *, by: str | None = None
) -> tuple[str, list[str]]:
    """The stored checkpoint note of ``origin`` at ``size`` and the cosignature lines over it.

    Lines oldest first; with ``by``, only those of that cosigner name. The note is "" when no
    checkpoint of that size is stored.
    """
    row = checkpoint_row(conn, origin, size)
    query = "SELECT line FROM cosigs WHERE origin = ? AND size = ?"
    params: tuple[object, ...] = (origin, size)
    if by is not None:
        query, params = query + " AND cosigner = ?", (*params, by)
    lines = conn.execute(query + " ORDER BY time, rowid", params)
    return ("" if row is None else row[1]), [str(line) for (line,) in lines]


def next_unconsumed(conn: sqlite3.Connection, origin: str) -> Entry | None:
    """The entry of ``origin`` at the application's cursor, or None when all are consumed."""
    conn.execute("INSERT OR IGNORE INTO app_cursor VALUES (?, 0)", (origin,))
    (cursor,) = conn.execute(
        "SELECT next_seq FROM app_cursor WHERE origin = ?", (origin,)
    ).fetchone()
    row = conn.execute(
        "SELECT entry FROM log WHERE origin = ? AND seq = ?", (origin, cursor)
    ).fetchone()
    return None if row is None else Entry.from_bytes(row[0])


def mark_consumed(conn: sqlite3.Connection, origin: str, seq: int) -> None:
    """Advance the application's cursor of ``origin`` past ``seq``."""
    conn.execute("UPDATE app_cursor SET next_seq = ? WHERE origin = ?", (seq + 1, origin))
