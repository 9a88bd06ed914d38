"""The node's TLS identity and the mutual-TLS contexts of the federation listener.

Each node has its own CA (ECDSA P-256: the stdlib :mod:`ssl` module and every OpenSSL build
accept it) that signs one node certificate, good for both server and client authentication.
A peer is trusted through its CA certificate, pinned by the SHA-256 of the CA's
SubjectPublicKeyInfo (base64, as in RFC 7469 ``pin-sha256``); the pin is checked every time the
CA file is read. TLS keys are independent of the Ed25519 signing keys: TLS authenticates the
channel, the signatures give non-repudiation (``domain/hotline-protocol.md`` §5.10).

Certificate validity starts from an injected :class:`~seabridge.clock.Clock`. This module
must not import the web layer: it only builds :class:`ssl.SSLContext` objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from seabridge.clock import Clock
from seabridge.errors import ConfigError

if TYPE_CHECKING:
    from seabridge.node.directory import NodeConfig, NodeDir, PeerConfig

__all__ = [
    "CA_VALIDITY_DAYS",
    "CERT_VALIDITY_DAYS",
    "client_context",
    "create_tls_files",
    "issue_server_cert",
    "parse_ca",
    "read_pinned_ca",
    "server_context",
    "spki_pin",
]

CA_VALIDITY_DAYS: Final = 3650
"""A node's CA is valid ten years from its creation."""
CERT_VALIDITY_DAYS: Final = 3650
"""The node certificate lives as long as its CA (both start at the same instant)."""
_BACKDATE: Final = dt.timedelta(hours=1)  # tolerate a peer clock that is a little behind


def spki_pin(cert: x509.Certificate) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of ``cert`` (RFC 7469 §2.4 ``pin-sha256``)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def parse_ca(pem: bytes, source: str) -> x509.Certificate:
    """The CA certificate in ``pem``: exactly one certificate, marked as a CA.

    Raises:
        ConfigError: naming ``source``, when the PEM is not one CA certificate.
    """
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ConfigError(f"{source}: not a PEM certificate") from None
    if len(certs) != 1:
        raise ConfigError(f"{source}: holds {len(certs)} certificates; a CA file holds one")
    cert = certs[0]
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise ConfigError(f"{source}: the certificate is not a CA (basicConstraints ca=false)")
    return cert


