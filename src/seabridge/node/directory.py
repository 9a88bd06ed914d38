"""The node directory: where a node keeps its configuration, keys and state, and ``node.toml``.

Layout (``DESIGN.md``, "The node directory")::

    DIR/node.toml               see below
    DIR/keys/log.key            Ed25519 log key, name "{party}/hotline" (0600)
    DIR/keys/cosigner.key       Ed25519 cosigner key, name "{party}/hotline/cosigner" (0600)
    DIR/keys/<role>-<n>.key     retired keys after rotation, n = 1, 2, ... (never deleted)
    DIR/keys/tls-ca.pem         the node's CA certificate; tls-ca.key its key (0600)
    DIR/keys/tls.pem            node certificate + CA (chain); tls.key its key (0600)
    DIR/keys/console.pem        the console's certificate from that CA, console.key its key
                                (0600): seabridge serve --console-tls self (node.consoletls)
    DIR/peers/<party>/ca.pem    a peer's CA certificate (pinned in node.toml)
    DIR/state.sqlite            the ledger (created by the hotline, not here)
    DIR/tracks.duckdb           the track store (created by the track store, not here)
    DIR/quarantine/, DIR/reports/

``node.toml`` (format 1)::

    [node]
    format = 1
    party = "jcg"                       # lower-case party id
    name = "Japan Coast Guard, Tokyo"   # display name, sent to peers
    created = "2026-05-01T00:00:00Z"
    packs = ["ecs"]                     # packs in use: built-in names or directories

    [federation]                        # the peer-facing listener (mutual TLS)
    listen = "127.0.0.1:8443"
    endpoints = ["https://127.0.0.1:8443"]  # where peers reach it: primary, then backups

    [console]                           # the operators' listener, separate
    listen = "127.0.0.1:8080"
    tls_cert = "keys/console.pem"       # optional: serve it over HTTPS (PEM chain, leaf first)
    tls_key = "keys/console.key"        # both or neither; relative to DIR or absolute
    tls_ca = "ca.pem"                   # optional: the PEM clients verify it with (default:
                                        # keys/tls-ca.pem when the node's CA issued tls_cert)

    [[peer]]                            # one per peer party, written by `seabridge peer add`
    party = "ccg"
    name = "China Coast Guard"
    endpoints = ["https://198.51.100.7:8443"]
    log_vkey = "ccg/hotline+<key id>+<base64>"            # C2SP vkeys
    cosigner_vkey = "ccg/hotline/cosigner+<key id>+<base64>"
    ca = "peers/ccg/ca.pem"
    ca_pin = "<base64 SHA-256 of the CA's SubjectPublicKeyInfo>"
    added = "2026-05-01T00:10:00Z"

    [[source]]                          # AIS sources `seabridge serve` reads (optional)
    url = "tcp://127.0.0.1:10110"       # a path (file or directory), tcp:// or udp://
    silent_after = 600                  # seconds of silence before a feed-health event
    [[source]]
    simulator = "ecs-mini"              # or a built-in scenario, paced at `speed`
    speed = 60                          # (format: seabridge.node.sources)

    [settings]                          # optional overrides of docs/settings.md

This module creates and reads the directory and validates ``node.toml``: every problem is a
:class:`~seabridge.errors.ConfigError` naming the file and the field. It must not import the
web layer or the CLI, and it never writes key material anywhere but ``keys/``.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from seabridge.clock import Clock
from seabridge.config import Settings, load_settings
from seabridge.errors import ConfigError, LedgerError, PackError, UnknownPeerError
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey, parse_vkey
from seabridge.node import tls
from seabridge.node._files import replace_file, write_toml
from seabridge.node.sources import SourceConfig, parse_source
from seabridge.packs import SLUG_PATTERN, Fields, Where, load_pack
from seabridge.units import ms_to_iso

__all__ = [
    "NODE_FORMAT",
    "ROLES",
    "Address",
    "ConsoleTLS",
    "KeyRole",
    "NodeConfig",
    "NodeDir",
    "PeerConfig",
    "add_peer",
    "cosigner_key_name",
    "expected_key",
    "init_node",
    "load_node",
    "log_key_name",
    "log_origin",
    "parse_address",
    "parse_endpoint",
]

NODE_FORMAT: Final = 1
"""``[node] format`` of the node.toml this module writes and reads."""
KeyRole = Literal["log", "cosigner"]
ROLES: Final[tuple[KeyRole, ...]] = ("log", "cosigner")
_WILDCARDS: Final = frozenset({"0.0.0.0", "::", ""})


def log_key_name(party: str) -> str:
    """The log key's name: ``{party}/hotline``."""
    return f"{party}/hotline"


