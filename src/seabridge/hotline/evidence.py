"""Evidence files: the exported joint record, parsed and written (§5.11).

An evidence file is JSON (``seabridge-evidence/v1``) holding both logs as the exporting node
stores them, the initial keys and the node's evidence rows::

    {"format": "seabridge-evidence/v1", "exported": timestamp, "exported_by": party,
     "keys": [{"origin", "role": "log"|"cosigner", "vkey", "from_seq"}],
     "logs": [{"origin", "entries": [{"seq", "entry": b64, "sig": b64}],
               "checkpoints": [signed note], "cosignatures": [{"size", "cosigner", "time",
               "line"}]}],
     "evidence": [{"kind", "detail", "blobs": [b64]}]}

A ``log`` key belongs to the origin it is listed with; a ``cosigner`` key is listed with the
origin whose checkpoints it cosigns (the *other* party's log). Later keys come from
``key-rotation`` entries, signed by the old key: a log key is valid from its ``from_seq``; a
rotated cosigner key (same name as a listed one) is accepted beside the old one, because a
cosignature carries no sequence number of the cosigner's own log.

:func:`parse_evidence` checks only the envelope (types, base64, vkeys) and raises
:class:`~seabridge.errors.MalformedError` naming the field. Everything signed (entry bytes,
notes, cosignature lines) is judged by :func:`seabridge.hotline.verify.verify_evidence`, which
reports each problem at the entry where the record goes wrong instead of refusing the file, so
an arbiter learns the first bad ``origin/seq``. Verification uses only the file's bytes and
public keys; it never trusts the ``exported``/``exported_by`` fields, which nothing signs.

Evidence rows may prove an equivocation by themselves: blobs that are signed checkpoint notes
(UTF-8), or JSON objects ``{"entry": b64, "sig": b64}``; two validly signed, different artefacts
for one size or seq of one log are reported as a problem, any other row as a warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from seabridge.errors import LedgerError, MalformedError
from seabridge.hotline.entries import parse_timestamp
from seabridge.hotline.keys import (
    KEY_TYPE_COSIGNATURE,
    KEY_TYPE_NOTE,
    Verifier,
    check_key_name,
    parse_vkey,
)

if TYPE_CHECKING:  # re-exported lazily (see __getattr__): verify imports this module
    from seabridge.hotline.verify import verify_evidence

__all__ = [
    "DEFAULT_SKEW_S",
    "EVIDENCE_FORMAT",
    "CosignatureRecord",
    "EntryRecord",
    "Evidence",
    "EvidenceRow",
    "KeyRecord",
    "LogRecord",
    "b64",
    "b64decode_strict",
    "dumps_evidence",
    "load_evidence",
    "loads_evidence",
    "loads_json",
    "parse_evidence",
    "verify_evidence",
    "write_evidence",
]

EVIDENCE_FORMAT = "seabridge-evidence/v1"
DEFAULT_SKEW_S = 600
"""Largest accepted gap between an entry's ``created`` and its first receipt (10 min, §5.9)."""

ROLES = {"log": KEY_TYPE_NOTE, "cosigner": KEY_TYPE_COSIGNATURE}
_PARTY = re.compile(r"[a-z][a-z0-9_-]{0,31}")


# --- JSON envelope helpers ------------------------------------------------------------------


def _fail(where: str, message: str) -> NoReturn:
    raise MalformedError(f"{where}: {message}")


