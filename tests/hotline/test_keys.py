"""Ed25519 keys: RFC 8032 vectors (S4), rejections, C2SP key IDs and vkeys, the 0600 key file."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.errors import LedgerError, MalformedError, SignatureError
from seabridge.hotline.keys import (
    KEY_TYPE_COSIGNATURE,
    KEY_TYPE_NOTE,
    SigningKey,
    Verifier,
    parse_vkey,
)

# RFC 8032 §7.1, TEST 1-3: (secret key, public key, message, signature), hex.
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_s4_rfc8032_vectors(secret: str, public: str, message: str, signature: str) -> None:
    key = SigningKey.from_seed("rfc8032.example/test", KEY_TYPE_NOTE, bytes.fromhex(secret))
    assert key.verifier.public.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    key.verifier.verify(bytes.fromhex(message), bytes.fromhex(signature))


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_s4_every_flipped_bit_and_the_wrong_key_rejected(
    secret: str, public: str, message: str, signature: str
) -> None:
    verifier = Verifier("rfc8032.example/test", KEY_TYPE_NOTE, bytes.fromhex(public))
    msg, sig = bytes.fromhex(message), bytes.fromhex(signature)
    for bit in range(len(sig) * 8):
        with pytest.raises(SignatureError):
            verifier.verify(msg, _flip(sig, bit))
    for bit in range(len(msg) * 8):
        with pytest.raises(SignatureError):
            verifier.verify(_flip(msg, bit), sig)
    for other_secret, other_public, _, _ in RFC8032:
        if other_secret != secret:
            wrong = Verifier("rfc8032.example/test", KEY_TYPE_NOTE, bytes.fromhex(other_public))
            with pytest.raises(SignatureError, match="does not verify"):
                wrong.verify(msg, sig)
    with pytest.raises(SignatureError, match="63 bytes"):
        verifier.verify(msg, sig[:-1])
    with pytest.raises(SignatureError):
        verifier.verify(msg + b"\x00", sig)


def test_key_id_and_vkey_follow_c2sp_signed_note() -> None:
    key = SigningKey.from_seed("jcg.example/hotline/ccg", KEY_TYPE_NOTE, bytes(range(32)))
    verifier = key.verifier
    expected = hashlib.sha256(b"jcg.example/hotline/ccg\n\x01" + verifier.public).digest()[:4]
    assert verifier.key_id == expected
    name, key_id, encoded = verifier.vkey().split("+", 2)
    assert (name, key_id) == ("jcg.example/hotline/ccg", expected.hex())
    assert base64.b64decode(encoded) == b"\x01" + verifier.public
    assert parse_vkey(verifier.vkey()) == verifier
    cosigner = Verifier(verifier.name, KEY_TYPE_COSIGNATURE, verifier.public)
    assert cosigner.key_id != verifier.key_id  # the type byte separates them
    assert parse_vkey(cosigner.vkey()) == cosigner


def test_a_known_vkey_from_the_go_note_package() -> None:
    # golang.org/x/mod/sumdb/note documentation example (a published verifier key).
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    verifier = parse_vkey(vkey)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_type == KEY_TYPE_NOTE
    assert verifier.vkey() == vkey


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a+b", "three parts"),
        ("a+b+c+d", "8 lowercase hex"),
        ("name+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"),
        ("name+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"),
        ("name+c74f20a3+!!!!", "base64"),
        ("name+c74f20a3+AAAA", "33"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3+AhpdmQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key type"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "non-empty"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "spaces"),
    ],
)
def test_parse_vkey_rejects(text: str, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        parse_vkey(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")))
def test_parse_vkey_only_ever_raises_malformed(text: str) -> None:
    try:
        verifier = parse_vkey(text)
    except MalformedError:
        return
    assert verifier.vkey() == text


def test_verifier_and_key_refuse_bad_fields() -> None:
    with pytest.raises(MalformedError, match="32 bytes"):
        Verifier("a", KEY_TYPE_NOTE, b"\x00" * 31)
    with pytest.raises(MalformedError, match="key type"):
        Verifier("a", 2, b"\x00" * 32)
    with pytest.raises(MalformedError, match=r"'\+'"):
        SigningKey.generate("a+b")
    with pytest.raises(MalformedError, match="seed"):
        SigningKey.from_seed("a", KEY_TYPE_NOTE, b"short")


def test_save_is_0600_refuses_to_overwrite_and_loads_back(tmp_path: Path) -> None:
    key = SigningKey.generate("ccg.example/受信", KEY_TYPE_COSIGNATURE)
    path = tmp_path / "cosigner.key"
    key.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text(encoding="utf-8").startswith(
        "seabridge-signing-key/v1 04 ccg.example/受信\n"
    )
    loaded = SigningKey.load(path)
    assert loaded.verifier == key.verifier
    assert loaded.key_type == KEY_TYPE_COSIGNATURE
    loaded.verifier.verify(b"m", key.sign(b"m"))
    with pytest.raises(LedgerError, match="refusing to overwrite"):
        SigningKey.generate("other").save(path)
    assert SigningKey.load(path).verifier == key.verifier
    assert "PRIVATE" not in repr(key) and key.verifier.vkey() in repr(key)


def test_save_ignores_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        SigningKey.generate("a").save(tmp_path / "k")
    finally:
        os.umask(old)
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600


def test_load_refuses_a_key_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    SigningKey.generate("jcg.example/log").save(path)
    path.chmod(0o640)
    with pytest.raises(LedgerError, match="chmod 600"):
        SigningKey.load(path)
    with pytest.raises(LedgerError, match="cannot read"):
        SigningKey.load(tmp_path / "missing.key")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "header"),
        (b"garbage\n", "header"),
        (b"seabridge-signing-key/v1 01\n", "header"),
        (b"seabridge-signing-key/v1 01 \xff\n", "header"),
        (b"seabridge-signing-key/v1 zz name\n-----BEGIN", "invalid"),
        (b"seabridge-signing-key/v1 01 name\nnot pem", "invalid"),
        (b"seabridge-signing-key/v1 02 name\n", "invalid|key type"),
        (b"seabridge-signing-key/v1 01 a+b\n", "invalid|'\\+'"),
    ],
)
def test_load_rejects_bad_content(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(MalformedError, match=reason):
        SigningKey.load(path)


def test_load_rejects_a_non_ed25519_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "ec.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"seabridge-signing-key/v1 01 name\n" + pem)
    os.close(fd)
    with pytest.raises(MalformedError, match="not Ed25519"):
        SigningKey.load(path)