def cosigner_key_name(party: str) -> str:
    """The cosigner key's name: ``{party}/hotline/cosigner``."""
    return f"{party}/hotline/cosigner"


def log_origin(party: str, peer: str) -> str:
    """The origin of ``party``'s log on its channel to ``peer``: ``{party}/hotline/{peer}``."""
    return f"{party}/hotline/{peer}"


@dataclass(frozen=True, slots=True)
class NodeDir:
    """The paths of a node directory (nothing is read or checked)."""

    root: Path

    @property
    def toml(self) -> Path:
        return self.root / "node.toml"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def log_key(self) -> Path:
        return self.keys / "log.key"

    @property
    def cosigner_key(self) -> Path:
        return self.keys / "cosigner.key"

    def key(self, role: KeyRole) -> Path:
        """The current key file of ``role`` (``log`` or ``cosigner``)."""
        return self.keys / f"{_role(role)}.key"

    def retired_key(self, role: KeyRole, number: int) -> Path:
        """``keys/<role>-<n>.key``: the n-th key of ``role`` retired by a rotation."""
        return self.keys / f"{_role(role)}-{number}.key"

    @property
    def tls_ca(self) -> Path:
        return self.keys / "tls-ca.pem"

    @property
    def tls_ca_key(self) -> Path:
        return self.keys / "tls-ca.key"

    @property
    def tls_cert(self) -> Path:
        return self.keys / "tls.pem"

    @property
    def tls_key(self) -> Path:
        return self.keys / "tls.key"

    @property
    def peers(self) -> Path:
        return self.root / "peers"

    def peer_ca(self, party: str) -> Path:
        return self.peers / party / "ca.pem"

    @property
    def state(self) -> Path:
        return self.root / "state.sqlite"

    @property
    def tracks(self) -> Path:
        return self.root / "tracks.duckdb"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


def _role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown key role {role!r}; roles: {', '.join(ROLES)}")
    return role


@dataclass(frozen=True, slots=True)
class Address:
    """A listen address: host and TCP port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def wildcard(self) -> bool:
        """Whether the address listens on every interface."""
        return self.host in _WILDCARDS


def parse_address(text: str, what: str = "address") -> Address:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as an :class:`Address`.

    Raises:
        ConfigError: naming ``what`` when the text is not HOST:PORT with a port 1-65535.
    """
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]\s]*):(\d{1,5})", text)
    if match is None:
        raise ConfigError(f"{what} {text!r} is not HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443)")
    host = match.group(1) if match.group(1) is not None else match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 1 <= port <= 65535:
        raise ConfigError(f"{what} {text!r}: port {port} is not in 1-65535")
    if match.group(1) is not None:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"{what} {text!r}: {host} is not an IPv6 address") from None
    return Address(host or "0.0.0.0", port)


def parse_endpoint(text: str, what: str = "endpoint") -> str:
    """An ``https://HOST[:PORT][/path]`` URL a peer is reached at, returned unchanged.

    Raises:
        ConfigError: naming ``what`` when the URL is not https with a host, or carries a user,
            a query or a fragment.
    """
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{what} {text!r} is not a URL ({exc})") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"{what} {text!r} must be https://HOST[:PORT] (mutual TLS)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{what} {text!r} must not carry a user, a query or a fragment")
    del port  # read only to have urlsplit check it
    return text


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """A peer node this node talks to: what its public bundle said, and where its CA is."""

    party: str
    name: str
    endpoints: tuple[str, ...]
    """Primary URL first, then backups (different network paths)."""
    log_vkey: str
    """C2SP vkey of the peer's log key (entries, checkpoints)."""
    cosigner_vkey: str
    """C2SP vkey of the peer's cosigner key (receipts)."""
    ca_path: Path
    ca_pin: str
    """base64(SHA-256(SubjectPublicKeyInfo)) of the peer's CA certificate."""
    added: str = ""

    @property
    def primary(self) -> str:
        return self.endpoints[0]

    @property
    def backups(self) -> tuple[str, ...]:
        return self.endpoints[1:]