def _obj(value: object, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> Any:
    if not isinstance(value, dict):
        _fail(where, "must be an object")
    required, optional = set(required), set(optional)
    missing = required - value.keys()
    if missing:
        _fail(where, f"missing {', '.join(sorted(missing))}")
    unknown = value.keys() - required - optional
    if unknown:
        _fail(where, f"unknown field {', '.join(sorted(map(str, unknown)))}")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        _fail(where, "must be a non-empty string")
    return value


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(where, "must be an integer")
    if not 0 <= value < 2**63:
        _fail(where, f"{value} is outside 0..2**63-1")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(where, "must be an array")
    return value


def b64decode_strict(value: object, where: str) -> bytes:
    """Decode canonical, padded standard base64 (one spelling per value).

    Raises:
        MalformedError: not a string, not base64, or not the canonical spelling.
    """
    if not isinstance(value, str):
        _fail(where, "must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        _fail(where, "is not standard base64")
    if base64.b64encode(raw).decode() != value:
        _fail(where, "is not canonical base64")
    return raw


def b64(data: bytes) -> str:
    """Standard padded base64 text."""
    return base64.b64encode(data).decode()


def _origin(value: object, where: str) -> str:
    text = _str(value, where)
    try:
        check_key_name(text)
    except MalformedError as exc:
        _fail(where, f"not a log origin ({exc})")
    return text


def loads_json(data: bytes, what: str) -> object:
    """Parse strict JSON: UTF-8, no duplicate keys, no floats, no NaN/Infinity.

    Raises:
        MalformedError: the bytes are not such JSON; the message starts with ``what``.
    """

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, item in items:
            if key in result:
                _fail(what, f"duplicate key {key!r}")
            result[key] = item
        return result

    def no_float(text: str) -> NoReturn:
        _fail(what, f"number {text[:24]!r}: floats are not allowed")

    try:
        text = data.decode("utf-8")
        return json.loads(
            text, object_pairs_hook=pairs, parse_float=no_float, parse_constant=no_float
        )
    except UnicodeDecodeError as exc:
        _fail(what, f"not UTF-8 at byte {exc.start}")
    except RecursionError:
        _fail(what, "JSON nested too deeply")
    except ValueError as exc:  # JSONDecodeError
        _fail(what, f"not JSON ({exc})")


# --- the parsed file -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRecord:
    """A key listed in the file: a log's own key, or the cosigner key of its checkpoints."""

    origin: str
    role: Literal["log", "cosigner"]
    verifier: Verifier
    from_seq: int


@dataclass(frozen=True)
class EntryRecord:
    """One stored entry: its seq label, canonical bytes and the author's signature."""

    seq: int
    entry: bytes
    sig: bytes


@dataclass(frozen=True)
class CosignatureRecord:
    """A receipt: a cosignature line over the log's checkpoint of ``size``."""

    size: int
    cosigner: str
    time: int
    line: str


@dataclass(frozen=True)
class LogRecord:
    """One log as exported: entries in seq order, checkpoint notes, cosignatures."""

    origin: str
    entries: tuple[EntryRecord, ...]
    checkpoints: tuple[str, ...]
    cosignatures: tuple[CosignatureRecord, ...]


@dataclass(frozen=True)
class EvidenceRow:
    """A row of the exporting node's evidence table (equivocations, bad signatures, ...)."""

    kind: str
    detail: str
    blobs: tuple[bytes, ...]


@dataclass(frozen=True)
class Evidence:
    """A parsed evidence file (nothing in it verified yet)."""

    exported: str
    exported_by: str
    keys: tuple[KeyRecord, ...]
    logs: tuple[LogRecord, ...]
    evidence: tuple[EvidenceRow, ...] = ()

    def log(self, origin: str) -> LogRecord | None:
        """The log of ``origin``, if the file holds it."""
        return next((log for log in self.logs if log.origin == origin), None)

    def to_json(self) -> dict[str, object]:
        """The JSON form; :func:`parse_evidence` of it gives an equal :class:`Evidence`."""
        return {
            "format": EVIDENCE_FORMAT,
            "exported": self.exported,
            "exported_by": self.exported_by,
            "keys": [
                {
                    "origin": k.origin,
                    "role": k.role,
                    "vkey": k.verifier.vkey(),
                    "from_seq": k.from_seq,
                }
                for k in self.keys
            ],
            "logs": [
                {
                    "origin": log.origin,
                    "entries": [
                        {"seq": e.seq, "entry": b64(e.entry), "sig": b64(e.sig)}
                        for e in log.entries
                    ],
                    "checkpoints": list(log.checkpoints),
                    "cosignatures": [
                        {"size": c.size, "cosigner": c.cosigner, "time": c.time, "line": c.line}
                        for c in log.cosignatures
                    ],
                }
                for log in self.logs
            ],
            "evidence": [
                {"kind": r.kind, "detail": r.detail, "blobs": [b64(b) for b in r.blobs]}
                for r in self.evidence
            ],
        }


def parse_evidence(data: Mapping[str, object]) -> Evidence:
    """Check the envelope of an evidence file's JSON value and build :class:`Evidence`.

    Raises:
        MalformedError: a field is missing, unknown or of the wrong form; the message names it
            (``logs[1].entries[4].sig: is not canonical base64``).
    """
    top = _obj(
        data, "evidence", {"format", "exported", "exported_by", "keys", "logs"}, {"evidence"}
    )
    if top["format"] != EVIDENCE_FORMAT:
        _fail("format", f"{str(top['format'])[:40]!r} is not {EVIDENCE_FORMAT!r}")
    exported = _str(top["exported"], "exported")
    parse_timestamp(exported, "exported")
    exported_by = _str(top["exported_by"], "exported_by")
    if not _PARTY.fullmatch(exported_by):
        _fail("exported_by", f"{exported_by[:40]!r} is not a lowercase party id")
    keys = tuple(_key(item, f"keys[{i}]") for i, item in enumerate(_list(top["keys"], "keys")))
    seen_keys: set[tuple[str, str, str, int]] = set()
    for i, key in enumerate(keys):
        ident = (key.origin, key.role, key.verifier.name, key.from_seq)
        if ident in seen_keys:
            _fail(f"keys[{i}]", "a second key for the same origin, role, name and from_seq")
        seen_keys.add(ident)
    logs = tuple(_log(item, f"logs[{i}]") for i, item in enumerate(_list(top["logs"], "logs")))
    origins = [log.origin for log in logs]
    for i, origin in enumerate(origins):
        if origin in origins[:i]:
            _fail(f"logs[{i}].origin", f"{origin} is listed twice")
    rows = tuple(
        _row(item, f"evidence[{i}]")
        for i, item in enumerate(_list(top.get("evidence", []), "evidence"))
    )
    return Evidence(exported, exported_by, keys, logs, rows)


def _key(value: object, where: str) -> KeyRecord:
    item = _obj(value, where, {"origin", "role", "vkey", "from_seq"})
    origin = _origin(item["origin"], f"{where}.origin")
    role: Literal["log", "cosigner"]
    if item["role"] == "log" or item["role"] == "cosigner":  # a JSON object is not hashable
        role = item["role"]
    else:
        _fail(f"{where}.role", "must be log or cosigner")
    try:
        verifier = parse_vkey(_str(item["vkey"], f"{where}.vkey"))
    except MalformedError as exc:
        _fail(f"{where}.vkey", str(exc))
    if verifier.key_type != ROLES[role]:
        _fail(f"{where}.vkey", f"a {role} key has type {ROLES[role]:#04x}")
    return KeyRecord(origin, role, verifier, _int(item["from_seq"], f"{where}.from_seq"))


def _log(value: object, where: str) -> LogRecord:
    item = _obj(value, where, {"origin", "entries", "checkpoints", "cosignatures"})
    entries = []
    for i, raw in enumerate(_list(item["entries"], f"{where}.entries")):
        at = f"{where}.entries[{i}]"
        record = _obj(raw, at, {"seq", "entry", "sig"})
        entry = b64decode_strict(record["entry"], f"{at}.entry")
        if not entry:
            _fail(f"{at}.entry", "is empty")
        sig = b64decode_strict(record["sig"], f"{at}.sig")
        entries.append(EntryRecord(_int(record["seq"], f"{at}.seq"), entry, sig))
    checkpoints = tuple(
        _str(note, f"{where}.checkpoints[{i}]")
        for i, note in enumerate(_list(item["checkpoints"], f"{where}.checkpoints"))
    )
    cosignatures = []
    for i, raw in enumerate(_list(item["cosignatures"], f"{where}.cosignatures")):
        at = f"{where}.cosignatures[{i}]"
        record = _obj(raw, at, {"size", "cosigner", "time", "line"})
        cosignatures.append(
            CosignatureRecord(
                _int(record["size"], f"{at}.size"),
                _origin(record["cosigner"], f"{at}.cosigner"),
                _int(record["time"], f"{at}.time"),
                _str(record["line"], f"{at}.line"),
            )
        )
    return LogRecord(
        _origin(item["origin"], f"{where}.origin"),
        tuple(entries),
        checkpoints,
        tuple(cosignatures),
    )


def _row(value: object, where: str) -> EvidenceRow:
    item = _obj(value, where, {"kind", "detail", "blobs"})
    blobs = tuple(
        b64decode_strict(blob, f"{where}.blobs[{i}]")
        for i, blob in enumerate(_list(item["blobs"], f"{where}.blobs"))
    )
    detail = item["detail"]
    if not isinstance(detail, str):
        _fail(f"{where}.detail", "must be a string")
    return EvidenceRow(_str(item["kind"], f"{where}.kind"), detail, blobs)


def load_evidence(path: Path) -> Evidence:
    """Read and parse an evidence file.

    Raises:
        LedgerError: the file cannot be read.
        MalformedError: it is not an evidence file; the message names the field.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the evidence file ({exc.strerror})") from None
    return loads_evidence(data, str(path))


def loads_evidence(data: bytes, what: str = "evidence file") -> Evidence:
    """Parse the bytes of an evidence file (strict JSON, then :func:`parse_evidence`).

    Raises:
        MalformedError: the bytes are not an evidence file; the message names the field.
    """
    value = loads_json(data, what)
    if not isinstance(value, dict):
        _fail(what, "an evidence file is a JSON object")
    return parse_evidence(value)


def dumps_evidence(evidence: Mapping[str, object] | Evidence) -> bytes:
    """The file bytes: UTF-8 JSON, keys sorted, two-space indent, final newline."""
    value = evidence.to_json() if isinstance(evidence, Evidence) else evidence
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)
    return (text + "\n").encode()


def write_evidence(evidence: Mapping[str, object] | Evidence, path: Path) -> None:
    """Check the envelope (:func:`parse_evidence`) and write the file atomically.

    Raises:
        MalformedError: the value is not an evidence file.
        LedgerError: the file cannot be written.
    """
    if not isinstance(evidence, Evidence):
        parse_evidence(evidence)
    data = dumps_evidence(evidence)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise LedgerError(f"{path}: cannot write the evidence file ({exc.strerror})") from None


def __getattr__(name: str) -> object:
    """``verify_evidence`` from :mod:`seabridge.hotline.verify`, where it lives now.

    Imported on first use: verify imports this module, so a top-level import would be circular.
    """
    if name == "verify_evidence":
        from seabridge.hotline.verify import verify_evidence

        return verify_evidence
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
