"""C2SP signed notes, checkpoints (signed tree heads) and cosignatures (receipts).

- ``signed-note``: text ending in a newline, a blank line, then one line per signature:
  ``— <key name> base64(key id[4] || signature)``. Verifiers ignore unknown keys, reject the note
  when a known key's signature fails, and require at least one known signature.
- ``tlog-checkpoint``: the note text ``origin\\nsize\\nbase64(root)\\n``. Extension lines are
  refused: Seabridge never writes them.
- ``tlog-cosignature``: a type 0x04 key signs ``cosignature/v1\\ntime <unix s>\\n`` + checkpoint
  text; the line carries ``key id || 8-byte big-endian time || signature``. The cosignature of the
  peer is the receipt (``domain/hotline-protocol.md`` §5.3).

Parsers raise :class:`~seabridge.errors.MalformedError` for text that does not parse and
:class:`~seabridge.errors.SignatureError` (a ``VerificationError``) for signatures that do not
verify; nothing else.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from seabridge.errors import LedgerError, MalformedError, SignatureError, VerificationError
from seabridge.hotline.keys import (
    KEY_TYPE_COSIGNATURE,
    KEY_TYPE_NOTE,
    SigningKey,
    Verifier,
    check_key_name,
)
from seabridge.hotline.merkle import HASH_SIZE

__all__ = [
    "MAX_NOTE_CHARS",
    "MAX_SIGNATURES",
    "Checkpoint",
    "cosign",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
    "split_note",
    "verify_cosignature",
]

MAX_NOTE_CHARS = 65_536
"""Longest note looked at (a checkpoint with a few dozen signatures is under 8 KiB)."""

MAX_SIGNATURES = 100
"""Most signature lines read from one note (C2SP: verifiers must accept at least 16)."""

MAX_SIZE = 2**63 - 1
_DASH = "\u2014 "  # em dash, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_COSIGNATURE_SIZE = 4 + 8 + 64


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode() != text:  # one spelling per value
        raise MalformedError(f"{what} is not canonical base64")
    return raw


def _check_text(text: str, what: str) -> None:
    if len(text) > MAX_NOTE_CHARS:
        raise MalformedError(f"{what} is longer than {MAX_NOTE_CHARS} characters")
    if _CONTROL.search(text):
        raise MalformedError(f"{what} contains a control character other than newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedError(f"{what} is not valid UTF-8 text") from None


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and the root of that size."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise MalformedError("checkpoint origin must be a non-empty string")
        if "\n" in self.origin or _CONTROL.search(self.origin):
            raise MalformedError("checkpoint origin contains a newline or a control character")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise MalformedError("checkpoint size must be an integer")
        if not 0 <= self.size <= MAX_SIZE:
            raise MalformedError(f"checkpoint size {self.size} is outside 0..2**63-1")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise MalformedError(f"checkpoint root must be {HASH_SIZE} bytes")

    def text(self) -> str:
        """The C2SP checkpoint body: ``origin\\nsize\\nbase64(root)\\n``."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (exactly three lines; no extension lines).

        Raises:
            MalformedError: the text is not a checkpoint; the message says which line.
        """
        _check_text(text, "checkpoint")
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise MalformedError("a checkpoint is three lines, each ending in a newline")
        origin, size, root = lines[:3]
        if not origin or origin != origin.strip():
            raise MalformedError("checkpoint line 1: origin is empty or has outer spaces")
        if not _DECIMAL.fullmatch(size):
            raise MalformedError(f"checkpoint line 2: size {size[:24]!r} is not a decimal")
        raw = _b64decode(root, "checkpoint line 3 (root)")
        if len(raw) != HASH_SIZE:
            raise MalformedError(f"checkpoint line 3: root is {len(raw)} bytes, not 32")
        return cls(origin, int(size), raw)


def sign_note(body: str, key: SigningKey) -> str:
    """The signed note of ``body`` (which must end in a newline) with one signature by ``key``."""
    if key.key_type != KEY_TYPE_NOTE:
        raise LedgerError(f"key {key.name} is not a note key (type 0x01)")
    _check_body(body)
    signature = key.verifier.key_id + key.sign(body.encode())
    return f"{body}\n{_DASH}{key.name} {base64.b64encode(signature).decode()}\n"


def _check_body(body: str) -> None:
    _check_text(body, "note text")
    if not body.endswith("\n"):
        raise MalformedError("note text must be non-empty and end with a newline")


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and its ``(key name, key id || signature)`` pairs.

    Does not verify anything.

    Raises:
        MalformedError: the note is not in signed-note form.
    """
    _check_text(note, "note")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise MalformedError("note has no blank line before its signatures")
    body, block = note[: cut + 1], note[cut + 2 :]
    if not block.endswith("\n"):
        raise MalformedError("note signatures must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for number, line in enumerate(lines, 1):
        signatures.append(_signature_line(line, f"note signature line {number}"))
    return body, signatures


def _signature_line(line: str, what: str) -> tuple[str, bytes]:
    if not line.startswith(_DASH):
        raise MalformedError(f"{what} does not start with an em dash and a space")
    fields = line[len(_DASH) :].split(" ")
    if len(fields) != 2:
        raise MalformedError(f"{what} is not '— <name> <base64 signature>'")
    name, encoded = fields
    check_key_name(name)
    raw = _b64decode(encoded, f"{what} signature")
    if len(raw) < 5:
        raise MalformedError(f"{what}: a signature is a 4-byte key id and at least one byte")
    return name, raw


def open_note(note: str, verifiers: Sequence[Verifier]) -> tuple[str, list[Verifier]]:
    """Verify a signed note against known note keys; return its text and who signed it.

    Signatures by unknown keys (another name or key id, or a cosigner key) are ignored.

    Raises:
        MalformedError: the note does not parse.
        SignatureError: a known key's signature fails, or no known key signed.
    """
    body, signatures = split_note(note)
    known = {(v.name, v.key_id): v for v in verifiers if v.key_type == KEY_TYPE_NOTE}
    signed: list[Verifier] = []
    message = body.encode()
    for name, raw in signatures:
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            continue
        verifier.verify(message, raw[4:])
        if verifier not in signed:
            signed.append(verifier)
    if not signed:
        raise SignatureError("note has no signature by a known key")
    return body, signed


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> str:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.text(), key)


