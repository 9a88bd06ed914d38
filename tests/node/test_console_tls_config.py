"""node.toml's optional console TLS ([console] tls_cert, tls_key, tls_ca): parsed and checked
with located errors; a console certificate issued by the node's own CA, reused while it fits."""

from __future__ import annotations

import datetime as dt
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from node_builders import make_node, wall_clock

from seabridge.errors import ConfigError
from seabridge.node import NodeConfig, load_node
from seabridge.node.consoletls import (
    CONSOLE_CERT_DAYS,
    RENEW_DAYS,
    console_context,
    console_hosts,
    self_issued,
)
from seabridge.node.directory import Address, ConsoleTLS

LOCAL = Address("127.0.0.1", 18444)


def _with_console(node: NodeConfig, extra: str) -> NodeConfig:
    text = node.dir.toml.read_text()
    listen = f'listen = "{node.console_listen}"\n'
    node.dir.toml.write_text(text.replace(listen, listen + extra))
    return load_node(node.dir.root)


def test_without_tls_keys_the_console_is_plain_http(tmp_path: Path) -> None:
    assert make_node(tmp_path, "jcg", wall_clock()).console_tls is None


def test_a_self_issued_certificate_is_verified_by_the_nodes_ca(tmp_path: Path) -> None:
    clock = wall_clock()
    node = make_node(tmp_path, "jcg", clock)
    tls = self_issued(node, LOCAL, clock)
    assert tls == ConsoleTLS(
        node.dir.keys / "console.pem", node.dir.keys / "console.key", node.dir.tls_ca
    )
    assert stat.S_IMODE(tls.key.stat().st_mode) == 0o600
    leaf = x509.load_pem_x509_certificates(tls.cert.read_bytes())[0]
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(node.dir.tls_ca.read_bytes()))
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc > dt.timedelta(CONSOLE_CERT_DAYS)
    assert isinstance(console_context(tls), ssl.SSLContext)
    # node.toml naming the files: tls_ca defaults to the CA that issued them
    configured = _with_console(
        node, 'tls_cert = "keys/console.pem"\ntls_key = "keys/console.key"\n'
    )
    assert configured.console_tls == tls


def test_the_certificate_is_reused_until_the_host_or_its_age_asks_for_a_new_one(
    tmp_path: Path,
) -> None:
    clock = wall_clock()
    node = make_node(tmp_path, "jcg", clock)
    first = self_issued(node, LOCAL, clock).cert.read_bytes()
    assert self_issued(node, LOCAL, clock).cert.read_bytes() == first
    named = Address("console.jcg.example", 8080)
    assert console_hosts(named) == ["console.jcg.example", "localhost", "127.0.0.1", "::1"]
    second = self_issued(node, named, clock).cert.read_bytes()
    assert second != first
    assert self_issued(node, LOCAL, clock).cert.read_bytes() == second  # covers loopback too
    clock.advance((CONSOLE_CERT_DAYS - RENEW_DAYS + 1) * 86_400_000)
    assert self_issued(node, LOCAL, clock).cert.read_bytes() != second


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('tls_cert = "keys/tls.pem"\n', r"console\.tls_key: missing: give tls_cert and tls_key"),
        ('tls_key = "keys/tls.key"\n', r"console\.tls_cert: missing"),
        ('tls_ca = "keys/tls-ca.pem"\n', r"console\.tls_ca: only with tls_cert and tls_key"),
        (
            'tls_cert = "keys/nope.pem"\ntls_key = "keys/tls.key"\n',
            r"console\.tls_cert: .*keys/nope\.pem: cannot read",
        ),
        (
            'tls_cert = "keys/tls.key"\ntls_key = "keys/tls.key"\n',
            r"console\.tls_cert: .*not a PEM file with a certificate",
        ),
        (
            'tls_cert = "keys/tls.pem"\ntls_key = "keys/tls.pem"\n',
            r"console\.tls_key: .*not a PEM file with a private key",
        ),
        ('tls_cert = 3\ntls_key = "keys/tls.key"\n', r"console\.tls_cert: expected a string"),
        ('tls_certificate = "x"\n', r"tls_certificate"),
    ],
)
def test_bad_console_tls_settings_are_located_errors(
    tmp_path: Path, extra: str, message: str
) -> None:
    node = make_node(tmp_path, "jcg", wall_clock())
    with pytest.raises(ConfigError, match=message) as raised:
        _with_console(node, extra)
    assert str(node.dir.toml) in str(raised.value)


def test_an_absolute_path_and_an_explicit_ca_are_taken_as_given(tmp_path: Path) -> None:
    clock = wall_clock()
    node = make_node(tmp_path, "jcg", clock)
    tls = self_issued(node, LOCAL, clock)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cert, key, ca = outside / "c.pem", outside / "c.key", outside / "ca.pem"
    cert.write_bytes(tls.cert.read_bytes())
    key.write_bytes(tls.key.read_bytes())
    ca.write_bytes(node.dir.tls_ca.read_bytes())
    configured = _with_console(node, f'tls_cert = "{cert}"\ntls_key = "{key}"\ntls_ca = "{ca}"\n')
    assert configured.console_tls == ConsoleTLS(cert, key, ca)
    foreign = make_node(tmp_path, "ccg", clock)  # a certificate the node's CA did not issue
    by_other = _with_console(foreign, f'tls_cert = "{cert}"\ntls_key = "{key}"\n')
    assert by_other.console_tls == ConsoleTLS(cert, key, None)


def test_a_key_that_does_not_match_the_certificate_fails_when_the_context_is_built(
    tmp_path: Path,
) -> None:
    clock = wall_clock()
    node = make_node(tmp_path, "jcg", clock)
    tls = self_issued(node, LOCAL, clock)
    with pytest.raises(ConfigError, match=r"cannot load the console's TLS certificate and key"):
        console_context(ConsoleTLS(tls.cert, node.dir.tls_key, tls.ca))
