"""The push body of ``POST /v1/push`` and the checks a receiver makes on a batch (§5.6).

Wire form (JSON)::

    {"origin": str, "old_size": int,
     "entries": [{"entry": base64(entry bytes), "sig": base64(signature)}, ...],
     "checkpoint": signed checkpoint note, "proof": [base64(hash), ...]}

``proof`` is the RFC 9162 consistency proof ``old_size -> checkpoint size`` (empty when
``old_size`` is 0 or equals the size). This module parses and verifies; it does no I/O: the
ledger (:mod:`seabridge.hotline.ledger`) runs it inside one transaction and stores the result.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from seabridge.errors import MalformedError, SignatureError, VerificationError
from seabridge.hotline.entries import Entry, verify_entry
from seabridge.hotline.keys import Verifier, parse_vkey
from seabridge.hotline.merkle import MAX_PROOF, MerkleTree, verify_consistency
from seabridge.hotline.notes import Checkpoint, open_checkpoint

__all__ = [
    "MAX_BATCH",
    "KeySchedule",
    "PushBody",
    "Rotation",
    "parse_push",
    "push_json",
    "verify_batch",
]

MAX_BATCH = 256
"""Most entries in one push (sender cap and receiver limit)."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedError(f"{where} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedError(f"{where} is not standard base64") from None


@dataclass(frozen=True)
class PushBody:
    """A parsed push: raw entry bytes and signatures, the checkpoint note, the proof.

    ``proof`` is None for pulled batches (full entries; no proof checked).
    """

    origin: str
    old_size: int
    entries: tuple[tuple[bytes, bytes], ...]
    checkpoint: str
    proof: tuple[bytes, ...] | None


def push_json(
    origin: str,
    old_size: int,
    entries: Sequence[tuple[bytes, bytes]],
    checkpoint: str,
    proof: Sequence[bytes],
) -> dict[str, Any]:
    """The JSON body of a push."""
    return {
        "origin": origin,
        "old_size": old_size,
        "entries": [{"entry": b64(entry), "sig": b64(sig)} for entry, sig in entries],
        "checkpoint": checkpoint,
        "proof": [b64(h) for h in proof],
    }


def parse_push(body: object) -> PushBody:
    """Parse a push body.

    Raises:
        MalformedError: a field is missing, of the wrong type, or too long (HTTP 400).
    """
    if not isinstance(body, dict):
        raise MalformedError("push body must be a JSON object")
    expected = {"origin", "old_size", "entries", "checkpoint", "proof"}
    if set(body) != expected:
        missing, extra = expected - set(body), set(body) - expected
        raise MalformedError(
            f"push body fields: missing {sorted(missing) or 'none'}, unknown "
            f"{sorted(map(str, extra)) or 'none'}"
        )
    origin, old_size = body["origin"], body["old_size"]
    if not isinstance(origin, str) or not origin:
        raise MalformedError("push origin must be a non-empty string")
    if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
        raise MalformedError("push old_size must be a non-negative integer")
    raw_entries, raw_proof = body["entries"], body["proof"]
    if not isinstance(raw_entries, list) or len(raw_entries) > MAX_BATCH:
        raise MalformedError(f"push entries must be a list of at most {MAX_BATCH}")
    if not isinstance(raw_proof, list) or len(raw_proof) > MAX_PROOF:
        raise MalformedError(f"push proof must be a list of at most {MAX_PROOF} hashes")
    if not isinstance(body["checkpoint"], str):
        raise MalformedError("push checkpoint must be a signed note (text)")
    entries = []
    for i, item in enumerate(raw_entries):
        if not isinstance(item, dict) or set(item) != {"entry", "sig"}:
            raise MalformedError(f"push entries[{i}] must be {{'entry', 'sig'}}")
        entries.append((unb64(item["entry"], f"entries[{i}].entry"), unb64(item["sig"], "sig")))
    proof = tuple(unb64(h, f"proof[{i}]") for i, h in enumerate(raw_proof))
    return PushBody(origin, old_size, tuple(entries), body["checkpoint"], proof)


def parse_entries(raw: Iterable[tuple[bytes, bytes]], first_seq: int) -> list[Entry]:
    """Entries from bytes, numbered contiguously from ``first_seq``.

    Raises:
        MalformedError: an entry does not parse or has the wrong seq.
    """
    parsed = []
    for i, (data, _) in enumerate(raw):
        try:
            entry = Entry.from_bytes(data)
        except MalformedError as exc:
            raise MalformedError(f"entries[{i}]: {exc}") from None
        if entry.seq != first_seq + i:
            raise MalformedError(f"entries[{i}] has seq {entry.seq}, expected {first_seq + i}")
        parsed.append(entry)
    return parsed


