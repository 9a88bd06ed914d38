"""HTTPS for the console listener: its TLS context, and a certificate from the node's own CA.

The console is plain HTTP on ``127.0.0.1`` by default. ``[console] tls_cert`` and ``tls_key``
in node.toml (:class:`~seabridge.node.directory.ConsoleTLS`) serve it over HTTPS with any
certificate; ``seabridge serve --console-tls self`` uses :func:`self_issued`, a server
certificate for the listen host issued by the node's CA (``keys/tls-ca.pem``, which then
verifies it: import that file into the browser, or give it to ``httpx`` as ``verify``). The
context is TLS 1.2 or newer (what browsers speak), without client certificates: operators log
in. This module never imports the web layer and reads time only from the injected clock.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from seabridge.clock import Clock
from seabridge.errors import ConfigError
from seabridge.node import tls
from seabridge.node._files import create_secret, replace_file, sync_dir
from seabridge.node.directory import Address, ConsoleTLS, NodeConfig

__all__ = [
    "CERT_FILE",
    "CONSOLE_CERT_DAYS",
    "KEY_FILE",
    "RENEW_DAYS",
    "console_context",
    "console_hosts",
    "self_issued",
]

CONSOLE_CERT_DAYS: Final = 397
"""Validity of a self-issued console certificate (browsers' limit for server certificates)."""
RENEW_DAYS: Final = 30
"""A self-issued certificate is issued again when it has fewer days left than this."""
CERT_FILE: Final = "console.pem"
KEY_FILE: Final = "console.key"
_LOOPBACK: Final = ("localhost", "127.0.0.1", "::1")


def console_context(config: ConsoleTLS) -> ssl.SSLContext:
    """The console listener's server context: TLS 1.2+, no client certificates.

    Raises:
        ConfigError: the certificate and key cannot be loaded (the message names the files).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_NONE
    try:
        context.load_cert_chain(config.cert, config.key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"{config.cert}, {config.key}: cannot load the console's TLS certificate and key "
            f"({exc}); check [console] tls_cert and tls_key in node.toml"
        ) from None
    return context


def console_hosts(address: Address) -> list[str]:
    """The names a self-issued certificate covers: the listen host (this machine's name for a
    wildcard address) and the loopback names."""
    hosts = [socket.gethostname()] if address.wildcard else [address.host]
    return list(dict.fromkeys([*hosts, *_LOOPBACK]))


def self_issued(node: NodeConfig, address: Address, clock: Clock) -> ConsoleTLS:
    """``keys/console.pem`` and ``keys/console.key``, issued by the node's CA for
    :func:`console_hosts` of ``address``; reused while they cover those hosts, chain to the
    current CA and have :data:`RENEW_DAYS` left, else issued again (key 0600).

    Raises:
        ConfigError: the node's CA cannot be read.
    """
    cert_path, key_path = node.dir.keys / CERT_FILE, node.dir.keys / KEY_FILE
    hosts = console_hosts(address)
    config = ConsoleTLS(cert_path, key_path, node.dir.tls_ca)
    if _usable(config, hosts, clock):
        return config
    days = CONSOLE_CERT_DAYS
    chain, key = tls.issue_server_cert(node.dir, node.party, hosts, clock, days)
    temporary = key_path.with_name(f".{KEY_FILE}.tmp")
    temporary.unlink(missing_ok=True)
    create_secret(temporary, key)
    temporary.replace(key_path)
    sync_dir(key_path.parent)
    replace_file(cert_path, chain)
    return config


def _usable(config: ConsoleTLS, hosts: Sequence[str], clock: Clock) -> bool:
    if config.ca is None or not config.key.is_file():
        return False
    try:
        leaf = x509.load_pem_x509_certificates(config.cert.read_bytes())[0]
        leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(config.ca.read_bytes()))
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, IndexError, InvalidSignature, x509.ExtensionNotFound):
        return False  # missing, malformed or from another CA: issue a new one
    covered = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    covered |= set(names.get_values_for_type(x509.DNSName))
    wanted = {_normal(host) for host in hosts}
    now = dt.datetime.fromtimestamp(clock.now_ms() / 1000, tz=dt.UTC)
    left = leaf.not_valid_after_utc - now
    return wanted <= covered and left > dt.timedelta(days=RENEW_DAYS)


def _normal(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host
