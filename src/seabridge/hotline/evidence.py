"""Evidence files: the exported joint record, parsed, written and verified (§5.11).

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
notes, cosignature lines) is judged by :func:`verify_evidence`, which reports each problem at
the entry where the record goes wrong instead of refusing the file, so an arbiter learns the
first bad ``origin/seq``. Verification uses only the file's bytes and public keys; it never
trusts the ``exported``/``exported_by`` fields, which nothing signs.

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
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

from seabridge.errors import LedgerError, MalformedError, VerificationError
from seabridge.hotline.entries import (
    DEADLINE_KINDS,
    Entry,
    parse_timestamp,
    verify_entry,
)
from seabridge.hotline.keys import (
    KEY_TYPE_COSIGNATURE,
    KEY_TYPE_NOTE,
    Verifier,
    check_key_name,
    parse_vkey,
)
from seabridge.hotline.merkle import MerkleTree, leaf_hash
from seabridge.hotline.notes import Checkpoint, open_checkpoint, split_note, verify_cosignature

__all__ = [
    "DEFAULT_SKEW_S",
    "EVIDENCE_FORMAT",
    "CosignatureRecord",
    "EntryRecord",
    "Evidence",
    "EvidenceRow",
    "Finding",
    "KeyRecord",
    "LogRecord",
    "LogStats",
    "Report",
    "dumps_evidence",
    "known_keys",
    "load_evidence",
    "loads_evidence",
    "parse_evidence",
    "verify_evidence",
    "write_evidence",
]

EVIDENCE_FORMAT = "seabridge-evidence/v1"
DEFAULT_SKEW_S = 600
"""Largest accepted gap between an entry's ``created`` and its first receipt (10 min, §5.9)."""

