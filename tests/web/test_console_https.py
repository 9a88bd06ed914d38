"""The console listener over HTTPS: ``serve_service`` with a console certificate from the
node's CA answers /api/health to an httpx client verifying against serve.json's
``console_ca``, sets the session cookie Secure, and refuses a bad certificate before any port
opens. The served node runs in this process on its own event loop in a thread; nothing sleeps
(the test waits on the server's readiness)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from console_kit import PASSWORD, fast_hasher

from seabridge.clock import ManualClock, SystemClock
from seabridge.errors import ConfigError
from seabridge.node import init_node
from seabridge.node.client import SERVE_FILE
from seabridge.node.consoletls import self_issued
from seabridge.node.directory import Address, ConsoleTLS
from seabridge.node.service import Node
from seabridge.node.users import UserStore
from seabridge.web.server import serve_service
from support import free_ports, served


@contextmanager
def _served(node: Node, console: Address, tls: ConsoleTLS | None) -> Iterator[dict[str, str]]:
    """``serve_service`` over ``node`` until the block ends; yields serve.json."""
    federation = Address("127.0.0.1", free_ports(1)[0])
    with served(node, federation, console, tls):
        yield json.loads((node.config.dir.root / SERVE_FILE).read_text())


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    clock = ManualClock(SystemClock().now_ms())  # OpenSSL checks certificates on the wall
    fed, panel = free_ports(2)
    config = init_node(
        tmp_path / "jcg", "jcg", "JCG", f"127.0.0.1:{fed}", f"127.0.0.1:{panel}", clock
    )
    opened = Node.open(config.dir.root, SystemClock(), sources=[])
    opened.users.close()
    opened.users = UserStore(config.dir.state, clock, config.settings, hasher=fast_hasher())
    opened.users.add("operator", PASSWORD, "operator")
    yield opened
    opened.close()


def test_the_console_over_tls_answers_a_client_verifying_against_the_nodes_ca(
    node: Node,
) -> None:
    console = node.config.console_listen
    tls = self_issued(node.config, console, node.clock)
    with _served(node, console, tls) as serving:
        assert serving["console"] == f"https://{console}"
        assert serving["console_ca"] == str(node.config.dir.tls_ca)
        verify = ssl.create_default_context(cafile=serving["console_ca"])
        with httpx.Client(base_url=serving["console"], verify=verify) as client:
            assert client.get("/api/health").status_code == 200
            login = client.post("/api/login", json={"username": "operator", "password": PASSWORD})
            assert login.status_code == 200, login.text
            cookie = login.headers["set-cookie"]
            assert "sb_session=" in cookie and "secure" in cookie.lower()
        with (
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
            httpx.Client(verify=ssl.create_default_context()) as untrusting,
        ):
            untrusting.get(f"{serving['console']}/api/health")
        with pytest.raises(httpx.HTTPError), httpx.Client() as plain:
            plain.get(f"http://{console}/api/health")  # no plain HTTP beside it


def test_without_tls_the_console_is_plain_http_and_its_cookie_not_secure(node: Node) -> None:
    console = node.config.console_listen
    with _served(node, console, None) as serving:
        assert serving["console"] == f"http://{console}" and "console_ca" not in serving
        with httpx.Client(base_url=serving["console"]) as client:
            assert client.get("/api/health").status_code == 200
            login = client.post("/api/login", json={"username": "operator", "password": PASSWORD})
            assert "secure" not in login.headers["set-cookie"].lower()


def test_a_key_that_does_not_fit_fails_before_anything_is_served(node: Node) -> None:
    console = node.config.console_listen
    tls = self_issued(node.config, console, node.clock)
    wrong = ConsoleTLS(tls.cert, node.config.dir.tls_key, tls.ca)

    async def serve() -> None:
        await serve_service(node, console=console, console_tls=wrong, log_level="warning")

    with pytest.raises(ConfigError, match="cannot load the console's TLS certificate and key"):
        asyncio.run(serve())
    assert not (node.config.dir.root / SERVE_FILE).exists()