def read_pinned_ca(path: Path, pin: str) -> bytes:
    """The PEM bytes of a peer's CA file, after checking its SPKI pin against ``pin``.

    Raises:
        ConfigError: the file is missing, is not a CA certificate, or its pin differs (the
            file was replaced behind node.toml's back: re-import the peer's bundle).
    """
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the peer CA ({exc.strerror})") from None
    actual = spki_pin(parse_ca(pem, str(path)))
    if actual != pin:
        raise ConfigError(
            f"{path}: CA pin {actual} does not match the pinned {pin} in node.toml; "
            "the file was changed: import the peer's bundle again (seabridge peer add --replace)"
        )
    return pem


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` (never overwriting) and sync it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise ConfigError(f"{path}: exists already; refusing to overwrite") from None
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _issue(
    subject: x509.Name,
    public: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    start: dt.datetime,
    days: int,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - _BACKDATE)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def create_tls_files(paths: NodeDir, party: str, hosts: Sequence[str], clock: Clock) -> str:
    """Create the node's CA and certificate files in ``paths.keys``; return the CA's SPKI pin.

    ``tls-ca.pem`` (the CA certificate) and ``tls.pem`` (node certificate, then the CA: the
    chain) are public; ``tls-ca.key`` and ``tls.key`` are created 0600. The node certificate
    is for server and client authentication, with ``hosts`` (names or IPs) as its SANs.

    Raises:
        ConfigError: one of the files exists already.
    """
    start = dt.datetime.fromtimestamp(clock.now_ms() / 1000, tz=dt.UTC)
    organisation = x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Seabridge node {party}")
    ca_private = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([organisation, x509.NameAttribute(NameOID.COMMON_NAME, f"{party} CA")])
    ca = _issue(
        ca_name,
        ca_private.public_key(),
        ca_name,
        ca_private,
        start,
        CA_VALIDITY_DAYS,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (_usage(cert_sign=True), True),
        ],
    )
    node_private = ec.generate_private_key(ec.SECP256R1())
    node_name = x509.Name([organisation, x509.NameAttribute(NameOID.COMMON_NAME, party)])
    node = _issue(
        node_name,
        node_private.public_key(),
        ca_name,
        ca_private,
        start,
        CERT_VALIDITY_DAYS,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_usage(cert_sign=False), True),
            (
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                False,
            ),
            (_san(hosts), False),
        ],
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    _write_new(paths.tls_ca_key, _key_pem(ca_private), 0o600)
    _write_new(paths.tls_ca, ca_pem, 0o644)
    _write_new(paths.tls_key, _key_pem(node_private), 0o600)
    _write_new(paths.tls_cert, node.public_bytes(serialization.Encoding.PEM) + ca_pem, 0o644)
    return spki_pin(ca)


def issue_server_cert(
    paths: NodeDir, party: str, hosts: Sequence[str], clock: Clock, days: int
) -> tuple[bytes, bytes]:
    """A server-only certificate from the node's CA (``keys/tls-ca.*``) for ``hosts`` (IP
    SANs for addresses, DNS SANs for names), valid ``days`` from now: (chain PEM, key PEM).
    The console listener's certificate (:mod:`seabridge.node.consoletls`).

    Raises:
        ConfigError: the CA certificate or key cannot be read.
    """
    try:
        ca = x509.load_pem_x509_certificate(paths.tls_ca.read_bytes())
        ca_private = serialization.load_pem_private_key(paths.tls_ca_key.read_bytes(), None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"{paths.tls_ca}, {paths.tls_ca_key}: cannot load the node's CA ({exc})"
        ) from None
    if not isinstance(ca_private, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{paths.tls_ca_key}: not an ECDSA key")
    start = dt.datetime.fromtimestamp(clock.now_ms() / 1000, tz=dt.UTC)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Seabridge node {party}"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{party} console"),
        ]
    )
    cert = _issue(
        name,
        private.public_key(),
        ca.subject,
        ca_private,
        start,
        days,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_usage(cert_sign=False), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (_san(hosts), False),
        ],
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
        serialization.Encoding.PEM
    )
    return chain, _key_pem(private)


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _base_context(purpose: int, node: NodeConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_cert_chain(node.dir.tls_cert, node.dir.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"{node.dir.tls_cert}, {node.dir.tls_key}: cannot load the node's TLS certificate "
            f"and key ({exc})"
        ) from None
    return context


def server_context(node: NodeConfig) -> ssl.SSLContext:
    """The federation listener's context: TLS 1.3 at least, a client certificate required,
    issued by one of the peers' pinned CAs (and nothing else: no system trust store).

    With no peers yet, every client is refused.

    Raises:
        ConfigError: our certificate cannot be loaded, or a peer's CA file fails its pin.
    """
    context = _base_context(ssl.PROTOCOL_TLS_SERVER, node)
    cas = b"".join(read_pinned_ca(peer.ca_path, peer.ca_pin) for peer in node.peers)
    if cas:
        context.load_verify_locations(cadata=cas.decode("ascii"))
    return context


def client_context(node: NodeConfig, peer: PeerConfig) -> ssl.SSLContext:
    """The context for calling ``peer``: only its pinned CA is trusted, the host name is
    checked against its certificate, and our node certificate is presented.

    Raises:
        ConfigError: our certificate cannot be loaded, or the peer's CA file fails its pin.
    """
    context = _base_context(ssl.PROTOCOL_TLS_CLIENT, node)
    context.check_hostname = True
    context.load_verify_locations(cadata=read_pinned_ca(peer.ca_path, peer.ca_pin).decode("ascii"))
    return context