ROLES = {"log": KEY_TYPE_NOTE, "cosigner": KEY_TYPE_COSIGNATURE}
_PARTY = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ANSWER_KINDS = frozenset({"ack", "reply"})


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
    role = item["role"]
    if role not in ROLES:
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


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem or warning, located at ``origin/seq`` (``seq`` None: not one entry)."""

    origin: str
    seq: int | None
    check: str
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"origin": self.origin, "seq": self.seq, "check": self.check, "detail": self.detail}

    def line(self) -> str:
        where = self.origin if self.seq is None else f"{self.origin}#{self.seq}"
        return f"{where} [{self.check}] {self.detail}"


@dataclass(frozen=True)
class Receipt:
    """Entries ``first_seq..last_seq`` were first receipted at ``time`` (Unix s) by ``cosigner``."""

    first_seq: int
    last_seq: int
    time: int
    cosigner: str

    def to_json(self) -> dict[str, object]:
        return {
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "time": self.time,
            "cosigner": self.cosigner,
        }


@dataclass(frozen=True)
class LogStats:
    """What the file holds of one log, and the root recomputed from its entries."""

    origin: str
    entries: int
    checkpoints: int
    cosignatures: int
    size: int
    root: str
    receipts: tuple[Receipt, ...] = ()

    def first_receipt(self, seq: int) -> Receipt | None:
        """The first cosignature covering entry ``seq``, if any."""
        return next((r for r in self.receipts if r.first_seq <= seq <= r.last_seq), None)

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "cosignatures": self.cosignatures,
            "size": self.size,
            "root": self.root,
            "receipts": [r.to_json() for r in self.receipts],
        }


@dataclass(frozen=True)
class Report:
    """The verdict on an evidence file: problems (tampering, equivocation) and warnings.

    ``problems`` are in log order (the file's order of logs, then by seq); ``first_bad`` is the
    first problem located at an entry, else the first problem (seq None), else None.
    """

    problems: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    logs: tuple[LogStats, ...]
    keys_source: Literal["trusted", "file"]
    exported: str
    exported_by: str

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> tuple[str, int | None] | None:
        at_entry = [p for p in self.problems if p.seq is not None]
        candidates = at_entry or list(self.problems)
        return (candidates[0].origin, candidates[0].seq) if candidates else None

    def to_json(self) -> dict[str, object]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "first_bad": None if first is None else {"origin": first[0], "seq": first[1]},
            "keys": self.keys_source,
            "exported": self.exported,
            "exported_by": self.exported_by,
            "problems": [p.to_json() for p in self.problems],
            "warnings": [w.to_json() for w in self.warnings],
            "logs": [log.to_json() for log in self.logs],
        }

    def summary_lines(self, limit: int = 20) -> list[str]:
        """A short human summary: verdict, logs, the first ``limit`` problems and warnings."""
        lines = [f"evidence exported by {self.exported_by} at {self.exported}"]
        if self.keys_source == "trusted":
            lines.append("keys: checked against the configured keys")
        else:
            lines.append(
                "keys: taken from the file itself (no configured keys given): this shows the "
                "record is consistent, not who wrote it"
            )
        for log in self.logs:
            lines.append(
                f"log {log.origin}: {log.entries} entries, {log.checkpoints} checkpoints, "
                f"{log.cosignatures} cosignatures, root {log.root}"
            )
        first = self.first_bad
        if first is None:
            lines.append("OK: no tampering or equivocation found")
        else:
            where = first[0] if first[1] is None else f"{first[0]}#{first[1]}"
            lines.append(f"FAILED: {len(self.problems)} problem(s); first bad: {where}")
        for finding in self.problems[:limit]:
            lines.append(f"  problem: {finding.line()}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more problems")
        for finding in self.warnings[:limit]:
            lines.append(f"  warning: {finding.line()}")
        if len(self.warnings) > limit:
            lines.append(f"  ... and {len(self.warnings) - limit} more warnings")
        return lines


# --- verification -----------------------------------------------------------------------------


def verify_evidence(
    ev: Evidence,
    trusted: Sequence[Verifier] | None = None,
    *,
    skew_threshold_s: int = DEFAULT_SKEW_S,
) -> Report:
    """Re-derive everything in ``ev`` from its bytes and keys (§5.11 steps 1-7).

    Args:
        ev: the parsed file.
        trusted: the configured keys; every key listed in the file must be among them
            ("untrusted key" problem otherwise). None: the file's own keys are used, and the
            report says so.
        skew_threshold_s: warn when an entry's ``created`` and its first receipt differ more.
    """
    return _Verification(ev, trusted, skew_threshold_s).run()


def known_keys(ev: Evidence, origin: str) -> list[Verifier]:
    """The keys of ``origin``'s log: its log keys (the listed one, then those announced by
    rotation entries whose signatures verify) and the cosigner keys of its checkpoints."""
    verification = _Verification(ev, None, DEFAULT_SKEW_S)
    verification._keys()
    for state in verification.states.values():
        verification._entries(state)
    found = verification.states.get(origin)
    log_keys = [] if found is None else [key for _, key in found.timeline]
    return log_keys + verification._cosigners(origin)


class _LogState:
    """One log while it is verified."""

    def __init__(self, rank: int, record: LogRecord) -> None:
        self.rank = rank
        self.record = record
        self.origin = record.origin
        self.tree = MerkleTree()
        self.verified: dict[int, Entry] = {}
        self.timeline: list[tuple[int, Verifier]] = []  # log keys by from_seq, ascending
        self.receipts: list[tuple[int, int, str]] = []  # (size, time, cosigner)
        self.signed_sizes: list[int] = []

    @property
    def size(self) -> int:
        return self.tree.size

    def key_at(self, seq: int) -> Verifier | None:
        found = None
        for from_seq, verifier in self.timeline:
            if from_seq <= seq:
                found = verifier
        return found


class _Verification:
    def __init__(self, ev: Evidence, trusted: Sequence[Verifier] | None, skew_s: int) -> None:
        self.ev = ev
        self.trusted = None if trusted is None else set(trusted)
        self.skew_ms = skew_s * 1000
        self.states = {log.origin: _LogState(i, log) for i, log in enumerate(ev.logs)}
        self.found: list[tuple[int, int, int, Finding]] = []
        self.warned: list[tuple[int, int, int, Finding]] = []
        self.initial_cosigners: dict[str, list[Verifier]] = defaultdict(list)
        self.announced_cosigners: list[Verifier] = []
        self.listed_later: list[KeyRecord] = []

    # findings, kept with a sort key: (log rank, position, arrival)
    def _at(self, origin: str, seq: int | None, pos: int | None) -> tuple[int, int]:
        state = self.states.get(origin)
        rank = state.rank if state is not None else len(self.states)
        position = seq if pos is None else pos
        return rank, -1 if position is None else position

    def problem(
        self, origin: str, seq: int | None, check: str, detail: str, pos: int | None = None
    ) -> None:
        rank, position = self._at(origin, seq, pos)
        self.found.append((rank, position, len(self.found), Finding(origin, seq, check, detail)))

    def warn(
        self, origin: str, seq: int | None, check: str, detail: str, pos: int | None = None
    ) -> None:
        rank, position = self._at(origin, seq, pos)
        self.warned.append((rank, position, len(self.warned), Finding(origin, seq, check, detail)))

    def run(self) -> Report:
        self._keys()
        for state in self.states.values():
            self._entries(state)
        self._later_keys()
        for state in self.states.values():
            self._checkpoints(state)
            self._cosignatures(state)
        for state in self.states.values():
            self._cross_log(state)
        self._deadlines()
        stats = tuple(self._stats(state) for state in self.states.values())
        self._rows()
        return Report(
            problems=tuple(f for *_, f in sorted(self.found, key=lambda x: x[:3])),
            warnings=tuple(f for *_, f in sorted(self.warned, key=lambda x: x[:3])),
            logs=stats,
            keys_source="file" if self.trusted is None else "trusted",
            exported=self.ev.exported,
            exported_by=self.ev.exported_by,
        )

    # step 0: keys ---------------------------------------------------------------------------

    def _keys(self) -> None:
        for key in self.ev.keys:
            if self.trusted is not None and key.verifier not in self.trusted:
                self.problem(
                    key.origin,
                    None,
                    "untrusted key",
                    f"{key.role} key {key.verifier.vkey()} is not among the configured keys",
                )
            state = self.states.get(key.origin)
            if state is None:
                self.warn(key.origin, None, "key", f"{key.role} key for a log the file lacks")
            if key.from_seq > 0:
                self.listed_later.append(key)
            elif key.role == "cosigner":
                self.initial_cosigners[key.origin].append(key.verifier)
            elif state is not None and state.timeline:
                self.problem(key.origin, None, "key", "two log keys are listed from seq 0")
            elif state is not None:
                state.timeline.append((0, key.verifier))
        for state in self.states.values():
            if not state.timeline:
                self.problem(state.origin, None, "key", "no log key from seq 0 for this log")

    def _later_keys(self) -> None:
        """Keys listed from a later seq must be the ones the log's rotations announced."""
        for key in self.listed_later:
            state = self.states.get(key.origin)
            if key.role == "log":
                announced = state is not None and (key.from_seq, key.verifier) in state.timeline
            else:
                announced = key.verifier in self.announced_cosigners
            if not announced:
                self.problem(
                    key.origin,
                    None,
                    "key",
                    f"{key.role} key {key.verifier.vkey()} listed from seq {key.from_seq} is "
                    "not announced by a verified key-rotation entry",
                )

    def _cosigners(self, origin: str) -> list[Verifier]:
        initial = self.initial_cosigners.get(origin, [])
        names = {v.name for v in initial}
        return initial + [v for v in self.announced_cosigners if v.name in names]

    # steps 1-2: entries -----------------------------------------------------------------------

    def _entries(self, state: _LogState) -> None:
        msg_ids: dict[str, int] = {}
        by_seq: dict[int, tuple[bytes, bool]] = {}
        for i, record in enumerate(state.record.entries):
            leaf = leaf_hash(record.entry)
            try:
                entry = Entry.from_bytes(record.entry)
            except MalformedError as exc:
                self.problem(state.origin, i, "entry", f"entry bytes do not parse: {exc}")
                state.tree.append(leaf)
                continue
            if record.seq != i or entry.seq != i:
                self.problem(
                    state.origin,
                    i,
                    "seq",
                    f"position {i} holds an entry labelled seq {record.seq} and signed as seq "
                    f"{entry.seq}; seq must run 0, 1, 2, ... without gaps",
                )
            if entry.log != state.origin:
                self.problem(state.origin, i, "log", f"the entry is signed for log {entry.log}")
            signed = self._signature(state, i, entry, record)
            earlier = by_seq.get(entry.seq)
            if earlier is None:
                by_seq[entry.seq] = (record.entry, signed)
            elif earlier[0] != record.entry and earlier[1] and signed:
                self.problem(
                    state.origin,
                    entry.seq,
                    "equivocation",
                    f"two different entries for seq {entry.seq}, both signed by the log key",
                )
            if entry.prev_root != state.tree.root():
                self.problem(
                    state.origin, i, "prev_root", "prev_root is not the root of the entries before"
                )
            if entry.msg_id in msg_ids:
                self.problem(
                    state.origin,
                    i,
                    "msg_id",
                    f"msg_id {entry.msg_id!r} is used already by seq {msg_ids[entry.msg_id]}",
                )
            else:
                msg_ids[entry.msg_id] = i
            state.tree.append(leaf)
            if signed and entry.seq == i and entry.log == state.origin:
                state.verified[i] = entry
                if entry.kind == "key-rotation":
                    self._rotation(state, entry)

    def _signature(self, state: _LogState, i: int, entry: Entry, record: EntryRecord) -> bool:
        key = state.key_at(entry.seq)
        if key is None:
            self.problem(state.origin, i, "signature", "no log key is known for this seq")
            return False
        try:
            verify_entry(record.entry, record.sig, key)
        except VerificationError as exc:
            self.problem(
                state.origin,
                i,
                "signature",
                f"{exc} (the log key valid at seq {entry.seq} is {key.key_id.hex()})",
            )
            return False
        return True

    def _rotation(self, state: _LogState, entry: Entry) -> None:
        role, vkey, from_seq = (entry.body[name] for name in ("role", "vkey", "from_seq"))
        verifier = parse_vkey(str(vkey))  # Entry validated it
        assert isinstance(from_seq, int)
        if role == "cosigner":
            self.announced_cosigners.append(verifier)
        elif from_seq <= state.timeline[-1][0]:
            self.problem(
                state.origin,
                entry.seq,
                "key rotation",
                f"new log key from seq {from_seq}, not after the current key's seq "
                f"{state.timeline[-1][0]}",
            )
        else:
            state.timeline.append((from_seq, verifier))

    # steps 3-4, 7: checkpoints and cosignatures ---------------------------------------------

    def _checkpoints(self, state: _LogState) -> None:
        n = state.size
        roots: dict[int, set[bytes]] = defaultdict(set)
        for j, note in enumerate(state.record.checkpoints):
            where = f"checkpoints[{j}]"
            try:
                checkpoint = Checkpoint.parse(split_note(note)[0])
            except MalformedError as exc:
                self.problem(state.origin, None, "checkpoint", f"{where}: {exc}", pos=n)
                continue
            size, pos = checkpoint.size, checkpoint.size - 1
            if checkpoint.origin != state.origin:
                self.problem(
                    state.origin, None, "checkpoint", f"{where} is for {checkpoint.origin}", pos
                )
                continue
            keys = {state.key_at(size - 1), state.key_at(size)} - {None}
            try:
                open_checkpoint(note, [k for k in keys if k is not None])
            except (MalformedError, VerificationError) as exc:
                self.problem(state.origin, None, "checkpoint", f"{where} (size {size}): {exc}", pos)
                continue
            roots[size].add(checkpoint.root)
            state.signed_sizes.append(size)
            if size > n:
                self.problem(
                    state.origin,
                    n,
                    "truncated",
                    f"{where} is signed for size {size}, but the file holds {n} entries",
                )
            elif checkpoint.root != state.tree.root(size):
                self.problem(
                    state.origin,
                    None,
                    "inconsistent checkpoint",
                    f"{where}: the log key signed root {b64(checkpoint.root)} for size {size}; "
                    f"the entries give {b64(state.tree.root(size))} (fork, rollback or "
                    "rewritten entries)",
                    pos,
                )
        for size, found in sorted(roots.items()):
            if len(found) > 1:
                self.problem(
                    state.origin,
                    None,
                    "equivocation",
                    f"{len(found)} checkpoints of size {size} signed with different roots",
                    size - 1,
                )
        covered = max(state.signed_sizes, default=0)
        if covered < n:
            self.warn(
                state.origin,
                covered,
                "checkpoint",
                f"entries {covered}..{n - 1} have no checkpoint",
            )

    def _cosignatures(self, state: _LogState) -> None:
        n = state.size
        keys = self._cosigners(state.origin)
        for k, cosig in enumerate(state.record.cosignatures):
            where = f"cosignatures[{k}] by {cosig.cosigner} for size {cosig.size}"
            pos = cosig.size - 1
            candidates = [v for v in keys if v.name == cosig.cosigner]
            if not candidates:
                self.problem(
                    state.origin, None, "cosignature", f"{where}: no such cosigner key", pos
                )
                continue
            if cosig.size > n:
                self.problem(state.origin, n, "truncated", f"{where}: the file holds {n} entries")
                continue
            checkpoint = Checkpoint(state.origin, cosig.size, state.tree.root(cosig.size))
            errors: list[str] = []
            time_s = None
            for verifier in candidates:
                try:
                    time_s = verify_cosignature(checkpoint, cosig.line, verifier)
                    break
                except (MalformedError, VerificationError) as exc:
                    errors.append(str(exc))
            if time_s is None:
                self.problem(
                    state.origin,
                    None,
                    "cosignature",
                    f"{where} does not verify over the log's root at that size: {errors[0]}",
                    pos,
                )
            elif time_s != cosig.time:
                self.problem(
                    state.origin,
                    None,
                    "cosignature",
                    f"{where}: time field {cosig.time} is not the signed time {time_s}",
                    pos,
                )
            else:
                state.receipts.append((cosig.size, time_s, cosig.cosigner))

    # step 5: cross-log references ---------------------------------------------------------------

    def _cross_log(self, state: _LogState) -> None:
        unresolved: dict[str, int] = defaultdict(int)
        mismatches: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for seq, entry in state.verified.items():
            for ref in entry.refs:
                target = self.states.get(ref.log)
                if target is None:
                    unresolved[ref.log] += 1
                    continue
                if ref.log == state.origin and ref.seq >= seq:
                    self.problem(state.origin, seq, "ref", f"refs its own later entry #{ref.seq}")
                elif ref.seq >= target.size:
                    self.problem(
                        ref.log,
                        target.size,
                        "truncated",
                        f"{state.origin}#{seq} refs #{ref.seq}; the file holds {target.size} "
                        "entries",
                    )
                elif target.tree.leaf(ref.seq) != ref.leaf:
                    self.problem(
                        ref.log,
                        ref.seq,
                        "ref",
                        f"{state.origin}#{seq} refs this entry with leaf {b64(ref.leaf)}; the "
                        f"entry present hashes to {b64(target.tree.leaf(ref.seq))}",
                    )
            for origin, (size, root) in entry.peers.items():
                target = self.states.get(origin)
                if target is None:
                    unresolved[origin] += 1
                elif size > target.size:
                    self.problem(
                        origin,
                        target.size,
                        "truncated",
                        f"{state.origin}#{seq} had verified {size} entries of this log; the file "
                        f"holds {target.size}",
                    )
                elif target.tree.root(size) != root:
                    detail = (
                        f"{state.origin}#{seq} had verified root {b64(root)} for size {size}; "
                        f"the entries give {b64(target.tree.root(size))}"
                    )
                    mismatches[origin].append((size, detail))
        for origin, found in mismatches.items():
            # one problem per (author, peer log): every later vector repeats the first one
            size, detail = min(found)
            more = f" (and {len(found) - 1} more peers vectors)" if len(found) > 1 else ""
            self.problem(origin, None, "peers", detail + more, size - 1)
        for origin, count in unresolved.items():
            self.warn(
                state.origin,
                None,
                "unresolved",
                f"{count} refs/peers point into {origin}, which this file does not hold",
            )

    # step 6: deadlines --------------------------------------------------------------------------

    def _deadlines(self) -> None:
        answers: dict[tuple[str, int], list[tuple[str, int, Entry]]] = defaultdict(list)
        follow_ups: dict[tuple[str, int], list[tuple[str, int, Entry]]] = defaultdict(list)
        for state in self.states.values():
            for seq, entry in state.verified.items():
                for ref in entry.refs:
                    if entry.kind in _ANSWER_KINDS and ref.log != state.origin:
                        answers[ref.log, ref.seq].append((state.origin, seq, entry))
                    if entry.kind in ("deadline-missed", "escalation"):
                        follow_ups[ref.log, ref.seq].append((state.origin, seq, entry))
        for state in self.states.values():
            for seq, entry in state.verified.items():
                if entry.kind == "deadline-missed":
                    self._deadline_missed(state, seq, entry, answers)
            self._open_deadlines(state, answers, follow_ups)

    def _deadline_missed(
        self,
        state: _LogState,
        seq: int,
        entry: Entry,
        answers: Mapping[tuple[str, int], list[tuple[str, int, Entry]]],
    ) -> None:
        ref = entry.refs[0]
        target_state = self.states.get(ref.log)
        target = None if target_state is None else target_state.verified.get(ref.seq)
        if target is None:
            return  # unresolved (warned) or a bad target (reported at the target)
        where = f"deadline-missed for {ref.log}#{ref.seq}"
        if target.deadline is None or target.kind not in DEADLINE_KINDS:
            self.problem(
                state.origin, seq, "deadline", f"{where}, a {target.kind} without deadline"
            )
            return
        if entry.body.get("deadline") != target.deadline:
            self.problem(
                state.origin,
                seq,
                "deadline",
                f"{where} records deadline {entry.body.get('deadline')}, the entry says "
                f"{target.deadline}",
            )
        deadline_ms = parse_timestamp(target.deadline)
        if ref.log != state.origin:
            self.warn(state.origin, seq, "deadline", f"{where}: not the author's own entry")
        elif parse_timestamp(entry.created) < deadline_ms:
            self.problem(
                state.origin,
                seq,
                "deadline",
                f"{where} was written at {entry.created}, before the deadline {target.deadline}",
            )
        for origin, answer_seq, answer in answers.get((ref.log, ref.seq), []):
            if parse_timestamp(answer.created) <= deadline_ms:
                self.warn(
                    state.origin,
                    seq,
                    "deadline",
                    f"{where}: {origin}#{answer_seq} ({answer.kind}) is dated {answer.created}, "
                    f"before the deadline {target.deadline} (late delivery or clock skew?)",
                )

    def _open_deadlines(
        self,
        state: _LogState,
        answers: Mapping[tuple[str, int], list[tuple[str, int, Entry]]],
        follow_ups: Mapping[tuple[str, int], list[tuple[str, int, Entry]]],
    ) -> None:
        if not state.verified:
            return
        last_ms = max(parse_timestamp(e.created) for e in state.verified.values())
        for seq, entry in state.verified.items():
            if entry.deadline is None:
                continue
            key = (state.origin, seq)
            missed = [f for f in follow_ups.get(key, []) if f[2].kind == "deadline-missed"]
            if len(missed) > 1:
                seqs = ", ".join(f"{o}#{s}" for o, s, _ in missed)
                self.warn(state.origin, seq, "deadline", f"deadline-missed recorded twice: {seqs}")
            if key in answers or key in follow_ups:
                continue
            if last_ms > parse_timestamp(entry.deadline):
                self.warn(
                    state.origin,
                    seq,
                    "deadline",
                    f"deadline {entry.deadline} passed with no ack or reply and no "
                    "deadline-missed recorded",
                )

    # receipts, skew, stats ------------------------------------------------------------------

    def _stats(self, state: _LogState) -> LogStats:
        first = _first_receipts(state.receipts, state.size)
        late = [
            (abs(first_at[0] * 1000 - parse_timestamp(entry.created)), seq)
            for seq, entry in state.verified.items()
            if (first_at := first[seq]) is not None
        ]
        skewed = [(gap, seq) for gap, seq in late if gap > self.skew_ms]
        if skewed:
            gap, seq = max(skewed)
            self.warn(
                state.origin,
                min(s for _, s in skewed),
                "clock skew",
                f"{len(skewed)} entries are created more than {self.skew_ms // 1000} s from "
                f"their first receipt (largest {gap // 1000} s, at seq {seq}): skewed clocks "
                "or late delivery",
            )
        receipts: list[Receipt] = []
        for seq, item in enumerate(first):
            if item is None:
                continue
            if (
                receipts
                and receipts[-1].last_seq == seq - 1
                and (
                    receipts[-1].time,
                    receipts[-1].cosigner,
                )
                == item
            ):
                last = receipts[-1]
                receipts[-1] = Receipt(last.first_seq, seq, last.time, last.cosigner)
            else:
                receipts.append(Receipt(seq, seq, item[0], item[1]))
        record = state.record
        return LogStats(
            origin=state.origin,
            entries=len(record.entries),
            checkpoints=len(record.checkpoints),
            cosignatures=len(record.cosignatures),
            size=state.size,
            root=b64(state.tree.root()),
            receipts=tuple(receipts),
        )

    # evidence rows --------------------------------------------------------------------------

    def _rows(self) -> None:
        for i, row in enumerate(self.ev.evidence):
            proven = self._prove(row)
            if proven is None:
                self.warn(
                    self.ev.exported_by,
                    None,
                    "evidence",
                    f"evidence[{i}] {row.kind}: {row.detail} (not proven by its blobs)",
                )
                continue
            origin, seq, what = proven
            self.problem(
                origin, seq, "equivocation", f"evidence[{i}] {row.kind}: {what}; {row.detail}"
            )

    def _prove(self, row: EvidenceRow) -> tuple[str, int | None, str] | None:
        """Two validly signed, different artefacts for one size or seq of one log, if any."""
        notes: dict[tuple[str, int], set[bytes]] = defaultdict(set)
        entries: dict[tuple[str, int], set[bytes]] = defaultdict(set)
        for blob in row.blobs:
            checkpoint = self._signed_checkpoint(blob)
            if checkpoint is not None:
                notes[checkpoint.origin, checkpoint.size].add(checkpoint.root)
                continue
            entry = self._signed_entry(blob)
            if entry is not None:
                entries[entry.log, entry.seq].add(entry.to_bytes())
        for (origin, seq), variants in entries.items():
            if len(variants) > 1:
                return origin, seq, f"two entries for seq {seq}, both signed by the log key"
        for (origin, size), variants in notes.items():
            if len(variants) > 1:
                return origin, None, f"two checkpoints of size {size} with different roots"
        return None

    def _signed_checkpoint(self, blob: bytes) -> Checkpoint | None:
        try:
            checkpoint = Checkpoint.parse(split_note(blob.decode("utf-8"))[0])
            state = self.states.get(checkpoint.origin)
            if state is None:
                return None
            keys = {state.key_at(checkpoint.size - 1), state.key_at(checkpoint.size)} - {None}
            open_checkpoint(blob.decode("utf-8"), [k for k in keys if k is not None])
        except (UnicodeDecodeError, MalformedError, VerificationError):
            return None
        return checkpoint

    def _signed_entry(self, blob: bytes) -> Entry | None:
        try:
            value = _obj(loads_json(blob, "blob"), "blob", {"entry", "sig"}, {"seq"})
            data = b64decode_strict(value["entry"], "blob.entry")
            entry = Entry.from_bytes(data)
            state = self.states.get(entry.log)
            key = None if state is None else state.key_at(entry.seq)
            if key is None:
                return None
            verify_entry(data, b64decode_strict(value["sig"], "blob.sig"), key)
        except (MalformedError, VerificationError):
            return None
        return entry


def _first_receipts(
    receipts: Sequence[tuple[int, int, str]], size: int
) -> list[tuple[int, str] | None]:
    """Per seq, the earliest (time, cosigner) among cosignatures of a size above it."""
    ordered = sorted(receipts)
    first: list[tuple[int, str] | None] = [None] * size
    best: tuple[int, str] | None = None
    index = len(ordered) - 1
    for seq in range(size - 1, -1, -1):
        while index >= 0 and ordered[index][0] > seq:
            _, time_s, cosigner = ordered[index]
            if best is None or time_s < best[0]:
                best = (time_s, cosigner)
            index -= 1
        first[seq] = best
    return first
