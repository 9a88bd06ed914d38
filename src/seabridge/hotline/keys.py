"""Ed25519 signing keys and C2SP signed-note verifier keys (vkeys).

A key has a name (a schema-less URL such as ``jcg.example/hotline/ccg``) and a signature type:
:data:`KEY_TYPE_NOTE` (0x01) for entries and checkpoints, :data:`KEY_TYPE_COSIGNATURE` (0x04) for
receipts (C2SP ``tlog-cosignature`` requires a separate key). The key ID is
``SHA-256(name || 0x0A || type || public key)[:4]`` (C2SP ``signed-note``).

Key file (:meth:`SigningKey.save`): one header line, then the private key as PEM PKCS#8::

    seabridge-signing-key/v1 <type, 2 hex digits> <name>
    -----BEGIN PRIVATE KEY-----
    ...

Created with mode 0600 and never overwritten; :meth:`SigningKey.load` refuses a file that group
or others can read. No key material is ever logged or exported by this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from seabridge.errors import LedgerError, MalformedError, SignatureError

__all__ = [
    "KEY_TYPES",
    "KEY_TYPE_COSIGNATURE",
    "KEY_TYPE_NOTE",
    "SigningKey",
    "Verifier",
    "check_key_name",
    "parse_vkey",
]

KEY_TYPE_NOTE = 0x01
"""Ed25519 signatures over a note's text (C2SP signed-note)."""

KEY_TYPE_COSIGNATURE = 0x04
"""Timestamped Ed25519 cosignatures (C2SP tlog-cosignature)."""

KEY_TYPES = (KEY_TYPE_NOTE, KEY_TYPE_COSIGNATURE)
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
MAX_NAME = 255
_FILE_MAGIC = "seabridge-signing-key/v1"


def check_key_name(name: str) -> None:
    """Refuse a key name C2SP signed-note forbids: empty, spaces, '+', control characters.

    Raises:
        MalformedError: the name says what is wrong.
    """
    if not isinstance(name, str) or not name:
        raise MalformedError("a key name must be a non-empty string")
    if len(name) > MAX_NAME:
        raise MalformedError(f"key name is longer than {MAX_NAME} characters")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedError(f"key name {name!r} is not valid UTF-8 text") from None
    for char in name:
        if char == "+" or char.isspace() or ord(char) < 0x20 or char == "\x7f":
            raise MalformedError(
                f"key name {name!r} contains {char!r} (no spaces, '+' or controls)"
            )


def _check_key_type(key_type: int) -> None:
    if key_type not in KEY_TYPES:
        raise MalformedError(f"key type {key_type!r} is not 0x01 (note) or 0x04 (cosignature)")


@dataclass(frozen=True)
class Verifier:
    """A public key with its name and signature type; verifies Ed25519 signatures."""

    name: str
    key_type: int
    public: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_key_type(self.key_type)
        if not isinstance(self.public, bytes) or len(self.public) != PUBLIC_KEY_SIZE:
            raise MalformedError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")

    @property
    def key_id(self) -> bytes:
        """SHA-256(name || 0x0A || type || public)[:4] (C2SP signed-note)."""
        material = self.name.encode() + b"\n" + bytes([self.key_type]) + self.public
        return hashlib.sha256(material).digest()[:4]

    def vkey(self) -> str:
        """The C2SP verifier key: ``name+<8 hex key id>+base64(type || public)``."""
        encoded = base64.b64encode(bytes([self.key_type]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature over ``message``.

        Raises:
            SignatureError: the signature is not 64 bytes or does not verify.
        """
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(f"signature by {self.name} is {len(signature)} bytes, not 64")
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise SignatureError(f"signature by {self.name} does not verify") from None


def parse_vkey(text: str) -> Verifier:
    """Parse a C2SP verifier key ``name+keyid+base64(type || public)``, checking the key ID.

    Raises:
        MalformedError: the text is not a valid vkey of a supported type.
    """
    parts = text.split("+", 2)  # standard base64 may itself contain '+'
    if len(parts) != 3:
        raise MalformedError("a vkey is name+keyid+key (three parts separated by '+')")
    name, key_hex, encoded = parts
    if len(key_hex) != 8 or any(c not in "0123456789abcdef" for c in key_hex):
        raise MalformedError(f"vkey key id {key_hex[:16]!r} is not 8 lowercase hex digits")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedError("vkey key is not standard base64") from None
    if len(raw) != 1 + PUBLIC_KEY_SIZE:
        raise MalformedError(f"vkey key is {len(raw)} bytes; type + Ed25519 key is 33")
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_id.hex() != key_hex:
        raise MalformedError(
            f"vkey key id {key_hex} does not match the key ({verifier.key_id.hex()})"
        )
    return verifier


class SigningKey:
    """An Ed25519 private key with its name and signature type."""

    def __init__(self, name: str, key_type: int, private: Ed25519PrivateKey) -> None:
        check_key_name(name)
        _check_key_type(key_type)
        self._name = name
        self._key_type = key_type
        self._private = private
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._verifier = Verifier(name, key_type, public)

    @classmethod
    def generate(cls, name: str, key_type: int = KEY_TYPE_NOTE) -> SigningKey:
        """A fresh key from the operating system's random source."""
        return cls(name, key_type, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, key_type: int, seed: bytes) -> SigningKey:
        """The key of a 32-byte RFC 8032 seed (test vectors, deterministic fixtures)."""
        if len(seed) != PUBLIC_KEY_SIZE:
            raise MalformedError("an Ed25519 seed is 32 bytes")
        return cls(name, key_type, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_type(self) -> int:
        return self._key_type

    @property
    def verifier(self) -> Verifier:
        """The public half."""
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def __repr__(self) -> str:  # never the private key
        return f"SigningKey({self._verifier.vkey()!r})"

    def save(self, path: Path) -> None:
        """Write the key file (format in the module docstring) with mode 0600.

        Raises:
            LedgerError: the file already exists (keys are never overwritten) or cannot be written.
        """
        pem = self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        header = f"{_FILE_MAGIC} {self._key_type:02x} {self._name}\n".encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise LedgerError(f"{path}: a key file exists already; refusing to overwrite") from None
        except OSError as exc:
            raise LedgerError(f"{path}: cannot create the key file ({exc.strerror})") from None
        try:
            os.fchmod(fd, 0o600)  # the umask can only remove bits; be explicit anyway
            os.write(fd, header + pem)
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Read a key file written by :meth:`save`.

        Raises:
            LedgerError: the file cannot be read, or group/others may read it (chmod 600 it).
            MalformedError: the content is not a Seabridge key file.
        """
        try:
            mode = path.stat().st_mode
            data = path.read_bytes()
        except OSError as exc:
            raise LedgerError(f"{path}: cannot read the key file ({exc.strerror})") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise LedgerError(
                f"{path}: key file mode is {stat.S_IMODE(mode):04o}; run chmod 600 on it"
            )
        header, _, pem = data.partition(b"\n")
        try:
            fields = header.decode("utf-8").split(" ")
        except UnicodeDecodeError:
            fields = []
        if len(fields) != 3 or fields[0] != _FILE_MAGIC:
            raise MalformedError(f"{path}: not a Seabridge key file (bad header line)")
        try:
            key_type = int(fields[1], 16)
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise MalformedError(
                f"{path}: the key type or the PEM private key is invalid"
            ) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise MalformedError(f"{path}: the private key is not Ed25519")
        return cls(fields[2], key_type, private)
