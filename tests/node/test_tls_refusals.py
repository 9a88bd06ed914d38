"""S9 of ``domain/hotline-protocol.md`` §7: what mutual TLS refuses, over real loopback sockets.

``test_node_tls.py`` covers a client with no certificate, a client certificate from another CA,
a server from another CA, and a peer CA file whose pin changed. This file adds certificates
crafted with ``cryptography`` from the right CA's own key (``keys/tls-ca.key``):

- client side of the server (``server_context``): an expired certificate, a certificate for
  server authentication only, and a chain through an intermediate CA are refused. The server
  checks chain, dates and purpose, not names: a certificate from the peer's CA with any other
  SAN or CN is accepted (pinning is by CA: each node has its own CA, so "signed by the peer's
  CA" is the peer). That is tested too, as the documented boundary;
- server side of the client (``client_context``): a certificate from the right CA but for
  another host name, or expired, is refused;
- at load: a CA file whose pin differs from node.toml, even one with the same subject as the
  real CA, is refused by ``load_node`` and by the contexts; a CA re-issued with the same key
  keeps its pin (RFC 7469 pins the SubjectPublicKeyInfo) and still connects.

A refused client never reaches the HTTP handler (the test counts the requests it served).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from node_builders import make_pair, wall_clock

from seabridge.errors import ConfigError
from seabridge.node import NodeConfig, client_context, load_node, server_context

TIMEOUT_S = 5.0
SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH

pytestmark = pytest.mark.network


@pytest.fixture
def nodes(tmp_path: Path) -> tuple[NodeConfig, NodeConfig]:
    """jcg and ccg, peered (certificates valid from the wall clock: OpenSSL checks the wall)."""
    return make_pair(tmp_path, wall_clock())


# --- crafting certificates -----------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ca(node: NodeConfig) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The node's CA certificate and key, as ``init_node`` wrote them."""
    cert = x509.load_pem_x509_certificate(node.dir.tls_ca.read_bytes())
    key = serialization.load_pem_private_key(node.dir.tls_ca_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _issue(
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    name: str = "ccg",
    san: str = "127.0.0.1",
    usages: tuple[x509.ObjectIdentifier, ...] = (SERVER, CLIENT),
    ca: bool = False,
    days: tuple[int, int] = (-1, 30),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate signed by ``issuer_key``, valid from ``now + days[0]`` to ``now + days[1]``."""
    key = ec.generate_private_key(ec.SECP256R1())
    general: x509.GeneralName = x509.DNSName(san)
    if san[0].isdigit():
        general = x509.IPAddress(ipaddress.ip_address(san))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() + dt.timedelta(days=days[0]))
        .not_valid_after(_now() + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName([general]), critical=False)
    else:
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _identity(
    directory: Path, chain: list[x509.Certificate], key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    """Write a certificate chain and its key; return their paths for ``load_cert_chain``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(_pem(*chain))
    key_path.write_bytes(_key_pem(key))
    return cert_path, key_path


def _client(node: NodeConfig, identity: tuple[Path, Path]) -> ssl.SSLContext:
    """``client_context`` of ``node`` towards jcg, presenting another certificate."""
    context = client_context(node, node.peer("jcg"))
    context.load_cert_chain(*identity)
    return context


# --- a real server ------------------------------------------------------------------------------


class _Ok(BaseHTTPRequestHandler):
    served: list[str]

    def do_GET(self) -> None:
        self.served.append(self.path)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        del format, args


@contextmanager
def _serve(context: ssl.SSLContext) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS server on a free loopback port; yields its URL and the paths it served."""
    served: list[str] = []
    handler = type("Handler", (_Ok,), {"served": served})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket.settimeout(TIMEOUT_S)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/push", served
    finally:
        server.shutdown()
        thread.join(TIMEOUT_S)
        server.server_close()


def _get(url: str, context: ssl.SSLContext) -> httpx.Response:
    with httpx.Client(verify=context, timeout=TIMEOUT_S) as client:
        return client.get(url)


def _refused(
    server: ssl.SSLContext,
    client: ssl.SSLContext,
    match: str,
    error: type[httpx.TransportError] = httpx.TransportError,
) -> None:
    """The handshake fails with ``match`` in the error, and no request reaches the handler.

    TLS 1.3: the server judges the client certificate after the client's handshake is done, so
    the client may learn of the refusal only at its first read (any TransportError).
    """
    with _serve(server) as (url, served), pytest.raises(error, match=match):
        _get(url, client)
    assert served == []


# --- the server refuses these clients ------------------------------------------------------------


def test_the_real_client_certificate_gets_in(nodes: tuple[NodeConfig, NodeConfig]) -> None:
    jcg, ccg = nodes
    with _serve(server_context(jcg)) as (url, served):
        assert _get(url, client_context(ccg, ccg.peer("jcg"))).status_code == 200
    assert served == ["/push"]


def test_an_expired_client_certificate_from_the_right_ca_is_refused(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    jcg, ccg = nodes
    cert, key = _issue(*_ca(ccg), days=(-30, -1))
    client = _client(ccg, _identity(tmp_path / "expired", [cert], key))
    _refused(server_context(jcg), client, r"(?i)certificate.expired")


def test_a_client_certificate_not_valid_yet_is_refused(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    jcg, ccg = nodes
    cert, key = _issue(*_ca(ccg), days=(1, 30))
    client = _client(ccg, _identity(tmp_path / "future", [cert], key))
    _refused(server_context(jcg), client, r"(?i)bad.certificate")  # OpenSSL's alert for it


def test_a_server_only_certificate_from_the_right_ca_is_refused_as_a_client(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    jcg, ccg = nodes
    cert, key = _issue(*_ca(ccg), usages=(SERVER,))
    client = _client(ccg, _identity(tmp_path / "server-only", [cert], key))
    _refused(server_context(jcg), client, r"(?i)unsupported.certificate")


def test_a_certificate_from_an_intermediate_under_the_peer_ca_is_refused(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    """The peer CA has pathLenConstraint 0: it cannot delegate to an intermediate CA."""
    jcg, ccg = nodes
    intermediate, intermediate_key = _issue(*_ca(ccg), name="ccg intermediate", ca=True)
    cert, key = _issue(intermediate, intermediate_key)
    client = _client(ccg, _identity(tmp_path / "delegated", [cert, intermediate], key))
    # The chain's one defect is the path length (``openssl verify``: error 25, "path length
    # constraint exceeded"); OpenSSL sends the unknown_ca alert for it.
    _refused(server_context(jcg), client, r"(?i)unknown.ca")


def test_the_own_ca_of_a_node_is_not_trusted_for_its_clients(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    """jcg's server trusts its peers' CAs only: a client certificate from jcg's own CA fails."""
    jcg, ccg = nodes
    cert, key = _issue(*_ca(jcg), name="jcg")
    client = _client(ccg, _identity(tmp_path / "own-ca", [cert], key))
    _refused(server_context(jcg), client, r"(?i)unknown.ca")


def test_names_are_not_checked_on_clients_only_the_peer_ca(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    """The boundary, documented: a client is authenticated by its CA (one CA per node), not by
    its SAN or CN, so a certificate of the right CA with any name gets in."""
    jcg, ccg = nodes
    cert, key = _issue(*_ca(ccg), name="someone-else", san="impostor.example")
    client = _client(ccg, _identity(tmp_path / "other-name", [cert], key))
    with _serve(server_context(jcg)) as (url, served):
        assert _get(url, client).status_code == 200
    assert served == ["/push"]


# --- the client refuses these servers ------------------------------------------------------------


def _server(node: NodeConfig, identity: tuple[Path, Path]) -> ssl.SSLContext:
    """``server_context`` of ``node``, presenting another certificate."""
    context = server_context(node)
    context.load_cert_chain(*identity)
    return context


def test_a_server_certificate_for_another_host_is_refused(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    jcg, ccg = nodes
    cert, key = _issue(*_ca(jcg), name="jcg", san="elsewhere.example")
    server = _server(jcg, _identity(tmp_path / "other-host", [cert], key))
    _refused(
        server, client_context(ccg, ccg.peer("jcg")), r"(?i)mismatch|hostname", httpx.ConnectError
    )


def test_an_expired_server_certificate_is_refused(
    nodes: tuple[NodeConfig, NodeConfig], tmp_path: Path
) -> None:
    jcg, ccg = nodes
    cert, key = _issue(*_ca(jcg), name="jcg", days=(-30, -1))
    server = _server(jcg, _identity(tmp_path / "expired-server", [cert], key))
    _refused(server, client_context(ccg, ccg.peer("jcg")), r"(?i)expired", httpx.ConnectError)


# --- pins, checked at load ------------------------------------------------------------------------


def _impostor_ca(real: x509.Certificate) -> x509.Certificate:
    """A CA with the real one's subject and extensions, but a key of its own."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.subject)
        .public_key(key.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
    )
    for extension in real.extensions:
        if not isinstance(extension.value, x509.SubjectKeyIdentifier | x509.AuthorityKeyIdentifier):
            builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(key, hashes.SHA256())


def test_a_peer_ca_that_differs_from_its_pin_is_refused_at_load(
    nodes: tuple[NodeConfig, NodeConfig],
) -> None:
    jcg, ccg = nodes
    real, _ = _ca(jcg)
    ccg.dir.peer_ca("jcg").write_bytes(_pem(_impostor_ca(real)))
    with pytest.raises(ConfigError, match=r"ca_pin.*does not match the pinned"):
        load_node(ccg.dir.root)
    with pytest.raises(ConfigError, match="does not match the pinned"):
        client_context(ccg, ccg.peer("jcg"))
    with pytest.raises(ConfigError, match="does not match the pinned"):
        server_context(ccg)


def test_a_ca_reissued_with_the_same_key_keeps_its_pin(
    nodes: tuple[NodeConfig, NodeConfig],
) -> None:
    """RFC 7469 pins the SubjectPublicKeyInfo: a renewed CA certificate needs no new bundle."""
    jcg, ccg = nodes
    real, key = _ca(jcg)
    renewed = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=365))
    )
    for extension in real.extensions:
        renewed = renewed.add_extension(extension.value, extension.critical)
    ccg.dir.peer_ca("jcg").write_bytes(_pem(renewed.sign(key, hashes.SHA256())))
    ccg = load_node(ccg.dir.root)
    with _serve(server_context(jcg)) as (url, served):
        assert _get(url, client_context(ccg, ccg.peer("jcg"))).status_code == 200
    assert served == ["/push"]
