"""The node's TLS identity and mutual TLS over a real loopback socket: a stdlib ssl server with
``server_context`` and an httpx client with ``client_context``."""

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
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from node_builders import T0_MS, fixed_clock, make_node, make_pair, wall_clock

from seabridge.errors import ConfigError
from seabridge.node import NodeConfig, client_context, export_bundle, import_bundle, server_context
from seabridge.node.tls import CA_VALIDITY_DAYS, spki_pin

TIMEOUT_S = 5.0


def _certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_the_ca_and_the_node_certificate(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock(), endpoints=["https://jcg.example:8443"])
    (ca,) = _certs(node.dir.tls_ca)
    leaf, chained_ca = _certs(node.dir.tls_cert)
    assert chained_ca == ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.verify_directly_issued_by(ca)
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "jcg.example"} <= set(names.get_values_for_type(x509.DNSName))
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert node.ca_pin() == spki_pin(ca)


def test_validity_comes_from_the_clock(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    start = dt.datetime.fromtimestamp(T0_MS / 1000, tz=dt.UTC)
    for cert in (*_certs(node.dir.tls_ca), *_certs(node.dir.tls_cert)):
        assert cert.not_valid_before_utc == start - dt.timedelta(hours=1)
        assert cert.not_valid_after_utc == start + dt.timedelta(days=CA_VALIDITY_DAYS)


def test_contexts_require_tls_1_3_and_a_certificate(tmp_path: Path) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    server = server_context(jcg)
    client = client_context(jcg, jcg.peer("ccg"))
    for context in (server, client):
        assert context.minimum_version == ssl.TLSVersion.TLSv1_3
        assert context.verify_mode == ssl.CERT_REQUIRED
    assert client.check_hostname
    assert len(server.get_ca_certs()) == len(client.get_ca_certs()) == 1  # the peer's CA only


def test_a_peer_ca_changed_after_load_fails_its_pin(tmp_path: Path) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    stranger = make_node(tmp_path, "xcg", fixed_clock())
    jcg.dir.peer_ca("ccg").write_bytes(stranger.dir.tls_ca.read_bytes())
    with pytest.raises(ConfigError, match="does not match the pinned"):
        client_context(jcg, jcg.peer("ccg"))
    with pytest.raises(ConfigError, match="does not match the pinned"):
        server_context(jcg)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        del format, args


@contextmanager
def _serve(node: NodeConfig) -> Iterator[str]:
    """An HTTPS server on a free loopback port with ``server_context(node)``; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket.settimeout(TIMEOUT_S)
    server.socket = server_context(node).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join(TIMEOUT_S)
        server.server_close()


def _get(url: str, context: ssl.SSLContext) -> httpx.Response:
    with httpx.Client(verify=context, timeout=TIMEOUT_S) as client:
        return client.get(url)


@pytest.fixture
def nodes(tmp_path: Path) -> tuple[NodeConfig, NodeConfig, NodeConfig]:
    """jcg and ccg peered, and xcg, a stranger that knows jcg but that jcg does not know."""
    clock = wall_clock()
    jcg, ccg = make_pair(tmp_path, clock)
    xcg = make_node(tmp_path, "xcg", clock)
    xcg = import_bundle(xcg, export_bundle(jcg, clock), clock)
    return jcg, ccg, xcg


@pytest.mark.network
def test_the_peer_with_its_certificate_gets_in(
    nodes: tuple[NodeConfig, NodeConfig, NodeConfig],
) -> None:
    jcg, ccg, _ = nodes
    with _serve(jcg) as url:
        response = _get(url, client_context(ccg, ccg.peer("jcg")))
    assert (response.status_code, response.text) == (200, "ok")


@pytest.mark.network
def test_a_client_without_a_certificate_is_refused(
    nodes: tuple[NodeConfig, NodeConfig, NodeConfig],
) -> None:
    jcg, ccg, _ = nodes
    anonymous = ssl.create_default_context(cadata=jcg.ca_pem().decode())  # trusts jcg, no cert
    # TLS 1.3: the server's refusal may arrive as a read error after the handshake.
    with _serve(jcg) as url, pytest.raises(httpx.TransportError, match=r"(?i)certificate.required"):
        _get(url, anonymous)
    del ccg


@pytest.mark.network
def test_a_client_certificate_from_another_ca_is_refused(
    nodes: tuple[NodeConfig, NodeConfig, NodeConfig],
) -> None:
    jcg, _, xcg = nodes
    with _serve(jcg) as url, pytest.raises(httpx.TransportError, match=r"(?i)unknown.ca"):
        _get(url, client_context(xcg, xcg.peer("jcg")))


@pytest.mark.network
def test_a_server_from_the_wrong_ca_is_refused_by_the_client(
    nodes: tuple[NodeConfig, NodeConfig, NodeConfig],
) -> None:
    jcg, ccg, xcg = nodes
    # xcg's server trusts jcg's CA, but the ccg client expects jcg's CA on the server side.
    with _serve(xcg) as url, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(url, client_context(ccg, ccg.peer("jcg")))
    del jcg
