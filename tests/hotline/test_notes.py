"""C2SP signed notes, checkpoints and cosignatures: known vectors, rejections, fuzzing (S10)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.errors import LedgerError, MalformedError, SignatureError, VerificationError
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey, parse_vkey
from seabridge.hotline.merkle import leaf_hash
from seabridge.hotline.notes import (
    Checkpoint,
    cosign,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
    split_note,
    verify_cosignature,
)

# golang.org/x/mod/sumdb/note package documentation: a published signer key, its verifier key,
# a text and the note it signs to (Ed25519 is deterministic, so the bytes must match).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ORIGIN = "jcg.example/hotline/ccg"
LOG_KEY = SigningKey.from_seed(ORIGIN, KEY_TYPE_NOTE, bytes(range(32)))
COSIGNER = SigningKey.from_seed("ccg.example/witness", KEY_TYPE_COSIGNATURE, bytes(range(1, 33)))
CHECKPOINT = Checkpoint(ORIGIN, 42, leaf_hash(b"root"))


def test_sign_note_reproduces_the_go_note_example() -> None:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]  # type byte, then the seed
    key = SigningKey.from_seed("PeterNeumann", KEY_TYPE_NOTE, seed)
    assert key.verifier.vkey() == GO_VKEY
    assert sign_note(GO_TEXT, key) == GO_NOTE
    assert open_note(GO_NOTE, [parse_vkey(GO_VKEY)]) == (GO_TEXT, [key.verifier])


def test_open_note_rejects_tampering_and_unknown_keys() -> None:
    verifier = parse_vkey(GO_VKEY)
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [verifier])
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(GO_NOTE, [LOG_KEY.verifier])
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(GO_NOTE, [])


def test_unknown_signatures_are_ignored_and_every_known_one_reported() -> None:
    other = SigningKey.from_seed("ccg.example/log", KEY_TYPE_NOTE, bytes(32))
    note = sign_note("hello\n", LOG_KEY)
    both = note + sign_note("hello\n", other).split("\n\n", 1)[1]
    body, signed = open_note(both, [LOG_KEY.verifier, other.verifier])
    assert body == "hello\n"
    assert signed == [LOG_KEY.verifier, other.verifier]
    assert open_note(both, [other.verifier])[1] == [other.verifier]
    # Same name as a known key but another key id: an unknown key, ignored.
    impostor = SigningKey.from_seed(ORIGIN, KEY_TYPE_NOTE, bytes(32))
    forged = note + sign_note("hello\n", impostor).split("\n\n", 1)[1]
    assert open_note(forged, [LOG_KEY.verifier])[1] == [LOG_KEY.verifier]
    # A bad signature from a known key rejects the whole note.
    name, raw = split_note(note)[1][0]
    bad = raw[:4] + bytes(64)
    broken = both + f"— {name} {base64.b64encode(bad).decode()}\n"
    with pytest.raises(VerificationError):
        open_note(broken, [LOG_KEY.verifier, other.verifier])


def test_note_text_may_contain_blank_lines() -> None:
    note = sign_note("a\n\nb\n", LOG_KEY)
    assert open_note(note, [LOG_KEY.verifier])[0] == "a\n\nb\n"


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("hello\n— a AAAAAAAA\n", "blank line"),
        ("hello\n\n— a AAAAAAAA", "end with a newline"),
        ("hello\n\n- a AAAAAAAA\n", "em dash"),
        ("hello\n\n— a b AAAAAAAA\n", "'— <name>"),
        ("hello\n\n— a AAAAAAA\n", "base64"),
        ("hello\n\n— a AAAA\n", "4-byte key id"),
        ("hello\n\n— a+b AAAAAAAA\n", r"'\+'"),
        ("hel\tlo\n\n— a AAAAAAAA\n", "control"),
        ("hello\n\n" + "— a AAAAAAAA\n" * 101, "more than 100"),
        ("x" * 70_000 + "\n\n— a AAAAAAAA\n", "longer"),
        ("\ud800\n\n— a AAAAAAAA\n", "UTF-8"),
    ],
)
def test_split_note_rejects(note: str, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        open_note(note, [LOG_KEY.verifier])


def test_sign_note_refuses_bad_text_and_cosigner_keys() -> None:
    with pytest.raises(MalformedError, match="newline"):
        sign_note("no newline", LOG_KEY)
    with pytest.raises(MalformedError, match="newline"):
        sign_note("", LOG_KEY)
    with pytest.raises(LedgerError, match="not a note key"):
        sign_note("x\n", COSIGNER)


def test_checkpoint_text_parse_and_signed_round_trip() -> None:
    text = CHECKPOINT.text()
    assert text == f"{ORIGIN}\n42\n{base64.b64encode(CHECKPOINT.root).decode()}\n"
    assert Checkpoint.parse(text) == CHECKPOINT
    note = sign_checkpoint(CHECKPOINT, LOG_KEY)
    assert note.startswith(text + "\n— jcg.example/hotline/ccg ")
    assert open_checkpoint(note, [LOG_KEY.verifier]) == CHECKPOINT
    with pytest.raises(VerificationError):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), [LOG_KEY.verifier])
    empty = Checkpoint(ORIGIN, 0, leaf_hash(b""))
    assert Checkpoint.parse(empty.text()) == empty


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"{ORIGIN}\n42\n", "three lines"),
        (f"{ORIGIN}\n42\nAAAA\nextension\n", "three lines"),
        (f"{ORIGIN}\n42\n{'A' * 43}=", "three lines"),
        (f"\n42\n{'A' * 43}=\n", "origin is empty"),
        (f" {ORIGIN}\n42\n{'A' * 43}=\n", "outer spaces"),
        (f"{ORIGIN}\n042\n{'A' * 43}=\n", "not a decimal"),
        (f"{ORIGIN}\n-1\n{'A' * 43}=\n", "not a decimal"),
        (f"{ORIGIN}\n+1\n{'A' * 43}=\n", "not a decimal"),
        (f"{ORIGIN}\n{2**63}\n{'A' * 43}=\n", "outside"),
        (f"{ORIGIN}\n{'9' * 30}\n{'A' * 43}=\n", "not a decimal"),
        (f"{ORIGIN}\n42\nAAAA\n", "not 32"),
        (f"{ORIGIN}\n42\n{'A' * 43}\n", "base64"),
        (f"{ORIGIN}\n42\n{'A' * 42}B=\n", "canonical base64"),
    ],
)
def test_checkpoint_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        Checkpoint.parse(text)


def test_checkpoint_fields_are_checked() -> None:
    with pytest.raises(MalformedError, match="32 bytes"):
        Checkpoint(ORIGIN, 1, b"short")
    with pytest.raises(MalformedError, match="outside"):
        Checkpoint(ORIGIN, -1, CHECKPOINT.root)
    with pytest.raises(MalformedError, match="newline"):
        Checkpoint("a\nb", 1, CHECKPOINT.root)


def test_cosignature_round_trip_and_format() -> None:
    line = cosign(CHECKPOINT, COSIGNER, 1_700_000_000)
    assert line.startswith("— ccg.example/witness ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert len(raw) == 76
    assert raw[:4] == COSIGNER.verifier.key_id
    assert int.from_bytes(raw[4:12], "big") == 1_700_000_000
    message = f"cosignature/v1\ntime 1700000000\n{CHECKPOINT.text()}".encode()
    COSIGNER.verifier.verify(message, raw[12:])
    assert verify_cosignature(CHECKPOINT, line, COSIGNER.verifier) == 1_700_000_000
    assert verify_cosignature(CHECKPOINT, line.rstrip("\n"), COSIGNER.verifier) == 1_700_000_000
    # A cosignature line appended to the checkpoint note is an unknown key to note verifiers.
    note = sign_checkpoint(CHECKPOINT, LOG_KEY) + line
    assert open_checkpoint(note, [LOG_KEY.verifier, COSIGNER.verifier]) == CHECKPOINT


def test_cosignature_rejections() -> None:
    line = cosign(CHECKPOINT, COSIGNER, 1_700_000_000)
    other = Checkpoint(ORIGIN, 43, CHECKPOINT.root)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignature(other, line, COSIGNER.verifier)
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # another time
    moved = f"— ccg.example/witness {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignature(CHECKPOINT, moved, COSIGNER.verifier)
    stranger = SigningKey.from_seed("ccg.example/witness", KEY_TYPE_COSIGNATURE, bytes(32))
    with pytest.raises(SignatureError, match="not by"):
        verify_cosignature(CHECKPOINT, line, stranger.verifier)
    with pytest.raises(VerificationError, match="not a cosigner key"):
        verify_cosignature(CHECKPOINT, line, LOG_KEY.verifier)
    short = f"— ccg.example/witness {base64.b64encode(bytes(raw[:40])).decode()}\n"
    with pytest.raises(MalformedError, match="76"):
        verify_cosignature(CHECKPOINT, short, COSIGNER.verifier)
    with pytest.raises(MalformedError, match="one line"):
        verify_cosignature(CHECKPOINT, line + line, COSIGNER.verifier)
    with pytest.raises(LedgerError, match="cosigner key"):
        cosign(CHECKPOINT, LOG_KEY, 1)
    with pytest.raises(LedgerError, match="outside"):
        cosign(CHECKPOINT, COSIGNER, -1)


# --- S10 at CI size: random and mutated inputs raise only MalformedError / VerificationError ---

_NOTE = sign_checkpoint(CHECKPOINT, LOG_KEY) + cosign(CHECKPOINT, COSIGNER, 1_700_000_000)
_LINE = cosign(CHECKPOINT, COSIGNER, 1_700_000_000)


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few characters replaced, inserted or deleted."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        char = draw(st.characters(codec="utf-8") | st.sampled_from(list("\n —+=/A0")))
        if action == "insert" or position == len(chars):
            chars.insert(position, char)
        elif action == "replace":
            chars[position] = char
        else:
            del chars[position]
    return "".join(chars)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200) | _mutated(_NOTE))
def test_s10_open_checkpoint_only_raises_ledger_errors(text: str) -> None:
    try:
        checkpoint = open_checkpoint(text, [LOG_KEY.verifier, COSIGNER.verifier])
    except (MalformedError, VerificationError):
        return
    assert checkpoint == CHECKPOINT  # only harmless edits (e.g. in an unknown signature) pass


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120) | _mutated(_LINE))
def test_s10_verify_cosignature_only_raises_ledger_errors(text: str) -> None:
    try:
        time_s = verify_cosignature(CHECKPOINT, text, COSIGNER.verifier)
    except (MalformedError, VerificationError):
        return
    assert time_s == 1_700_000_000


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=150) | _mutated(CHECKPOINT.text()))
def test_s10_checkpoint_parse_only_raises_malformed(text: str) -> None:
    try:
        checkpoint = Checkpoint.parse(text)
    except MalformedError:
        return
    assert checkpoint.text() == text
