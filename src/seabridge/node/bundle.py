"""The public peer bundle: what one node gives the other so that they can talk.

A bundle is one JSON object (UTF-8)::

    {"format": "seabridge-peer-bundle/v1",
     "party": "jcg",
     "name": "Japan Coast Guard, Tokyo",
     "endpoints": ["https://203.0.113.5:8443", "https://198.51.100.9:8443"],
     "log_vkey": "jcg/hotline+<key id>+<base64>",
     "cosigner_vkey": "jcg/hotline/cosigner+<key id>+<base64>",
     "ca_pem": "-----BEGIN CERTIFICATE-----\\n...",
     "ca_pin": "<base64 SHA-256 of the CA's SubjectPublicKeyInfo>",
     "created": "2026-05-01T00:00:00Z"}

Only public material: the verifier keys, the CA certificate and the endpoints. Nothing secret
ever leaves the node. ``ca_pin`` lets the operators compare the pin over another channel
(telephone, paper) before importing. Reading a bundle checks every field and that the pin is
the CA's; errors are :class:`~seabridge.errors.InputError` naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from seabridge.clock import Clock
from seabridge.errors import ConfigError, InputError, LedgerError
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, parse_vkey
from seabridge.node import tls
from seabridge.node.directory import (
    NodeConfig,
    add_peer,
    cosigner_key_name,
    log_key_name,
    parse_endpoint,
)
from seabridge.packs import SLUG_PATTERN
from seabridge.units import iso_to_ms, ms_to_iso

__all__ = ["BUNDLE_FORMAT", "PeerBundle", "export_bundle", "import_bundle", "read_bundle"]

BUNDLE_FORMAT: Final = "seabridge-peer-bundle/v1"
_FIELDS: Final = (
    "format",
    "party",
    "name",
    "endpoints",
    "log_vkey",
    "cosigner_vkey",
    "ca_pem",
    "ca_pin",
    "created",
)


@dataclass(frozen=True, slots=True)
class PeerBundle:
    """A node's public peer bundle (format in the module docstring)."""

    party: str
    name: str
    endpoints: tuple[str, ...]
    log_vkey: str
    cosigner_vkey: str
    ca_pem: str
    ca_pin: str
    created: str

    def to_json(self) -> str:
        """The bundle file's text (indented JSON, keys in the documented order)."""
        document = {
            "format": BUNDLE_FORMAT,
            "party": self.party,
            "name": self.name,
            "endpoints": list(self.endpoints),
            "log_vkey": self.log_vkey,
            "cosigner_vkey": self.cosigner_vkey,
            "ca_pem": self.ca_pem,
            "ca_pin": self.ca_pin,
            "created": self.created,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def export_bundle(node: NodeConfig, clock: Clock) -> PeerBundle:
    """The public bundle of ``node``, dated by ``clock``; keys and CA read from its files."""
    ca_pem = node.ca_pem()
    return PeerBundle(
        party=node.party,
        name=node.name,
        endpoints=node.endpoints,
        log_vkey=node.log_key().verifier.vkey(),
        cosigner_vkey=node.cosigner_key().verifier.vkey(),
        ca_pem=ca_pem.decode("ascii"),
        ca_pin=tls.spki_pin(tls.parse_ca(ca_pem, str(node.dir.tls_ca))),
        created=ms_to_iso(clock.now_ms()),
    )


def read_bundle(path: Path) -> PeerBundle:
    """Read and validate a bundle file.

    Raises:
        InputError: the file cannot be read, is not JSON, or a field is missing, unknown or
            invalid (a vkey of the wrong name or type, a pin that is not the CA's, ...).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the bundle ({exc})") from None
    return parse_bundle(text, str(path))


def parse_bundle(text: str, source: str = "bundle") -> PeerBundle:
    """Validate a bundle's JSON text; errors name ``source`` and the field."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict):
        raise InputError(f"{source}: a bundle is a JSON object")
    unknown = sorted(set(document) - set(_FIELDS))
    if unknown:
        raise InputError(f"{source}: unknown field {unknown[0]!r}")
    fields = _Fields(document, source)
    if fields.text("format") != BUNDLE_FORMAT:
        raise fields.error("format", f"is not {BUNDLE_FORMAT} (not a Seabridge peer bundle)")
    party = fields.text("party")
    if not SLUG_PATTERN.fullmatch(party):
        raise fields.error("party", f"{party!r} is not a lower-case party id")
    endpoints = fields.endpoints()
    fields.vkey("log_vkey", log_key_name(party), KEY_TYPE_NOTE)
    fields.vkey("cosigner_vkey", cosigner_key_name(party), KEY_TYPE_COSIGNATURE)
    ca_pem = fields.text("ca_pem")
    try:
        pin = tls.spki_pin(tls.parse_ca(ca_pem.encode("ascii", "replace"), f"{source}: ca_pem"))
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    if fields.text("ca_pin") != pin:
        raise fields.error("ca_pin", f"is not the pin of ca_pem ({pin}); the bundle is corrupt")
    created = fields.text("created")
    try:
        iso_to_ms(created)
    except ValueError:
        raise fields.error("created", f"{created!r} is not an ISO 8601 time") from None
    return PeerBundle(
        party=party,
        name=fields.text("name"),
        endpoints=endpoints,
        log_vkey=fields.text("log_vkey"),
        cosigner_vkey=fields.text("cosigner_vkey"),
        ca_pem=ca_pem,
        ca_pin=pin,
        created=created,
    )


class _Fields:
    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self._document = document
        self._source = source

    def error(self, key: str, problem: str) -> InputError:
        return InputError(f"{self._source}: {key}: {problem}")

    def text(self, key: str) -> str:
        if key not in self._document:
            raise InputError(f"{self._source}: missing field {key!r}")
        value = self._document[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "expected a non-empty string")
        return value

    def endpoints(self) -> tuple[str, ...]:
        value = self._document.get("endpoints")
        if not isinstance(value, list) or not value:
            raise self.error("endpoints", "expected a list of https:// URLs, primary first")
        for i, url in enumerate(value):
            if not isinstance(url, str):
                raise self.error(f"endpoints[{i}]", "expected a URL string")
            try:
                parse_endpoint(url)
            except ConfigError as exc:
                raise self.error(f"endpoints[{i}]", str(exc)) from None
        if len(set(value)) != len(value):
            raise self.error("endpoints", "lists a URL twice")
        return tuple(value)

    def vkey(self, key: str, name: str, key_type: int) -> None:
        try:
            verifier = parse_vkey(self.text(key))
        except LedgerError as exc:
            raise self.error(key, str(exc)) from None
        if verifier.name != name or verifier.key_type != key_type:
            raise self.error(
                key,
                f"is key {verifier.name!r} of type {verifier.key_type:#04x}; "
                f"expected {name!r} of type {key_type:#04x}",
            )


def import_bundle(
    node: NodeConfig, bundle: PeerBundle, clock: Clock, *, replace: bool = False
) -> NodeConfig:
    """Add the bundle's node as a peer of ``node`` (``seabridge peer add``).

    Raises:
        ConfigError: the bundle is our own party's, or a different peer of its party is
            configured and ``replace`` is false. Importing the same bundle again is a no-op.
    """
    return add_peer(
        node,
        party=bundle.party,
        name=bundle.name,
        endpoints=bundle.endpoints,
        log_vkey=bundle.log_vkey,
        cosigner_vkey=bundle.cosigner_vkey,
        ca_pem=bundle.ca_pem.encode("ascii"),
        added=ms_to_iso(clock.now_ms()),
        replace=replace,
    )
