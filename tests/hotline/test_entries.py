"""Hotline entries (§5.1): round trips, every kind valid and invalid, signatures, fuzzing (S10)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.errors import LedgerError, MalformedError, VerificationError
from seabridge.hotline.canonical import canonical_json
from seabridge.hotline.entries import (
    BODY_FIELDS,
    ENTRY_DOMAIN,
    KINDS,
    Entry,
    Ref,
    format_timestamp,
    parse_timestamp,
    sign_entry,
    verify_entry,
)
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.merkle import EMPTY_ROOT, leaf_hash

LOG = "jcg.example/hotline/ccg"
PEER = "ccg.example/hotline/jcg"
KEY = SigningKey.from_seed(LOG, KEY_TYPE_NOTE, bytes(range(32)))
NEW_KEY = SigningKey.from_seed(LOG, KEY_TYPE_NOTE, bytes(range(1, 33)))
COSIGNER = SigningKey.from_seed("jcg.example/witness", KEY_TYPE_COSIGNATURE, bytes(32))
REF = Ref(PEER, 16, leaf_hash(b"their entry 16"))
MESSAGE = {"text": "接近中の船舶あり", "text_en": "Vessel approaching", "marker": "WARNING"}
SHA = "ab" * 32
COSIGNER_VKEY = COSIGNER.verifier.vkey()

# One valid (kind, body, refs, deadline) per shape the schema allows.
VALID: list[tuple[str, dict[str, Any], tuple[Ref, ...], str | None]] = [
    ("notification", MESSAGE, (), "2026-11-28T12:00:00Z"),
    (
        "notification",
        {
            **MESSAGE,
            "marker": "REQUEST",
            "template": "cpa-warning",
            "params": {"cpa_m": "450", "vessel": "CCG 2901"},
            "incident": "jcg-2026-0042",
        },
        (REF,),
        None,
    ),
    ("reply", {**MESSAGE, "marker": "ANSWER"}, (REF,), "2026-11-28T12:30:00.500Z"),
    ("note", {**MESSAGE, "marker": "INFORMATION"}, (), None),
    ("escalation", {**MESSAGE, "level": 2}, (REF,), "2026-11-28T13:00:00Z"),
    ("ack", {}, (REF,), None),
    ("ack", {"text": "受領", "text_en": "Received"}, (REF, REF), None),
    ("heartbeat", {}, (), None),
    ("heartbeat", {"note": "hourly test"}, (), None),
    ("key-rotation", {"role": "log", "vkey": NEW_KEY.verifier.vkey(), "from_seq": 42}, (), None),
    (
        "key-rotation",
        {"role": "cosigner", "vkey": COSIGNER.verifier.vkey(), "from_seq": 50},
        (),
        None,
    ),
    ("deadline-missed", {"deadline": "2026-11-28T12:00:00Z"}, (REF,), None),
    (
        "agreement",
        {"role": "proposal", "document": "rulebook ecs-standard 1", "sha256": SHA},
        (),
        None,
    ),
    (
        "agreement",
        {"role": "countersignature", "document": "rulebook ecs-standard 1", "sha256": SHA},
        (REF,),
        None,
    ),
]

# Invalid (kind, body, refs, deadline, what the message names).
INVALID: list[tuple[str, dict[str, Any], tuple[Ref, ...], str | None, str]] = [
    ("notification", {**MESSAGE, "marker": "SHOUT"}, (), None, "body.marker"),
    ("notification", {"text": "x", "marker": "WARNING"}, (), None, "missing text_en"),
    ("notification", {**MESSAGE, "colour": "red"}, (), None, "unknown field colour"),
    ("notification", {**MESSAGE, "text": ""}, (), None, "body.text"),
    ("notification", {**MESSAGE, "params": {"a": 1}}, (), None, "body.params.a"),
    ("notification", {**MESSAGE, "text_en": "x" * 8001}, (), None, "longer"),
    ("reply", MESSAGE, (), None, "refs: reply entries take 1..64 refs"),
    ("escalation", MESSAGE, (), None, "missing level"),
    ("escalation", {**MESSAGE, "level": 5}, (), None, "body.level"),
    ("escalation", {**MESSAGE, "level": True}, (), None, "body.level"),
    ("note", MESSAGE, (), "2026-11-28T12:00:00Z", "deadline: note entries take no deadline"),
    ("ack", {}, (), None, "ack entries take 1..64 refs"),
    ("ack", {"marker": "ANSWER"}, (REF,), None, "unknown field marker"),
    ("heartbeat", {"note": 1}, (), None, "body.note"),
    ("heartbeat", {}, (), "2026-11-28T12:00:00Z", "take no deadline"),
    ("key-rotation", {"role": "log", "vkey": "nope", "from_seq": 42}, (), None, "body.vkey"),
    (
        "key-rotation",
        {"role": "log", "vkey": COSIGNER.verifier.vkey(), "from_seq": 42},
        (),
        None,
        "a log key has type 0x01",
    ),
    (
        "key-rotation",
        {"role": "log", "vkey": NEW_KEY.verifier.vkey(), "from_seq": 41},
        (),
        None,
        "body.from_seq",
    ),
    ("key-rotation", {"role": "boss", "vkey": "x", "from_seq": 42}, (), None, "body.role"),
    ("deadline-missed", {"deadline": "2026-11-28T12:00:00Z"}, (), None, "exactly 1 refs"),
    ("deadline-missed", {"deadline": "2026-11-28T12:00:00Z"}, (REF, REF), None, "exactly 1"),
    ("deadline-missed", {"deadline": "2026-11-28 12:00:00Z"}, (REF,), None, "body.deadline"),
    (
        "agreement",
        {"role": "proposal", "document": "rulebook", "sha256": SHA.upper()},
        (),
        None,
        "body.sha256",
    ),
    (
        "agreement",
        {"role": "countersignature", "document": "rulebook", "sha256": SHA},
        (),
        None,
        "exactly 1 refs",
    ),
]


def make(**changes: Any) -> Entry:
    fields: dict[str, Any] = {
        "log": LOG,
        "seq": 41,
        "prev_root": EMPTY_ROOT,
        "peers": {PEER: (17, leaf_hash(b"peer root"))},
        "msg_id": "01JD3ZQK8W6R0000000000000A",
        "kind": "notification",
        "refs": (),
        "deadline": None,
        "created": "2026-11-28T11:45:03.123Z",
        "lang": "ja",
        "body": MESSAGE,
    }
    fields.update(changes)
    return Entry(**fields)


def test_every_kind_has_a_valid_example_and_a_body_schema() -> None:
    assert {kind for kind, *_ in VALID} == set(KINDS) == set(BODY_FIELDS)


@pytest.mark.parametrize(("kind", "body", "refs", "deadline"), VALID)
def test_valid_entries_round_trip(
    kind: str, body: dict[str, Any], refs: tuple[Ref, ...], deadline: str | None
) -> None:
    entry = make(kind=kind, body=body, refs=refs, deadline=deadline)
    data = entry.to_bytes()
    assert data == canonical_json(entry.to_json())
    again = Entry.from_bytes(data)
    assert again == entry
    assert again.to_bytes() == data
    assert again.leaf_hash() == leaf_hash(data)
    assert hash(again) == hash(entry)
    assert ("deadline" in json.loads(data)) == (deadline is not None)


@pytest.mark.parametrize(("kind", "body", "refs", "deadline", "reason"), INVALID)
def test_invalid_entries_are_refused_naming_the_field(
    kind: str, body: dict[str, Any], refs: tuple[Ref, ...], deadline: str | None, reason: str
) -> None:
    with pytest.raises(MalformedError, match=reason):
        make(kind=kind, body=body, refs=refs, deadline=deadline)
    # The same content arriving as bytes is refused the same way.
    valid = make()
    value = valid.to_json()
    value.update(kind=kind, body=body)
    value["refs"] = [
        {"log": r.log, "seq": r.seq, "leaf": base64.b64encode(r.leaf).decode()} for r in refs
    ]
    if deadline is not None:
        value["deadline"] = deadline
    with pytest.raises(MalformedError, match=reason):
        Entry.from_bytes(canonical_json(value))


def test_json_form_matches_the_protocol_example() -> None:
    entry = make(refs=(REF,), deadline="2026-11-28T12:00:00Z")
    value = json.loads(entry.to_bytes())
    assert list(value) == sorted(value)
    assert value["v"] == 1
    assert value["prev_root"] == base64.b64encode(EMPTY_ROOT).decode()
    assert value["peers"] == {
        PEER: {"size": 17, "root": base64.b64encode(leaf_hash(b"peer root")).decode()}
    }
    assert value["refs"] == [{"log": PEER, "seq": 16, "leaf": base64.b64encode(REF.leaf).decode()}]
    assert value["deadline"] == "2026-11-28T12:00:00Z"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"v": 2}, "^v:"),
        ({"v": True}, "^v:"),
        ({"log": ""}, "^log:"),
        ({"log": "has space"}, "^log:"),
        ({"seq": -1}, "^seq:"),
        ({"seq": 2**53}, "^seq:"),
        ({"prev_root": b"short"}, "^prev_root:"),
        ({"peers": {LOG: (1, EMPTY_ROOT)}}, "own log"),
        ({"peers": {PEER: (1, b"x")}}, "root"),
        ({"peers": {PEER: [1, EMPTY_ROOT]}}, r"\(size, root\)"),
        ({"msg_id": ""}, "^msg_id:"),
        ({"msg_id": "has space"}, "^msg_id:"),
        ({"kind": "gossip"}, "^kind:"),
        ({"refs": [REF]}, "^refs:"),
        ({"refs": (Ref(PEER, 1, b"x"),)}, r"refs\[0\]\.leaf"),
        ({"created": "2026-11-28T11:45:03+09:00"}, "^created:"),
        ({"created": "2026-02-30T00:00:00Z"}, "not a valid UTC time"),
        ({"created": "2026-11-28T11:45:03.12Z"}, "^created:"),
        ({"lang": "Japanese"}, "^lang:"),
        ({"body": []}, "^body:"),
    ],
)
def test_entry_fields_are_checked(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        make(**changes)


def _edit(data: bytes, **changes: Any) -> bytes:
    value = json.loads(data)
    value.update(changes)
    return canonical_json(value)


def test_from_bytes_refuses_non_canonical_and_structural_errors() -> None:
    data = make(refs=(REF,)).to_bytes()
    spaced = json.dumps(json.loads(data), ensure_ascii=False, sort_keys=True).encode()
    with pytest.raises(MalformedError, match="canonical"):
        Entry.from_bytes(spaced)
    with pytest.raises(MalformedError, match="canonical"):
        Entry.from_bytes(data + b"\n")
    with pytest.raises(MalformedError, match="missing lang"):
        Entry.from_bytes(canonical_json({k: v for k, v in json.loads(data).items() if k != "lang"}))
    with pytest.raises(MalformedError, match="unknown field extra"):
        Entry.from_bytes(_edit(data, extra=1))
    with pytest.raises(MalformedError, match="deadline"):
        Entry.from_bytes(_edit(data, deadline=None))
    with pytest.raises(MalformedError, match="prev_root"):
        Entry.from_bytes(_edit(data, prev_root=base64.b64encode(b"x" * 31).decode()))
    with pytest.raises(MalformedError, match="prev_root"):
        Entry.from_bytes(_edit(data, prev_root="not base64!"))
    with pytest.raises(MalformedError, match=r"^peers"):
        Entry.from_bytes(_edit(data, peers=[]))
    with pytest.raises(MalformedError, match=r"peers\..*unknown field x"):
        root = base64.b64encode(EMPTY_ROOT).decode()
        Entry.from_bytes(_edit(data, peers={PEER: {"size": 1, "root": root, "x": 1}}))
    with pytest.raises(MalformedError, match=r"^refs"):
        Entry.from_bytes(_edit(data, refs={}))
    with pytest.raises(MalformedError, match=r"refs\[0\]: missing leaf"):
        Entry.from_bytes(_edit(data, refs=[{"log": PEER, "seq": 1}]))
    with pytest.raises(MalformedError, match="at most 65536"):
        Entry.from_bytes(b"{" + b" " * 70_000 + b"}")
    with pytest.raises(MalformedError, match="object"):
        Entry.from_bytes(b"[]")


def test_timestamps() -> None:
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"
    assert format_timestamp(1_795_866_303_123) == "2026-11-28T11:45:03.123Z"
    assert parse_timestamp("2026-11-28T11:45:03.123Z") == 1_795_866_303_123
    assert parse_timestamp("2026-11-28T11:45:03Z") == 1_795_866_303_000
    for ts_ms in (0, 1, 999, 1_000, 1_795_866_303_123, 4_102_444_799_999):
        assert parse_timestamp(format_timestamp(ts_ms)) == ts_ms


def test_sign_and_verify_entry() -> None:
    data = make().to_bytes()
    signature = sign_entry(data, KEY)
    assert len(signature) == 64
    verify_entry(data, signature, KEY.verifier)
    KEY.verifier.verify(ENTRY_DOMAIN + data, signature)
    with pytest.raises(VerificationError):
        KEY.verifier.verify(data, signature)  # the domain prefix is part of the message
    with pytest.raises(VerificationError):
        verify_entry(data, signature, NEW_KEY.verifier)
    with pytest.raises(VerificationError):
        verify_entry(data.replace(b'"seq":41', b'"seq":42'), signature, KEY.verifier)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(VerificationError):
        verify_entry(data, flipped, KEY.verifier)
    with pytest.raises(LedgerError, match="log key"):
        sign_entry(data, COSIGNER)


def test_entries_are_immutable_values() -> None:
    entry = make()
    with pytest.raises(AttributeError):
        entry.seq = 1  # type: ignore[misc]
    assert replace(entry, seq=42).seq == 42
    assert replace(entry, seq=42).to_bytes() != entry.to_bytes()


# --- S10 at CI size: mutated and random bytes raise only MalformedError ---

_SAMPLES = [make(kind=k, body=b, refs=r, deadline=d).to_bytes() for k, b, r, d in VALID]


@st.composite
def _mutated_entry(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = draw(st.integers(0, 255) | st.sampled_from(list(b'"{}[],:0-')))
        if action == "flip":
            data[position] = byte
        elif action == "insert":
            data.insert(position, byte)
        else:
            del data[position]
    return bytes(data)


@st.composite
def _edited_json(draw: st.DrawFn) -> bytes:
    """A valid entry with one field replaced by a random JSON value (structure fuzzing)."""
    value = json.loads(draw(st.sampled_from(_SAMPLES)))
    leaf = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8)
    noise = st.recursive(leaf, lambda x: st.lists(x, max_size=3), max_leaves=4)
    path = draw(st.sampled_from([*value, *(f"body.{k}" for k in value["body"]), "body.new"]))
    if path.startswith("body."):
        value["body"][path[5:]] = draw(noise)
    else:
        value[path] = draw(noise)
    return canonical_json(value)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120) | _mutated_entry() | _edited_json())
def test_s10_entry_from_bytes_only_raises_malformed(data: bytes) -> None:
    try:
        entry = Entry.from_bytes(data)
    except MalformedError:
        return
    assert entry.to_bytes() == data