def open_checkpoint(note: str, verifiers: Sequence[Verifier]) -> Checkpoint:
    """Verify a signed checkpoint note (see :func:`open_note`) and parse its text.

    Whether the signer may speak for ``origin`` is the caller's policy (usually: the log key
    configured for that origin is the only verifier passed).
    """
    body, _ = open_note(note, verifiers)
    return Checkpoint.parse(body)


def _cosigned_message(checkpoint: Checkpoint, time_s: int) -> bytes:
    return f"cosignature/v1\ntime {time_s}\n{checkpoint.text()}".encode()


def cosign(checkpoint: Checkpoint, key: SigningKey, time_s: int) -> str:
    """A C2SP cosignature line (with its newline) over ``checkpoint`` at ``time_s`` (Unix s)."""
    if key.key_type != KEY_TYPE_COSIGNATURE:
        raise LedgerError(f"key {key.name} is not a cosigner key (type 0x04)")
    if not 0 <= time_s < 2**63:
        raise LedgerError(f"cosignature time {time_s} is outside 0..2**63-1")
    signature = key.sign(_cosigned_message(checkpoint, time_s))
    raw = key.verifier.key_id + time_s.to_bytes(8, "big") + signature
    return f"{_DASH}{key.name} {base64.b64encode(raw).decode()}\n"


def verify_cosignature(checkpoint: Checkpoint, line: str, verifier: Verifier) -> int:
    """Verify a cosignature line (trailing newline optional) by ``verifier``; return its time.

    Raises:
        MalformedError: the line does not parse.
        VerificationError: ``verifier`` is not a cosigner key.
        SignatureError: the line is by another key, or its signature does not verify.
    """
    if verifier.key_type != KEY_TYPE_COSIGNATURE:
        raise VerificationError(f"key {verifier.name} is not a cosigner key (type 0x04)")
    if len(line) > 1024:
        raise MalformedError("cosignature line is too long")
    text = line.removesuffix("\n")
    if "\n" in text:
        raise MalformedError("a cosignature is one line")
    _check_text(text, "cosignature line")
    name, raw = _signature_line(text, "cosignature line")
    if name != verifier.name or raw[:4] != verifier.key_id:
        raise SignatureError(f"cosignature is not by {verifier.name} ({verifier.key_id.hex()})")
    if len(raw) != _COSIGNATURE_SIZE:
        raise MalformedError(f"cosignature is {len(raw)} bytes; key id + time + signature is 76")
    time_s = int.from_bytes(raw[4:12], "big")
    if time_s >= 2**63:
        raise MalformedError("cosignature time is outside 0..2**63-1")
    verifier.verify(_cosigned_message(checkpoint, time_s), raw[12:])
    return time_s