@dataclass
class KeySchedule:
    """The keys of one log and role: each valid from a seq until the next one's."""

    keys: list[tuple[int, Verifier]] = field(default_factory=list)

    def add(self, from_seq: int, verifier: Verifier) -> None:
        self.keys.append((from_seq, verifier))
        self.keys.sort(key=lambda item: item[0])

    def at(self, seq: int) -> Verifier:
        """The key valid at ``seq``.

        Raises:
            SignatureError: no key is valid there, so no signature there can verify.
        """
        valid = [verifier for start, verifier in self.keys if start <= seq]
        if not valid:
            raise SignatureError(f"no key is valid at seq {seq}")
        return valid[-1]

    def all(self) -> list[Verifier]:
        return [verifier for _, verifier in self.keys]


@dataclass(frozen=True)
class Rotation:
    """A key announced by a key-rotation entry of a log."""

    role: str
    from_seq: int
    vkey: str


def announced(entries: Iterable[Entry]) -> list[Rotation]:
    """The keys announced by the key-rotation entries among ``entries``."""
    found = []
    for entry in entries:
        if entry.kind == "key-rotation":
            body = entry.body
            found.append(Rotation(str(body["role"]), int(str(body["from_seq"])), str(body["vkey"])))
    return found


def open_push_checkpoint(push: PushBody, schedule: KeySchedule, entries: list[Entry]) -> Checkpoint:
    """Check that an author key signed the checkpoint (HTTP 403 otherwise) and parse it.

    Candidates are the stored keys of the log and the log keys the batch itself announces;
    :func:`verify_batch` later requires exactly the key valid at the checkpoint's last entry.
    """
    candidates = schedule.all() + [
        parse_vkey(r.vkey) for r in announced(entries) if r.role == "log"
    ]
    checkpoint = open_checkpoint(push.checkpoint, candidates)
    if checkpoint.origin != push.origin:
        raise MalformedError(f"checkpoint origin {checkpoint.origin} is not {push.origin}")
    if checkpoint.size != push.old_size + len(push.entries):
        raise MalformedError(
            f"checkpoint size {checkpoint.size} is not old_size {push.old_size} + "
            f"{len(push.entries)} entries"
        )
    return checkpoint


def verify_batch(
    push: PushBody,
    entries: list[Entry],
    checkpoint: Checkpoint,
    tree: MerkleTree,
    schedule: KeySchedule,
    last_checkpoint: tuple[int, bytes] | None,
    msg_id_used: Callable[[str], bool],
) -> list[tuple[int, int, bytes]]:
    """Check a batch that follows on from ``tree`` (§5.6 steps 3-4); append it to ``tree``.

    Adds the log keys the batch announces to ``schedule``. ``tree`` is changed even when a
    check fails: the caller must drop it then.

    Returns:
        The tree nodes to store.

    Raises:
        MalformedError: an entry names another log.
        SignatureError: an entry or checkpoint signature does not verify.
        VerificationError: ``prev_root``, ``msg_id``, root or proof is wrong.
    """
    nodes: list[tuple[int, int, bytes]] = []
    seen: set[str] = set()
    for entry, (data, sig) in zip(entries, push.entries, strict=True):
        where = f"{push.origin} seq {entry.seq}"
        if entry.log != push.origin:
            raise MalformedError(f"{where}: entry belongs to log {entry.log}")
        verify_entry(data, sig, schedule.at(entry.seq))
        if entry.prev_root != tree.root():
            raise VerificationError(f"{where}: prev_root is not the root of the log before it")
        if entry.msg_id in seen or msg_id_used(entry.msg_id):
            raise VerificationError(f"{where}: msg_id {entry.msg_id} is used already")
        seen.add(entry.msg_id)
        for rotation in announced([entry]):
            if rotation.role == "log":
                schedule.add(rotation.from_seq, parse_vkey(rotation.vkey))
        nodes.extend(tree.append(entry.leaf_hash()))
    if tree.root() != checkpoint.root:
        raise VerificationError(
            f"{push.origin}: checkpoint root of size {checkpoint.size} is not the entries' root"
        )
    open_checkpoint(push.checkpoint, [schedule.at(max(checkpoint.size - 1, 0))])
    if push.proof is not None and last_checkpoint is not None:
        last_size, last_root = last_checkpoint
        if 0 < last_size == push.old_size:
            verify_consistency(last_size, checkpoint.size, last_root, checkpoint.root, push.proof)
    return nodes
