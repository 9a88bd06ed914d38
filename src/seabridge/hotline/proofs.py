"""Receipts for an arbiter: one entry, its inclusion proof and a cosigned checkpoint (§5.3).

A proof (``seabridge-proof/v1``) stands alone: an arbiter needs no database, only this JSON and,
ideally, the parties' published keys::

    {"format": "seabridge-proof/v1", "origin", "seq", "entry": b64, "sig": b64, "size",
     "inclusion": [b64], "checkpoint": signed note, "cosigned": bool,
     "cosignatures": [{"cosigner", "time", "line"}], "keys": [{"role": "log"|"cosigner", "vkey"}]}

It proves *sending* (the author's log key signed the entry) and *receipt* (the peer's cosigner
key signed, at ``time``, a checkpoint whose tree includes the entry). :func:`build_proof` takes
plain lists, so the ledger (``ledger prove``) and evidence files
(:func:`build_proof_from_evidence`) share it. The checkpoint used is the smallest cosigned one
covering ``seq``, else the largest one covering it (``"cosigned": false``: sending is proven,
receipt is not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from seabridge.errors import LedgerError, MalformedError, SignatureError, VerificationError
from seabridge.hotline.entries import Entry, verify_entry
from seabridge.hotline.evidence import CosignatureRecord, Evidence, b64, b64decode_strict
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, Verifier, parse_vkey
from seabridge.hotline.merkle import MerkleTree, leaf_hash, verify_inclusion
from seabridge.hotline.notes import (
    Checkpoint,
    open_note,
    split_note,
    verify_cosignature,
)
from seabridge.hotline.verify import known_keys

__all__ = [
    "PROOF_FORMAT",
    "ProofResult",
    "build_proof",
    "build_proof_from_evidence",
    "verify_proof",
]

PROOF_FORMAT = "seabridge-proof/v1"
_ROLE_OF_TYPE = {KEY_TYPE_NOTE: "log", KEY_TYPE_COSIGNATURE: "cosigner"}
_TYPE_OF_ROLE = {role: key_type for key_type, role in _ROLE_OF_TYPE.items()}
_FIELDS = {
    "format",
    "origin",
    "seq",
    "entry",
    "sig",
    "size",
    "inclusion",
    "checkpoint",
    "cosigned",
    "cosignatures",
    "keys",
}


def _first(keys: Sequence[Verifier], check: Callable[[Verifier], object]) -> Verifier | None:
    """The first key for which ``check`` raises nothing."""
    for key in keys:
        try:
            check(key)
        except (MalformedError, VerificationError):
            continue
        return key
    return None


def _record(cosignature: CosignatureRecord | Mapping[str, Any]) -> CosignatureRecord:
    if isinstance(cosignature, CosignatureRecord):
        return cosignature
    return CosignatureRecord(
        int(cosignature["size"]),
        str(cosignature["cosigner"]),
        int(cosignature["time"]),
        str(cosignature["line"]),
    )


def build_proof(
    origin: str,
    seq: int,
    entries: Sequence[tuple[bytes, bytes]],
    checkpoints: Sequence[str],
    cosignatures: Sequence[CosignatureRecord | Mapping[str, Any]],
    keys: Sequence[Verifier],
) -> dict[str, Any]:
    """The proof for entry ``seq`` of ``origin``'s log.

    Args:
        origin: the log.
        seq: the entry.
        entries: ``(entry bytes, signature)`` of the log from seq 0, in order.
        checkpoints: signed checkpoint notes of the log (any order; others are skipped).
        cosignatures: receipts (``size``, ``cosigner``, ``time``, ``line``) of the log.
        keys: candidate keys: log keys (type 0x01, rotated ones too) and cosigner keys (0x04);
            the proof lists only those that verify something in it.

    Raises:
        LedgerError: ``seq`` is not in ``entries``, or no valid checkpoint covers it.
        SignatureError: the entry's signature verifies with none of the log keys.
    """
    if not 0 <= seq < len(entries):
        raise LedgerError(f"{origin} has no entry {seq} (it holds {len(entries)})")
    tree = MerkleTree()
    for data, _ in entries:
        tree.append(leaf_hash(data))
    data, sig = entries[seq]
    log_keys = [k for k in keys if k.key_type == KEY_TYPE_NOTE]
    cosigner_keys = [k for k in keys if k.key_type == KEY_TYPE_COSIGNATURE]
    author = _first(log_keys, lambda k: verify_entry(data, sig, k))
    if author is None:
        raise SignatureError(f"{origin}#{seq}: the signature verifies with no known log key")
    receipts = [_record(c) for c in cosignatures]
    found: list[tuple[Checkpoint, str, Verifier, list[tuple[CosignatureRecord, Verifier]]]] = []
    for note in checkpoints:
        try:
            checkpoint = Checkpoint.parse(split_note(note)[0])
        except MalformedError:
            continue
        if checkpoint.origin != origin or not seq < checkpoint.size <= tree.size:
            continue
        if checkpoint.root != tree.root(checkpoint.size):
            continue
        signer = _note_signer(note, log_keys)
        if signer is None:
            continue
        valid: list[tuple[CosignatureRecord, Verifier]] = []
        for receipt in receipts:
            if receipt.size != checkpoint.size or any(r.line == receipt.line for r, _ in valid):
                continue
            cosigner = _cosigner(checkpoint, receipt, cosigner_keys)
            if cosigner is not None:
                valid.append((receipt, cosigner))
        found.append((checkpoint, note, signer, valid))
    if not found:
        raise LedgerError(f"{origin}#{seq}: no signed checkpoint covers it yet")
    cosigned = [item for item in found if item[3]]
    if cosigned:
        checkpoint, note, signer, valid = min(cosigned, key=lambda item: item[0].size)
    else:
        checkpoint, note, signer, valid = max(found, key=lambda item: item[0].size)
    used: list[Verifier] = []
    for key in (author, signer, *(k for _, k in valid)):
        if key not in used:
            used.append(key)
    return {
        "format": PROOF_FORMAT,
        "origin": origin,
        "seq": seq,
        "entry": b64(data),
        "sig": b64(sig),
        "size": checkpoint.size,
        "inclusion": [b64(h) for h in tree.inclusion_proof(seq, checkpoint.size)],
        "checkpoint": note,
        "cosigned": bool(valid),
        "cosignatures": [
            {"cosigner": r.cosigner, "time": r.time, "line": r.line} for r, _ in valid
        ],
        "keys": [{"role": _ROLE_OF_TYPE[k.key_type], "vkey": k.vkey()} for k in used],
    }


def _note_signer(note: str, keys: Sequence[Verifier]) -> Verifier | None:
    for key in keys:
        try:
            open_note(note, [key])
        except (MalformedError, VerificationError):
            continue
        return key
    return None


def _cosigner(
    checkpoint: Checkpoint, receipt: CosignatureRecord, keys: Sequence[Verifier]
) -> Verifier | None:
    for key in keys:
        if key.name != receipt.cosigner:
            continue
        try:
            if verify_cosignature(checkpoint, receipt.line, key) == receipt.time:
                return key
        except (MalformedError, VerificationError):
            continue
    return None


def _same_time(signed: int, claimed: int) -> None:
    if signed != claimed:
        raise VerificationError(f"cosignature time {claimed} is not the signed time {signed}")


def build_proof_from_evidence(ev: Evidence, origin: str, seq: int) -> dict[str, Any]:
    """:func:`build_proof` over a log of an evidence file, with the keys it establishes.

    Raises:
        LedgerError: the file has no such log or entry, or no checkpoint covers the entry.
        VerificationError: the entry's signature does not verify.
    """
    log = ev.log(origin)
    if log is None:
        raise LedgerError(f"the evidence file holds no log {origin}")
    return build_proof(
        origin,
        seq,
        [(e.entry, e.sig) for e in log.entries],
        log.checkpoints,
        log.cosignatures,
        known_keys(ev, origin),
    )


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofResult:
    """What a valid proof establishes."""

    origin: str
    seq: int
    msg_id: str
    kind: str
    created: str
    sent_by: Verifier
    size: int
    root: bytes
    receipts: tuple[tuple[str, int], ...]
    """(cosigner key name, Unix time) of every valid cosignature."""
    keys_source: Literal["trusted", "proof"]

    @property
    def cosigned(self) -> bool:
        return bool(self.receipts)

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "seq": self.seq,
            "msg_id": self.msg_id,
            "kind": self.kind,
            "created": self.created,
            "sent_by": self.sent_by.vkey(),
            "size": self.size,
            "root": b64(self.root),
            "cosigned": self.cosigned,
            "receipts": [{"cosigner": name, "time": time_s} for name, time_s in self.receipts],
            "keys": self.keys_source,
        }

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.origin}#{self.seq} ({self.kind}, msg_id {self.msg_id}, created "
            f"{self.created}) was signed by {self.sent_by.name} (key {self.sent_by.key_id.hex()})",
            f"it is entry {self.seq} of the {self.size}-entry tree with root {b64(self.root)}, "
            "signed by the same log key",
        ]
        for name, time_s in self.receipts:
            when = datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append(f"receipted by {name} at {when}")
        if not self.receipts:
            lines.append("no cosignature: sending is proven, receipt is not")
        if self.keys_source == "proof":
            lines.append(
                "keys: taken from the proof itself; compare them with the parties' published keys"
            )
        else:
            lines.append("keys: all among the configured keys")
        return lines


def _parse(data: Mapping[str, object]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedError("proof: must be an object")
    missing = _FIELDS - data.keys()
    unknown = data.keys() - _FIELDS
    if missing or unknown:
        raise MalformedError(
            f"proof: missing {sorted(missing)} / unknown {sorted(map(str, unknown))} fields"
        )
    if data["format"] != PROOF_FORMAT:
        raise MalformedError(f"format: {str(data['format'])[:40]!r} is not {PROOF_FORMAT!r}")
    for name in ("origin", "checkpoint"):
        if not isinstance(data[name], str):
            raise MalformedError(f"{name}: must be a string")
    for name in ("seq", "size"):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise MalformedError(f"{name}: must be a non-negative integer")
    if not isinstance(data["cosigned"], bool):
        raise MalformedError("cosigned: must be true or false")
    for name in ("inclusion", "cosignatures", "keys"):
        if not isinstance(data[name], list):
            raise MalformedError(f"{name}: must be an array")
    return dict(data)


def _proof_keys(items: list[Any]) -> list[Verifier]:
    keys = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"role", "vkey"}:
            raise MalformedError(f"keys[{i}]: must be an object with role and vkey")
        role, vkey = item["role"], item["vkey"]
        if not isinstance(role, str) or role not in _TYPE_OF_ROLE or not isinstance(vkey, str):
            raise MalformedError(f"keys[{i}]: role must be log or cosigner, vkey a string")
        try:
            key = parse_vkey(vkey)
        except MalformedError as exc:
            raise MalformedError(f"keys[{i}].vkey: {exc}") from None
        if key.key_type != _TYPE_OF_ROLE[role]:
            raise MalformedError(f"keys[{i}].vkey: a {role} key has type {_TYPE_OF_ROLE[role]}")
        keys.append(key)
    return keys


def verify_proof(
    data: Mapping[str, object], trusted: Sequence[Verifier] | None = None
) -> ProofResult:
    """Check a proof on its own: entry signature, inclusion, checkpoint, every cosignature.

    Args:
        data: the proof's JSON value.
        trusted: the parties' keys as the arbiter knows them; every key the proof lists must be
            among them. None: the proof's own keys are used (the result says so).

    Raises:
        MalformedError: the proof does not parse; the message names the field.
        VerificationError: anything in it does not verify, or a key is not trusted.
    """
    proof = _parse(data)
    keys = _proof_keys(proof["keys"])
    if trusted is not None:
        for key in keys:
            if key not in trusted:
                raise VerificationError(f"key {key.vkey()} is not among the configured keys")
    origin, seq, size = proof["origin"], proof["seq"], proof["size"]
    data_bytes = b64decode_strict(proof["entry"], "entry")
    sig = b64decode_strict(proof["sig"], "sig")
    entry = Entry.from_bytes(data_bytes)
    if entry.log != origin or entry.seq != seq:
        raise VerificationError(f"the entry is {entry.log}#{entry.seq}, not {origin}#{seq}")
    log_keys = [k for k in keys if k.key_type == KEY_TYPE_NOTE]
    author = _first(log_keys, lambda k: verify_entry(data_bytes, sig, k))
    if author is None:
        raise SignatureError(f"{origin}#{seq}: the entry signature verifies with no log key")
    body, signers = open_note(proof["checkpoint"], log_keys)
    checkpoint = Checkpoint.parse(body)
    if checkpoint.origin != origin or checkpoint.size != size:
        raise VerificationError(
            f"the checkpoint is {checkpoint.origin} size {checkpoint.size}, not {origin} "
            f"size {size}"
        )
    if not any(signer.name == author.name for signer in signers):
        raise SignatureError(f"the checkpoint is not signed by {author.name}")
    inclusion = [
        b64decode_strict(item, f"inclusion[{i}]") for i, item in enumerate(proof["inclusion"])
    ]
    verify_inclusion(seq, size, leaf_hash(data_bytes), inclusion, checkpoint.root)
    receipts = []
    for i, item in enumerate(proof["cosignatures"]):
        receipts.append(_receipt(item, i, checkpoint, keys))
    if proof["cosigned"] != bool(receipts):
        raise VerificationError(f"cosigned is {proof['cosigned']} with {len(receipts)} receipts")
    return ProofResult(
        origin=origin,
        seq=seq,
        msg_id=entry.msg_id,
        kind=entry.kind,
        created=entry.created,
        sent_by=author,
        size=size,
        root=checkpoint.root,
        receipts=tuple(receipts),
        keys_source="proof" if trusted is None else "trusted",
    )


def _receipt(
    item: object, i: int, checkpoint: Checkpoint, keys: Sequence[Verifier]
) -> tuple[str, int]:
    where = f"cosignatures[{i}]"
    if not isinstance(item, dict) or set(item) != {"cosigner", "time", "line"}:
        raise MalformedError(f"{where}: must be an object with cosigner, time and line")
    name, time_s, line = item["cosigner"], item["time"], item["line"]
    if not isinstance(name, str) or not isinstance(line, str):
        raise MalformedError(f"{where}: cosigner and line must be strings")
    if isinstance(time_s, bool) or not isinstance(time_s, int):
        raise MalformedError(f"{where}.time: must be an integer")
    named = [k for k in keys if k.key_type == KEY_TYPE_COSIGNATURE and k.name == name]
    if not named:
        raise VerificationError(f"{where}: no cosigner key named {name[:80]!r} in the proof")
    errors = []
    for key in named:
        try:
            signed = verify_cosignature(checkpoint, line, key)
        except (MalformedError, VerificationError) as exc:
            errors.append(str(exc))
            continue
        _same_time(signed, time_s)
        return name, signed
    raise VerificationError(f"{where}: {errors[0]}")
