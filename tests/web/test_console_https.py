"""The console listener over HTTPS: ``serve_service`` with a console certificate from the
node's CA answers /api/health to an httpx client verifying against serve.json's
``console_ca``, sets the session cookie Secure, and refuses a bad certificate before any port
opens. The served node runs in this process on its own event loop in a thread; nothing sleeps
(the test waits on the server's readiness)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
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


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def _served(node: Node, console: Address, tls: ConsoleTLS | None) -> Iterator[dict[str, str]]:
    """``serve_service`` over ``node`` until the block ends; yields serve.json."""
    federation = Address("127.0.0.1", _free_ports(1)[0])
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(
                serve_service(
                    node,
                    federation=federation,
                    console=console,
                    console_tls=tls,
                    stop=stop,
                    on_ready=lambda _node: ready.set(),
                    log_level="warning",
                )
            )
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            failed.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="served-console")
    thread.start()
    try:
        assert ready.wait(120) and not failed, failed
        yield json.loads((node.config.dir.root / SERVE_FILE).read_text())
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(120)
        loop.close()
    assert not failed, failed


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    clock = ManualClock(SystemClock().now_ms())  # OpenSSL checks certificates on the wall
    fed, panel = _free_ports(2)
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
