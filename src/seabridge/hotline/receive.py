"""The receiver's side of a push or a pull (§5.6): conflicts, evidence, and storing a batch.

:func:`receive` runs inside the ledger's transaction: it verifies a batch against what is
stored, stores it, and says what was stored. A push that contradicts stored signed artefacts
raises :class:`EvidenceFound`; the ledger rolls back, keeps the artefacts with
:func:`keep_evidence` in a transaction of their own, and refuses with ``EquivocationError``.
Issuing cosignatures and the lock are the ledger's (:mod:`seabridge.hotline.ledger`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seabridge.errors import ConflictError, MalformedError
from seabridge.hotline import log_rows
from seabridge.hotline.entries import Entry, verify_entry
from seabridge.hotline.merkle import MerkleTree
from seabridge.hotline.notes import Checkpoint
from seabridge.hotline.push import (
    KeySchedule,
    PushBody,
    announced,
    open_push_checkpoint,
    verify_batch,
)

__all__ = [
    "EvidenceFound",
    "Received",
    "entry_blob",
    "evidence_rows",
    "keep_evidence",
    "pulled_push",
    "receive",
]


def entry_blob(entry: bytes, sig: bytes) -> bytes:
    """An evidence blob holding one signed entry: ``{"entry": b64, "sig": b64}`` (UTF-8 JSON)."""
    encoded = {"entry": base64.b64encode(entry).decode(), "sig": base64.b64encode(sig).decode()}
    return json.dumps(encoded, sort_keys=True, separators=(",", ":")).encode()


class EvidenceFound(Exception):  # noqa: N818  (internal signal, never escapes the ledger)
    """Raised inside a transaction: roll back, keep the artefacts as evidence, then refuse."""

    def __init__(self, kind: str, detail: str, blobs: list[bytes]) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.blobs = kind, detail, blobs


@dataclass(frozen=True)
class Received:
    """What :func:`receive` did: the checkpoint, whether the batch was new, the size to answer.

    ``stored`` is False for a replay (every entry and the root were stored already).
    """

    checkpoint: Checkpoint
    stored: bool
    size: int


def pulled_push(origin: str, entries: Sequence[tuple[bytes, bytes]], note: str) -> PushBody:
    """Entries fetched from a peer's pull endpoints, as the push they amount to (no proof).

    Raises:
        MalformedError: the checkpoint note or the first entry does not parse.
    """
    first = Entry.from_bytes(entries[0][0]).seq if entries else None
    try:
        size = Checkpoint.parse(note.split("\n\n")[0] + "\n").size
    except (MalformedError, IndexError):
        raise MalformedError("pulled checkpoint is not a signed checkpoint note") from None
    old = first if first is not None else size
    return PushBody(origin, old, tuple(entries), note, None)


def receive(
    conn: sqlite3.Connection,
    push: PushBody,
    entries: list[Entry],
    tree: MerkleTree,
    *,
    cosigning: bool,
) -> Received:
    """Verify ``push`` against the stored log of its origin and store it (§5.6 steps 2-5).

    ``tree`` is the stored tree of the origin; it is changed (the caller drops it when the
    transaction rolls back). A replay is answered as before: with ``cosigning`` (a push, to be
    cosigned again) only when its checkpoint is stored, with the checkpoint's size; otherwise
    (a pull) with the stored size.

    Raises:
        SignatureError: an entry or checkpoint signature does not verify.
        VerificationError: ``prev_root``, ``msg_id``, root or proof is wrong.
        ConflictError: the push does not follow on and is not a replay.
        EvidenceFound: the push contradicts stored signed artefacts.
    """
    keys = log_rows.schedule(conn, push.origin, "log")
    checkpoint = open_push_checkpoint(push, keys, entries)
    _check_conflicts(conn, push, entries, checkpoint, tree, keys)
    if push.old_size != tree.size:
        if checkpoint.size <= tree.size:  # entries and root already match (no evidence)
            if not cosigning:
                return Received(checkpoint, stored=False, size=tree.size)
            if log_rows.checkpoint_row(conn, push.origin, checkpoint.size) is not None:
                return Received(checkpoint, stored=False, size=checkpoint.size)
        raise ConflictError(
            f"{push.origin}: push from size {push.old_size}, but {tree.size} entries are "
            f"stored; resend from {tree.size}",
            tree.size,
        )
    last = log_rows.latest_checkpoint(conn, push.origin)
    nodes = verify_batch(push, entries, checkpoint, tree, keys, last, _msg_id_used(conn, push))
    log_rows.insert_entries(
        conn, push.origin, entries, [sig for _, sig in push.entries], nodes, own=False
    )
    for rotation in announced(entries):
        conn.execute(
            "INSERT OR IGNORE INTO keys VALUES (?, ?, ?, ?)",
            (push.origin, rotation.role, rotation.from_seq, rotation.vkey),
        )
    conn.execute(
        "INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?)",
        (push.origin, checkpoint.size, checkpoint.root, push.checkpoint),
    )
    return Received(checkpoint, stored=True, size=checkpoint.size)


def _msg_id_used(conn: sqlite3.Connection, push: PushBody) -> Callable[[str], bool]:
    def used(msg_id: str) -> bool:
        query = "SELECT 1 FROM log WHERE origin = ? AND msg_id = ?"
        return conn.execute(query, (push.origin, msg_id)).fetchone() is not None

    return used


def _check_conflicts(
    conn: sqlite3.Connection,
    push: PushBody,
    entries: list[Entry],
    checkpoint: Checkpoint,
    tree: MerkleTree,
    keys: KeySchedule,
) -> None:
    """Raise :class:`EvidenceFound` when the push contradicts what is stored (S6)."""
    for entry, (data, sig) in zip(entries, push.entries, strict=True):
        if entry.seq >= tree.size:
            break
        stored, stored_sig = conn.execute(
            "SELECT entry, sig FROM log WHERE origin = ? AND seq = ?", (push.origin, entry.seq)
        ).fetchone()
        if stored != data:
            verify_entry(data, sig, keys.at(entry.seq))  # junk is not evidence
            raise EvidenceFound(
                "entry-conflict",
                f"{push.origin} seq {entry.seq}: two different entries signed by its author",
                [entry_blob(stored, stored_sig), entry_blob(data, sig)],
            )
    if checkpoint.size > tree.size:
        return
    row = log_rows.checkpoint_row(conn, push.origin, checkpoint.size)
    if row is not None and row[0] != checkpoint.root:
        raise EvidenceFound(
            "checkpoint-conflict",
            f"{push.origin}: two checkpoints of size {checkpoint.size} with different roots",
            [row[1].encode(), push.checkpoint.encode()],
        )
    if row is None and tree.root(checkpoint.size) != checkpoint.root:
        raise EvidenceFound(
            "checkpoint-conflict",
            f"{push.origin}: the checkpoint of size {checkpoint.size} contradicts the "
            "author's stored entries",
            [push.checkpoint.encode()],
        )


def keep_evidence(conn: sqlite3.Connection, evidence: EvidenceFound, now_ms: int) -> None:
    """Store the artefacts of ``evidence`` once (keyed by the SHA-256 of kind and blobs)."""
    blobs = json.dumps([base64.b64encode(b).decode() for b in evidence.blobs])
    digest = hashlib.sha256(f"{evidence.kind}\n{blobs}".encode()).hexdigest()
    conn.execute(
        "INSERT OR IGNORE INTO evidence VALUES (?, ?, ?, ?, ?)",
        (digest, evidence.kind, evidence.detail, blobs, now_ms),
    )


def evidence_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The stored evidence rows (equivocations), oldest first: ``{kind, detail, blobs}``."""
    rows = conn.execute("SELECT kind, detail, blobs FROM evidence ORDER BY created_ms, id")
    return [{"kind": k, "detail": d, "blobs": json.loads(b)} for k, d, b in rows]