@dataclass(frozen=True, slots=True)
class ConsoleTLS:
    """The console listener's certificate: ``[console] tls_cert``, ``tls_key`` (and ``tls_ca``)."""

    cert: Path
    """PEM: the certificate, then its chain."""
    key: Path
    """PEM: its private key."""
    ca: Path | None = None
    """A PEM clients verify the listener with (``serve.json``'s ``console_ca``); None: the
    system's trust store (a public CA)."""


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """A validated node directory: this node's identity, listeners, packs and peers."""

    dir: NodeDir
    party: str
    name: str
    created: str
    federation_listen: Address
    console_listen: Address
    endpoints: tuple[str, ...]
    """URLs peers reach our federation listener at (primary first); exported in the bundle."""
    packs: tuple[str, ...]
    peers: tuple[PeerConfig, ...] = ()
    settings: Settings = field(default_factory=Settings, compare=False)
    sources: tuple[SourceConfig, ...] = ()
    """The ``[[source]]`` tables: what ``seabridge serve`` ingests."""
    console_tls: ConsoleTLS | None = None
    """HTTPS for the console listener; None: plain HTTP."""

    def peer(self, party: str) -> PeerConfig:
        """The peer of ``party``.

        Raises:
            UnknownPeerError: no such peer (the message lists the known ones).
        """
        for peer in self.peers:
            if peer.party == party:
                return peer
        known = ", ".join(peer.party for peer in self.peers) or "none"
        raise UnknownPeerError(
            f"{self.dir.toml}: no peer {party!r} (peers: {known}); add one with seabridge peer add"
        )

    @property
    def log_key_name(self) -> str:
        return log_key_name(self.party)

    @property
    def cosigner_key_name(self) -> str:
        return cosigner_key_name(self.party)

    def log_origin(self, peer: str) -> str:
        """The origin of our log on the channel to ``peer``."""
        return log_origin(self.party, peer)

    def log_key(self) -> SigningKey:
        """The current log key (``keys/log.key``).

        Raises:
            LedgerError: the file is missing, unreadable or readable by others.
            ConfigError: the key's name or type is not this party's log key.
        """
        return self.signing_key("log")

    def cosigner_key(self) -> SigningKey:
        """The current cosigner key (``keys/cosigner.key``); errors as :meth:`log_key`."""
        return self.signing_key("cosigner")

    def retired_keys(self, role: KeyRole) -> tuple[SigningKey, ...]:
        """The keys of ``role`` retired by rotations, oldest first."""
        found = []
        number = 1
        while self.dir.retired_key(role, number).exists():
            found.append(self.signing_key(role, self.dir.retired_key(role, number)))
            number += 1
        return tuple(found)

    def signing_key(self, role: KeyRole, path: Path | None = None) -> SigningKey:
        """The key of ``role`` in ``path`` (default: the current one), checked to be this
        party's ``role`` key by name and type."""
        path = path if path is not None else self.dir.key(role)
        key = SigningKey.load(path)
        name, key_type = expected_key(self.party, role)
        if key.name != name or key.key_type != key_type:
            raise ConfigError(
                f"{path}: holds key {key.name!r} of type {key.key_type:#04x}; "
                f"the {role} key of {self.party} is {name!r} of type {key_type:#04x}"
            )
        return key

    def ca_pin(self) -> str:
        """Our own CA's SPKI pin (what peers pin)."""
        return tls.spki_pin(tls.parse_ca(self.ca_pem(), str(self.dir.tls_ca)))

    def ca_pem(self) -> bytes:
        """Our own CA certificate (public)."""
        try:
            return self.dir.tls_ca.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{self.dir.tls_ca}: cannot read ({exc.strerror})") from None


def expected_key(party: str, role: KeyRole) -> tuple[str, int]:
    if role == "log":
        return log_key_name(party), KEY_TYPE_NOTE
    return cosigner_key_name(party), KEY_TYPE_COSIGNATURE


# --- init ---------------------------------------------------------------------------------


