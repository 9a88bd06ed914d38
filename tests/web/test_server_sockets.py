"""Listening sockets handed to ``serve_node`` (tests, benchmarks, socket activation)."""

from __future__ import annotations

import socket

from seabridge.web.server import _no_delay


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
