"""Where a run goes: lines to a file or stream, a TCP feed paced in data time, truth JSONL.

The TCP server is a plain AIS feed, like a receiver's: every client that connects gets the
NMEA lines from then on (``tcp://HOST:PORT`` for ``seabridge ingest``). Pacing follows data
time through a :class:`~seabridge.clock.ReplayClock` started when the first client
connects, ``speed`` times faster than the injected wall clock, so tests pass a
:class:`~seabridge.clock.ManualClock` and never sleep. A client that goes away is dropped;
the feed goes on until the run ends.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from seabridge.clock import Clock, ReplayClock
from seabridge.errors import SourceError
from seabridge.sim.engine import Transmission

__all__ = ["parse_address", "serve_tcp", "truth_line", "write_lines"]


def write_lines(transmissions: Iterable[Transmission], stream: TextIO) -> int:
    """Write each transmission's lines (tag block + sentence); returns the lines written."""
    count = 0
    for transmission in transmissions:
        lines = transmission.lines()
        stream.write("\n".join(lines) + "\n")
        count += len(lines)
    return count


def truth_line(row: dict[str, Any]) -> str:
    """One ground-truth row as a JSON line (keys in the documented order)."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a (host, port) pair.

    Raises:
        SourceError: not of that form, or a port outside 0-65535.
    """
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65_535:
        raise SourceError(f"{text!r}: give HOST:PORT, e.g. 127.0.0.1:10110")
    return host, int(port_text)


class _Clients:
    def __init__(self, server: socket.socket) -> None:
        self.server = server
        self.sockets: list[socket.socket] = []
        self.selector = selectors.DefaultSelector()
        server.setblocking(False)
        self.selector.register(server, selectors.EVENT_READ)

    def accept_waiting(self) -> None:
        """Take every client already knocking, without blocking."""
        while self.selector.select(timeout=0):
            try:
                client, _ = self.server.accept()
            except BlockingIOError:
                return
            client.setblocking(True)
            self.sockets.append(client)

    def wait_first(self, timeout_s: float | None) -> bool:
        if self.selector.select(timeout=timeout_s):
            self.accept_waiting()
        return bool(self.sockets)

    def send(self, data: bytes) -> None:
        alive = []
        for client in self.sockets:
            try:
                client.sendall(data)
            except OSError:
                client.close()
                continue
            alive.append(client)
        self.sockets = alive

    def close(self) -> None:
        for client in self.sockets:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
        self.selector.close()


def serve_tcp(
    transmissions: Iterable[Transmission],
    address: tuple[str, int],
    *,
    speed: float,
    clock: Clock,
    on_listen: Callable[[tuple[str, int]], None] | None = None,
    first_client_timeout_s: float | None = None,
) -> int:
    """Serve the run as an NMEA feed on ``address``; returns the lines sent.

    Waits for the first client (up to ``first_client_timeout_s``; None: for ever), then
    sends each second's lines when the replay clock reaches that second.

    Raises:
        SourceError: the address cannot be bound, or no client came in time.
    """
    if speed <= 0:
        raise SourceError(f"--speed must be positive, got {speed}")
    try:
        server = socket.create_server(address, reuse_port=False)
    except OSError as exc:
        raise SourceError(f"cannot listen on {address[0]}:{address[1]}: {exc.strerror}") from None
    clients = _Clients(server)
    sent = 0
    try:
        bound = server.getsockname()
        if on_listen is not None:
            on_listen((str(bound[0]), int(bound[1])))
        if not clients.wait_first(first_client_timeout_s):
            raise SourceError(f"no client connected to {bound[0]}:{bound[1]} in time")
        replay: ReplayClock | None = None
        pending: list[str] = []
        pending_ms: int | None = None
        for transmission in transmissions:
            if replay is None:
                replay = ReplayClock(transmission.ts_ms, speed, wall=clock)
            if pending_ms is not None and transmission.ts_ms != pending_ms:
                sent += _flush(clients, replay, pending, pending_ms)
                pending = []
            pending_ms = transmission.ts_ms
            pending.extend(transmission.lines())
        if replay is not None and pending_ms is not None:
            sent += _flush(clients, replay, pending, pending_ms)
    finally:
        clients.close()
        server.close()
    return sent


def _flush(clients: _Clients, replay: ReplayClock, lines: list[str], ts_ms: int) -> int:
    wait_s = (ts_ms - replay.now_ms()) / 1000.0
    if wait_s > 0:
        replay.sleep(wait_s)
    clients.accept_waiting()
    clients.send(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return len(lines)