def init_node(
    directory: Path,
    party: str,
    name: str,
    federation_listen: str,
    console_listen: str,
    clock: Clock,
    *,
    endpoints: Sequence[str] = (),
    packs: Sequence[str] = ("ecs",),
) -> NodeConfig:
    """Create a node directory: node.toml, keys (0600), TLS CA and certificate, folders.

    Args:
        directory: Must not exist, or be empty.
        party: Lower-case party id (``jcg``).
        name: The node's display name, sent to peers in the bundle.
        federation_listen: ``HOST:PORT`` of the federation (peer) listener.
        console_listen: ``HOST:PORT`` of the console listener (must differ).
        clock: Dates ``created`` and the certificates' validity.
        endpoints: URLs peers reach the federation listener at, primary first; default
            ``https://HOST:PORT`` of ``federation_listen`` (required when that is a wildcard).
        packs: Packs in use (built-in names or directories); each must load.

    Raises:
        ConfigError: an argument is invalid or the directory is not empty; nothing is created.
    """
    if not isinstance(party, str) or not SLUG_PATTERN.fullmatch(party):
        raise ConfigError(f"party {party!r} is not a lower-case id (a-z, 0-9, -, _), e.g. jcg")
    if not name.strip():
        raise ConfigError("the node name must not be empty")
    federation = parse_address(federation_listen, "federation listen address")
    console = parse_address(console_listen, "console listen address")
    _check_separate(federation, console, "federation and console listen addresses")
    urls = _default_endpoints(federation, endpoints)
    for pack in packs:
        try:
            load_pack(pack)
        except PackError as exc:
            raise ConfigError(f"pack {pack!r}: {exc}") from None
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ConfigError(
            f"{directory}: exists and is not an empty directory; a node is never initialised "
            "over existing files (choose a new directory)"
        )
    paths = NodeDir(directory.absolute())
    for folder in (paths.root, paths.peers, paths.quarantine, paths.reports):
        folder.mkdir(parents=True, exist_ok=True)
    paths.keys.mkdir(mode=0o700)
    for role in ROLES:
        key_name, key_type = expected_key(party, role)
        SigningKey.generate(key_name, key_type).save(paths.key(role))
    hosts = ["localhost", "127.0.0.1", "::1"]
    hosts += [h for h in (federation.host, *_hosts(urls)) if h not in _WILDCARDS]
    tls.create_tls_files(paths, party, hosts, clock)
    document: dict[str, Any] = {
        "node": {
            "format": NODE_FORMAT,
            "party": party,
            "name": name,
            "created": ms_to_iso(clock.now_ms()),
            "packs": [str(pack) for pack in packs],
        },
        "federation": {"listen": str(federation), "endpoints": list(urls)},
        "console": {"listen": str(console)},
    }
    write_toml(paths.toml, document)
    return load_node(directory)


def _check_separate(a: Address, b: Address, what: str) -> None:
    if a.port == b.port and (a.host == b.host or a.wildcard or b.wildcard):
        raise ConfigError(f"{what} must differ (both are port {a.port}): {a} and {b}")


def _default_endpoints(federation: Address, endpoints: Sequence[str]) -> tuple[str, ...]:
    if endpoints:
        urls = tuple(parse_endpoint(url) for url in endpoints)
        if len(set(urls)) != len(urls):
            raise ConfigError("an endpoint is given twice")
        return urls
    if federation.wildcard:
        raise ConfigError(
            f"the federation listener listens on every interface ({federation}); give the URL "
            "peers reach it at (--endpoint https://HOST:PORT)"
        )
    host = f"[{federation.host}]" if ":" in federation.host else federation.host
    return (f"https://{host}:{federation.port}",)


def _hosts(urls: Sequence[str]) -> list[str]:
    return [host for host in (urlsplit(url).hostname for url in urls) if host]


# --- load ---------------------------------------------------------------------------------


