"""Listening sockets handed to ``serve_node`` (tests, benchmarks, socket activation)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from seabridge.clock import ManualClock
from seabridge.node import init_node
from seabridge.web.server import _no_delay, serve_node


def test_connections_accepted_on_a_handed_in_listener_send_without_delay() -> None:
    """asyncio disables Nagle only on sockets made with proto IPPROTO_TCP; a listener made
    with ``socket.socket()`` (proto 0) left it on, and every second TLS record of a response
    waited ~40 ms for the client's delayed ACK."""
    with socket.socket() as listener:
        assert listener.proto == 0
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert _no_delay([listener]) == [listener]
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert _no_delay(None) is None


def test_serve_node_turns_nagle_off_on_the_listener_it_is_handed(tmp_path: Path) -> None:
    """The wiring: serve_node passes handed-in listeners through ``_no_delay``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    node = init_node(
        tmp_path / "jcg", "jcg", "JCG", f"127.0.0.1:{port}", "127.0.0.1:9", ManualClock(0)
    )
    seen: list[int] = []

    async def run() -> None:
        stop = asyncio.Event()

        def ready(*_: object) -> None:
            seen.append(listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            stop.set()

        await serve_node(
            node, ManualClock(0), stop=stop, sockets=[listener], on_ready=ready, log_level="error"
        )

    with listener:
        asyncio.run(run())
    assert seen == [1]
