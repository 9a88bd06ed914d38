"""Hotline entries: the signed records of one author's log (``domain/hotline-protocol.md`` §5.1).

An entry is canonical JSON (:mod:`~seabridge.hotline.canonical`), written once by its author and
then only ever handled as bytes: the author signs ``ENTRY_DOMAIN + bytes``, the Merkle leaf is
``SHA-256(0x00 || bytes)``, and receivers check that the bytes parse to a valid :class:`Entry`
and are exactly its canonical encoding. JSON form::

    {"v":1, "log":origin, "seq":n, "prev_root":b64, "peers":{origin:{"size":n,"root":b64}},
     "msg_id":str, "kind":str, "refs":[{"log":origin,"seq":n,"leaf":b64}],
     "deadline":timestamp (absent when there is none; never null), "created":timestamp,
     "lang":"en"|"ja"|"zh"|..., "body":{...}}

Timestamps are UTC, ``YYYY-MM-DDTHH:MM:SSZ`` or with milliseconds ``...SS.fffZ``. Hashes are
standard, padded base64 of 32 bytes. Bodies per kind are declared in :data:`BODY_FIELDS`; unknown
fields are refused everywhere. The ledger treats the meaning of a body as the application's.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seabridge.errors import LedgerError, MalformedError
from seabridge.hotline.canonical import MAX_INT, canonical_json, parse_canonical
from seabridge.hotline.keys import (
    KEY_TYPE_COSIGNATURE,
    KEY_TYPE_NOTE,
    SigningKey,
    Verifier,
    check_key_name,
    parse_vkey,
)
from seabridge.hotline.merkle import HASH_SIZE, leaf_hash

__all__ = [
    "BODY_FIELDS",
    "DEADLINE_KINDS",
    "ENTRY_DOMAIN",
    "KINDS",
    "MARKERS",
    "MAX_ENTRY_BYTES",
    "Entry",
    "Ref",
    "format_timestamp",
    "parse_timestamp",
    "sign_entry",
    "verify_entry",
]

KINDS = (
    "notification",
    "ack",
    "reply",
    "escalation",
    "heartbeat",
    "key-rotation",
    "deadline-missed",
    "agreement",
    "note",
)
"""Entry kinds: §5.1 plus ``agreement`` (protocol amendment 1)."""

DEADLINE_KINDS = frozenset({"notification", "reply", "escalation", "agreement"})
"""Kinds that may carry a ``deadline`` (a request that expects an answer)."""

ENTRY_DOMAIN = b"hotline-entry/v1\n"
"""Prefix of every entry signature's message (domain separation, §5.1)."""

MARKERS = (
    "INFORMATION",
    "WARNING",
    "ADVICE",
    "REQUEST",
    "QUESTION",
    "ANSWER",
    "INSTRUCTION",
    "INTENTION",
)
"""IMO Standard Marine Communication Phrases message markers (IMO SMCP, A1/1.4)."""

MAX_ENTRY_BYTES = 65_536
MAX_TEXT = 8_000
MAX_REFS = 64
MAX_PEERS = 16
VERSION = 1

_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?Z")
_LANG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_MSG_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ENTRY_FIELDS = frozenset(
    {"v", "log", "seq", "prev_root", "peers", "msg_id", "kind", "refs", "created", "lang", "body"}
)


# --- small value checks ---------------------------------------------------------------------