@contextmanager
def _as_config_errors() -> Iterator[None]:
    """The field readers of :mod:`seabridge.packs` raise PackError; node.toml is config."""
    try:
        yield
    except PackError as exc:
        raise ConfigError(str(exc)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: not found; is {path.parent} a node directory (seabridge node init)?"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def load_node(directory: Path) -> NodeConfig:
    """Read and validate ``DIR/node.toml``, including each peer's CA file against its pin.

    Raises:
        ConfigError: the file is missing or invalid; the message names the file and the field
            (e.g. ``node.toml: peer[0].log_vkey: ...``).
    """
    paths = NodeDir(directory.absolute())
    document = _read_toml(paths.toml)
    where = Where(str(paths.toml))
    with _as_config_errors():
        top = Fields(document, where)
        head = top.table("node")
        version = head.integer("format")
        if version != NODE_FORMAT:
            raise head.at("format").error(f"format {version} is not supported (expected 1)")
        party = head.text("party", pattern=SLUG_PATTERN, what="a lower-case party id")
        name = head.text("name")
        created = head.text("created")
        packs = tuple(_strings(head, "packs"))
        head.finish()
        federation_table = top.table("federation")
        federation = _address(federation_table, "listen")
        endpoints = _endpoints(federation_table)
        federation_table.finish()
        console_table = top.table("console")
        console = _address(console_table, "listen")
        console_tls = _console_tls(console_table, paths)
        console_table.finish()
        peers = tuple(
            _peer(table, paths, party) for table in (top.tables("peer") if top.has("peer") else [])
        )
        seen = [peer.party for peer in peers]
        if len(set(seen)) != len(seen):
            raise top.at("peer").error("a party is listed twice; one [[peer]] per party")
        sources = tuple(
            parse_source(t) for t in (top.tables("source") if top.has("source") else [])
        )
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise top.at("source").error("two sources have the same name; give each a name")
        top.raw("settings", {})
        top.finish()
    try:
        _check_separate(federation, console, "federation.listen and console.listen")
    except ConfigError as exc:
        raise ConfigError(f"{paths.toml}: {exc}") from None
    return NodeConfig(
        dir=paths,
        party=party,
        name=name,
        created=created,
        federation_listen=federation,
        console_listen=console,
        endpoints=endpoints,
        packs=packs,
        peers=peers,
        settings=load_settings(paths.toml),
        sources=sources,
        console_tls=console_tls,
    )


def _strings(table: Fields, key: str) -> list[str]:
    where = table.at(key)
    items = table.array(key)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise where.index(i).error("expected a non-empty string")
    return items


def _address(table: Fields, key: str) -> Address:
    text = table.text(key)
    try:
        return parse_address(text)
    except ConfigError as exc:
        raise table.at(key).error(str(exc)) from None


def _console_tls(table: Fields, paths: NodeDir) -> ConsoleTLS | None:
    """``tls_cert`` + ``tls_key`` (both or neither) and the optional ``tls_ca``, each a readable
    PEM file (relative paths are inside the node directory)."""
    given = [key for key in ("tls_cert", "tls_key") if table.has(key)]
    if len(given) == 1:
        missing = "tls_key" if given == ["tls_cert"] else "tls_cert"
        raise table.at(missing).error(
            "missing: give tls_cert and tls_key together (or neither, for plain HTTP); "
            "seabridge serve --console-tls self issues them from the node's CA"
        )
    if not given:
        if table.has("tls_ca"):
            raise table.at("tls_ca").error("only with tls_cert and tls_key")
        return None
    cert = _pem_file(table, "tls_cert", paths, "CERTIFICATE")
    key = _pem_file(table, "tls_key", paths, "PRIVATE KEY")
    ca = _pem_file(table, "tls_ca", paths, "CERTIFICATE") if table.has("tls_ca") else None
    if ca is None and _issued_by(cert, paths.tls_ca):
        ca = paths.tls_ca
    return ConsoleTLS(cert, key, ca)


def _pem_file(table: Fields, key: str, paths: NodeDir, label: str) -> Path:
    text = table.text(key)
    path = paths.root / text  # an absolute path stays as it is
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise table.at(key).error(f"{path}: cannot read ({exc.strerror})") from None
    if f"-----BEGIN {label}".encode() not in data and not (
        label == "PRIVATE KEY" and b" PRIVATE KEY-----" in data
    ):
        raise table.at(key).error(f"{path}: not a PEM file with a {label.lower()}")
    return path


def _issued_by(cert_path: Path, ca_path: Path) -> bool:
    """Whether the first certificate of ``cert_path`` was signed by the CA in ``ca_path``."""
    try:
        leaf = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        leaf.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    return True


def _endpoints(table: Fields) -> tuple[str, ...]:
    where = table.at("endpoints")
    urls = _strings(table, "endpoints")
    if not urls:
        raise where.error("list at least one https:// URL (the primary endpoint)")
    for i, url in enumerate(urls):
        try:
            parse_endpoint(url)
        except ConfigError as exc:
            raise where.index(i).error(str(exc)) from None
    if len(set(urls)) != len(urls):
        raise where.error("lists an endpoint twice")
    return tuple(urls)


def _peer(table: Fields, paths: NodeDir, own: str, *, check_ca: bool = True) -> PeerConfig:
    party = table.text("party", pattern=SLUG_PATTERN, what="a lower-case party id")
    if party == own:
        raise table.at("party").error(f"{party!r} is this node's own party")
    name = table.text("name")
    endpoints = _endpoints(table)
    log_vkey = _vkey(table, "log_vkey", *expected_key(party, "log"))
    cosigner_vkey = _vkey(table, "cosigner_vkey", *expected_key(party, "cosigner"))
    ca_text = table.text("ca")
    relative = PurePosixPath(ca_text)
    if relative.is_absolute() or ".." in relative.parts:
        raise table.at("ca").error(f"{ca_text!r} must be a path inside the node directory")
    ca_pin = table.text("ca_pin")
    added = table.text("added", "")
    table.finish()
    ca_path = paths.root / relative
    if check_ca:
        try:
            tls.read_pinned_ca(ca_path, ca_pin)
        except ConfigError as exc:
            raise table.at("ca_pin").error(str(exc)) from None
    return PeerConfig(party, name, endpoints, log_vkey, cosigner_vkey, ca_path, ca_pin, added)


def _vkey(table: Fields, key: str, name: str, key_type: int) -> str:
    text = table.text(key)
    try:
        verifier = parse_vkey(text)
    except LedgerError as exc:
        raise table.at(key).error(str(exc)) from None
    if verifier.name != name or verifier.key_type != key_type:
        raise table.at(key).error(
            f"is key {verifier.name!r} of type {verifier.key_type:#04x}; "
            f"expected {name!r} of type {key_type:#04x}"
        )
    return text


# --- peers --------------------------------------------------------------------------------


def add_peer(
    node: NodeConfig,
    *,
    party: str,
    name: str,
    endpoints: Sequence[str],
    log_vkey: str,
    cosigner_vkey: str,
    ca_pem: bytes,
    added: str,
    replace: bool = False,
) -> NodeConfig:
    """Add (or with ``replace``, replace) the peer of ``party``; return the reloaded node.

    The CA certificate is written to ``peers/<party>/ca.pem`` and pinned in node.toml. Adding
    exactly what is already configured (same name, endpoints, keys and CA) changes nothing.

    Raises:
        ConfigError: ``party`` is our own party; a different peer of that party exists and
            ``replace`` is false; or a field is invalid (the CA, a vkey, an endpoint).
    """
    if party == node.party:
        raise ConfigError(f"{party!r} is this node's own party; a node cannot be its own peer")
    pin = tls.spki_pin(tls.parse_ca(ca_pem, f"the CA certificate of {party!r}"))
    entry: dict[str, Any] = {
        "party": party,
        "name": name,
        "endpoints": list(endpoints),
        "log_vkey": log_vkey,
        "cosigner_vkey": cosigner_vkey,
        "ca": f"peers/{party}/ca.pem",
        "ca_pin": pin,
        "added": added,
    }
    with _as_config_errors():  # every field checked before anything is written
        peer = _peer(Fields(entry, Where(f"peer {party!r}")), node.dir, node.party, check_ca=False)
    existing = next((known for known in node.peers if known.party == party), None)
    if existing is not None:
        if _same_peer(existing, peer):
            return node
        if not replace:
            raise ConfigError(
                f"{node.dir.toml}: a different peer {party!r} is configured already "
                f"({existing.name}); use --replace to replace it (the ledger must then be told "
                "of any key change)"
            )
    document = _read_toml(node.dir.toml)
    others = [item for item in document.get("peer", []) if item.get("party") != party]
    document["peer"] = [*others, entry]
    ca_path = node.dir.peer_ca(party)
    ca_path.parent.mkdir(parents=True, exist_ok=True)
    saved = {path: path.read_bytes() for path in (node.dir.toml, ca_path) if path.exists()}
    try:
        replace_file(ca_path, ca_pem)
        write_toml(node.dir.toml, document)
        return load_node(node.dir.root)
    except (ConfigError, OSError):
        for path, data in saved.items():  # leave the node as it was
            replace_file(path, data)
        raise


def _same_peer(a: PeerConfig, b: PeerConfig) -> bool:
    """Whether two peer configurations say the same (the time they were added aside)."""
    fields = ("name", "endpoints", "log_vkey", "cosigner_vkey", "ca_pin")
    return all(getattr(a, name) == getattr(b, name) for name in fields)