def format_timestamp(ts_ms: int) -> str:
    """An entry timestamp for Unix milliseconds (milliseconds written only when not zero)."""
    moment = datetime.fromtimestamp(ts_ms // 1000, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ts_ms % 1000:03d}Z" if ts_ms % 1000 else f"{text}Z"


def parse_timestamp(text: str, where: str = "timestamp") -> int:
    """Unix milliseconds of an entry timestamp.

    Raises:
        MalformedError: not ``YYYY-MM-DDTHH:MM:SS(.fff)Z`` or not a real UTC time.
    """
    match = _TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise MalformedError(f"{where}: {str(text)[:40]!r} is not YYYY-MM-DDTHH:MM:SS(.fff)Z")
    year, month, day, hour, minute, second, millis = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        raise MalformedError(f"{where}: {text!r} is not a valid UTC time") from None
    return int(moment.timestamp()) * 1000 + int(millis or 0)


def _fail(where: str, message: str) -> MalformedError:
    return MalformedError(f"{where}: {message}")


def _int(value: object, where: str, low: int = 0, high: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, "must be an integer")
    if not low <= value <= high:
        raise _fail(where, f"{value} is outside {low}..{high}")
    return value


def _text(value: object, where: str, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "must be a non-empty string")
    if len(value) > limit:
        raise _fail(where, f"is longer than {limit} characters")
    return value


def _origin(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "must be a string")
    try:
        check_key_name(value)
    except MalformedError as exc:
        raise _fail(where, f"not a log origin ({exc})") from None
    return value


def _hash(value: object, where: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise _fail(where, f"must be {HASH_SIZE} bytes")
    return value


def _b64_hash(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise _fail(where, "must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(where, "is not standard base64") from None
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != value:
        raise _fail(where, f"is not the canonical base64 of {HASH_SIZE} bytes")
    return raw


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _object(value: object, where: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    missing = required - value.keys()
    if missing:
        raise _fail(where, f"missing {', '.join(sorted(missing))}")
    unknown = value.keys() - required - optional
    if unknown:
        raise _fail(where, f"unknown field {', '.join(sorted(map(str, unknown)))}")
    return value


# --- bodies, declared per kind ------------------------------------------------------------------

Check = Callable[[object, str], object]


def _marker(value: object, where: str) -> object:
    if value not in MARKERS:
        raise _fail(where, f"must be one of {', '.join(MARKERS)}")
    return value


def _params(value: object, where: str) -> object:
    if not isinstance(value, dict) or len(value) > 32:
        raise _fail(where, "must be an object of at most 32 string values")
    for key, item in value.items():
        _text(key, f"{where} key", limit=64)
        if not isinstance(item, str) or len(item) > MAX_TEXT:
            raise _fail(f"{where}.{key}", "must be a string")
    return value


def _level(value: object, where: str) -> object:
    return _int(value, where, 1, 4)


def _note_text(value: object, where: str) -> object:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _fail(where, "must be a string")
    return value


def _one_of(*choices: str) -> Check:
    def check(value: object, where: str) -> object:
        if value not in choices:
            raise _fail(where, f"must be one of {', '.join(choices)}")
        return value

    return check


def _vkey(value: object, where: str) -> object:
    if not isinstance(value, str):
        raise _fail(where, "must be a vkey string")
    try:
        parse_vkey(value)
    except MalformedError as exc:
        raise _fail(where, str(exc)) from None
    return value


def _from_seq(value: object, where: str) -> object:
    return _int(value, where)


def _sha256_hex(value: object, where: str) -> object:
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise _fail(where, "must be 64 lowercase hex digits")
    return value


def _timestamp(value: object, where: str) -> object:
    parse_timestamp(value, where)  # type: ignore[arg-type]  # checked inside
    return value


_MESSAGE: dict[str, Check] = {"text": _text, "text_en": _text, "marker": _marker}
_MESSAGE_OPTIONAL: dict[str, Check] = {"template": _text, "params": _params, "incident": _text}
_ACK_TEXT: dict[str, Check] = {"text": _text, "text_en": _text}

BODY_FIELDS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "notification": (_MESSAGE, _MESSAGE_OPTIONAL),
    "reply": (_MESSAGE, _MESSAGE_OPTIONAL),
    "note": (_MESSAGE, _MESSAGE_OPTIONAL),
    "escalation": ({**_MESSAGE, "level": _level}, _MESSAGE_OPTIONAL),
    "ack": ({}, _ACK_TEXT),
    "heartbeat": ({}, {"note": _note_text}),
    "key-rotation": (
        {"role": _one_of("log", "cosigner"), "vkey": _vkey, "from_seq": _from_seq},
        {},
    ),
    "deadline-missed": ({"deadline": _timestamp}, {}),
    "agreement": (
        {
            "role": _one_of("proposal", "countersignature"),
            "document": _text,
            "sha256": _sha256_hex,
        },
        _ACK_TEXT,
    ),
}
"""Per kind: (required fields, optional fields), each with its check."""

# Number of refs per kind: (at least, at most). Kinds not listed take 0..MAX_REFS.
_REF_COUNTS: dict[str, tuple[int, int]] = {
    "ack": (1, MAX_REFS),
    "reply": (1, MAX_REFS),
    "deadline-missed": (1, 1),
}


def _check_body(kind: str, body: object, refs: int, seq: int) -> None:
    required, optional = BODY_FIELDS[kind]
    checked = _object(body, "body", set(required), set(optional))
    for name, check in {**required, **optional}.items():
        if name in checked:
            check(checked[name], f"body.{name}")
    low, high = _REF_COUNTS.get(kind, (0, MAX_REFS))
    if kind == "agreement" and checked["role"] == "countersignature":
        low, high = 1, 1
    if not low <= refs <= high:
        wanted = f"exactly {low}" if low == high else f"{low}..{high}"
        raise _fail("refs", f"{kind} entries take {wanted} refs, not {refs}")
    if kind == "key-rotation":
        role, key = checked["role"], parse_vkey(checked["vkey"])
        expected = KEY_TYPE_NOTE if role == "log" else KEY_TYPE_COSIGNATURE
        if key.key_type != expected:
            raise _fail("body.vkey", f"a {role} key has type {expected:#04x}")
        if checked["from_seq"] <= seq:
            raise _fail("body.from_seq", "must be after the rotation entry's own seq")


# --- the entry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A reference to an entry of some log: its origin, seq and leaf hash."""

    log: str
    seq: int
    leaf: bytes


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One hotline entry; constructing it validates every field (MalformedError)."""

    v: int = VERSION
    log: str
    seq: int
    prev_root: bytes
    peers: Mapping[str, tuple[int, bytes]] = field(default_factory=dict)
    msg_id: str
    kind: str
    refs: tuple[Ref, ...] = ()
    deadline: str | None = None
    created: str
    lang: str
    body: Mapping[str, object]
    _bytes: bytes = field(init=False, repr=False, compare=False, default=b"")

    def __post_init__(self) -> None:
        if self.v != VERSION or isinstance(self.v, bool):
            raise _fail("v", f"version {self.v!r} is not {VERSION}")
        _origin(self.log, "log")
        _int(self.seq, "seq")
        _hash(self.prev_root, "prev_root")
        if not isinstance(self.peers, Mapping) or len(self.peers) > MAX_PEERS:
            raise _fail("peers", f"must map at most {MAX_PEERS} origins to (size, root)")
        for origin, head in self.peers.items():
            _origin(origin, "peers key")
            if origin == self.log:
                raise _fail(f"peers.{origin}", "an entry's own log is not a peer")
            if not isinstance(head, tuple) or len(head) != 2:
                raise _fail(f"peers.{origin}", "must be (size, root)")
            _int(head[0], f"peers.{origin}.size")
            _hash(head[1], f"peers.{origin}.root")
        if not isinstance(self.msg_id, str) or not _MSG_ID.fullmatch(self.msg_id):
            raise _fail("msg_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -")
        if self.kind not in KINDS:
            raise _fail("kind", f"{str(self.kind)[:40]!r} is not one of {', '.join(KINDS)}")
        if not isinstance(self.refs, tuple) or len(self.refs) > MAX_REFS:
            raise _fail("refs", f"must be a tuple of at most {MAX_REFS} Ref")
        for i, ref in enumerate(self.refs):
            if not isinstance(ref, Ref):
                raise _fail(f"refs[{i}]", "must be a Ref")
            _origin(ref.log, f"refs[{i}].log")
            _int(ref.seq, f"refs[{i}].seq")
            _hash(ref.leaf, f"refs[{i}].leaf")
        if self.deadline is not None:
            parse_timestamp(self.deadline, "deadline")
            if self.kind not in DEADLINE_KINDS:
                raise _fail("deadline", f"{self.kind} entries take no deadline")
        parse_timestamp(self.created, "created")
        if not isinstance(self.lang, str) or not _LANG.fullmatch(self.lang):
            raise _fail("lang", f"{str(self.lang)[:20]!r} is not a language tag like en, ja, zh")
        _check_body(self.kind, self.body, len(self.refs), self.seq)
        data = canonical_json(self.to_json())
        if len(data) > MAX_ENTRY_BYTES:
            raise _fail("entry", f"is {len(data)} bytes; at most {MAX_ENTRY_BYTES}")
        object.__setattr__(self, "_bytes", data)

    def __hash__(self) -> int:
        return hash(self._bytes)

    def to_json(self) -> dict[str, object]:
        """The JSON form (deadline omitted when there is none)."""
        value: dict[str, object] = {
            "v": self.v,
            "log": self.log,
            "seq": self.seq,
            "prev_root": _b64(self.prev_root),
            "peers": {o: {"size": s, "root": _b64(r)} for o, (s, r) in self.peers.items()},
            "msg_id": self.msg_id,
            "kind": self.kind,
            "refs": [{"log": r.log, "seq": r.seq, "leaf": _b64(r.leaf)} for r in self.refs],
            "created": self.created,
            "lang": self.lang,
            "body": dict(self.body),
        }
        if self.deadline is not None:
            value["deadline"] = self.deadline
        return value

    def to_bytes(self) -> bytes:
        """The canonical bytes: what is signed, stored and hashed into the log."""
        return self._bytes

    def leaf_hash(self) -> bytes:
        """The Merkle leaf of this entry: SHA-256(0x00 || bytes)."""
        return leaf_hash(self._bytes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry:
        """Parse and validate entry bytes, which must be canonical.

        Raises:
            MalformedError: anything wrong; the message names the field.
        """
        if len(data) > MAX_ENTRY_BYTES:
            raise _fail("entry", f"is {len(data)} bytes; at most {MAX_ENTRY_BYTES}")
        value = _object(parse_canonical(data), "entry", set(_ENTRY_FIELDS), {"deadline"})
        if not isinstance(value["peers"], dict):
            raise _fail("peers", "must be an object")
        peers = {}
        for origin, head in value["peers"].items():
            _object(head, f"peers.{origin}", {"size", "root"}, set())
            peers[origin] = (head["size"], _b64_hash(head["root"], f"peers.{origin}.root"))
        if not isinstance(value["refs"], list):
            raise _fail("refs", "must be an array")
        refs = []
        for i, ref in enumerate(value["refs"]):
            _object(ref, f"refs[{i}]", {"log", "seq", "leaf"}, set())
            refs.append(Ref(ref["log"], ref["seq"], _b64_hash(ref["leaf"], f"refs[{i}].leaf")))
        if "deadline" in value and not isinstance(value["deadline"], str):
            raise _fail("deadline", "must be a timestamp string when present")
        entry = cls(
            v=value["v"],
            log=value["log"],
            seq=value["seq"],
            prev_root=_b64_hash(value["prev_root"], "prev_root"),
            peers=peers,
            msg_id=value["msg_id"],
            kind=value["kind"],
            refs=tuple(refs),
            deadline=value.get("deadline"),
            created=value["created"],
            lang=value["lang"],
            body=value["body"],
        )
        if entry.to_bytes() != data:  # cannot happen for canonical input; guards the mapping
            raise _fail("entry", "does not re-encode to the same bytes")
        return entry


def sign_entry(entry_bytes: bytes, key: SigningKey) -> bytes:
    """The author's signature: Ed25519 over ``ENTRY_DOMAIN + entry_bytes`` with a log key."""
    if key.key_type != KEY_TYPE_NOTE:
        raise LedgerError(f"key {key.name} is not a log key (type 0x01)")
    return key.sign(ENTRY_DOMAIN + entry_bytes)


def verify_entry(entry_bytes: bytes, signature: bytes, verifier: Verifier) -> None:
    """Check an entry signature.

    Raises:
        SignatureError: the signature does not verify with ``verifier``.
    """
    verifier.verify(ENTRY_DOMAIN + entry_bytes, signature)
