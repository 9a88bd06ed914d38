"""Live AIS sources: a reconnecting TCP client and a UDP listener that yield raw lines.

Both yield :data:`~seabridge.ais.summary.LineChunk` pairs ``(lines, receive_time_ms)``: the
complete lines of one read (bytes, without ``\\r\\n`` / ``\\n``; blank lines dropped) and the
time they arrived, read from the injected :class:`~seabridge.clock.Clock`. While a feed is
quiet they yield an empty chunk every ``POLL_S`` (``([], now)``), so a consumer can flush
what it holds instead of waiting for the next data.

TCP: a byte stream has no message boundaries, so a sentence may arrive split across reads
(the bug behind M0r13n/pyais#213, where multipart messages were lost). :class:`LineBuffer`
keeps the unfinished tail of each read until its newline arrives. When the connection
drops, the tail from the old connection can never be completed; it is yielded as a line of
its own so that the decoder counts it (as bad framing) instead of it vanishing silently.
Reconnects back off exponentially (1 s, 2 s, 4 s ... up to ``reconnect_max_s``) and the
backoff starts again at 1 s once a connection has delivered data. Waits go through
``clock.sleep`` in steps of at most 0.5 s, and sockets time out every 0.5 s, so a set
``stop`` event ends the iterator within about half a second (a connect attempt may take up
to ``connect_timeout_s``).

UDP: every datagram is one or more whole lines; a last line without a newline is complete.

This module only moves bytes: it must not decode NMEA, and it must not read the wall clock
or sleep except through the clock it is given. It does not use pyais's TCPConnection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Literal

from seabridge.ais.summary import LineChunk
from seabridge.clock import Clock
from seabridge.errors import SourceError

__all__ = ["LineBuffer", "parse_source_url", "tcp_lines", "udp_lines"]

POLL_S = 0.5
"""Longest time between two looks at the stop event (socket timeouts, backoff steps)."""
MAX_LINE_BYTES = 65536
"""An unterminated line longer than this is given up as a line (garbage, not NMEA)."""
_RECV_BYTES = 65536


def parse_source_url(text: str) -> tuple[Literal["tcp", "udp"], str, int] | None:
    """``tcp://HOST:PORT`` or ``udp://HOST:PORT`` as (scheme, host, port); None otherwise.

    Hosts may be names, IPv4 or bracketed IPv6 addresses (``tcp://[::1]:10110``). For UDP
    an empty host (``udp://:10110``) listens on all interfaces (``0.0.0.0``).

    Raises:
        SourceError: the text starts with ``tcp://`` or ``udp://`` but is not HOST:PORT
            with a port from 1 to 65535.
    """
    scheme, sep, rest = text.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("tcp", "udp"):
        return None
    kind: Literal["tcp", "udp"] = "tcp" if scheme == "tcp" else "udp"
    usage = f"use {kind}://HOST:PORT, e.g. {kind}://127.0.0.1:10110"
    if "/" in rest or "?" in rest or "#" in rest:
        raise SourceError(f"{text!r}: a {kind} source has no path or query; {usage}")
    if rest.startswith("["):
        host, bracket, after = rest[1:].partition("]")
        if not bracket or not after.startswith(":"):
            raise SourceError(f"{text!r}: missing ']:PORT' after the IPv6 address; {usage}")
        port_text = after[1:]
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon or ":" in host:
            raise SourceError(f"{text!r}: missing port (IPv6 needs brackets); {usage}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SourceError(f"{text!r}: port {port_text!r} is not a number from 1 to 65535")
    if not host:
        if kind == "tcp":
            raise SourceError(f"{text!r}: missing host; {usage}")
        host = "0.0.0.0"
    return kind, host, int(port_text)


class LineBuffer:
    """Cuts a byte stream into lines, keeping an unfinished last line for the next read."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._pending = b""
        self._max = max_line_bytes

    @property
    def pending(self) -> bytes:
        """The bytes received after the last newline."""
        return self._pending

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the lines they complete (no terminators, no blanks)."""
        buffer = self._pending + data
        cut = buffer.rfind(b"\n") + 1
        self._pending = buffer[cut:]
        lines = _lines(buffer[:cut])
        if len(self._pending) > self._max:
            lines.append(self._pending)
            self._pending = b""
        return lines

    def flush(self) -> list[bytes]:
        """Give up the unfinished line (e.g. at a disconnect); empty when there is none."""
        tail = self._pending.rstrip(b"\r")
        self._pending = b""
        return [tail] if tail.strip() else []


def _lines(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in data.split(b"\n") if line.strip()]


def tcp_lines(
    host: str,
    port: int,
    *,
    clock: Clock,
    stop: threading.Event,
    reconnect_max_s: float = 60.0,
    connect_timeout_s: float = 5.0,
) -> Iterator[LineChunk]:
    """Lines from a TCP server, reconnecting with exponential backoff until ``stop`` is set.

    Args:
        host: server name or address.
        port: server port.
        clock: gives receive times and performs the backoff waits.
        stop: set it to end the iterator (noticed within about 0.5 s).
        reconnect_max_s: the longest wait between two connection attempts.
        connect_timeout_s: how long one connection attempt may take.

    Yields:
        ``(lines, receive_time_ms)`` for every read that completed at least one line, and
        ``([unfinished_line], time_ms)`` when a connection drops in the middle of a line.
    """
    backoff_s = 1.0
    while not stop.is_set():
        got_data = False
        try:
            with socket.create_connection((host, port), timeout=connect_timeout_s) as sock:
                sock.settimeout(POLL_S)
                for chunk in _read_tcp(sock, clock, stop):
                    got_data = True
                    yield chunk
        except OSError:
            pass  # refused, unreachable, reset: all mean "try again later"
        if got_data:
            backoff_s = 1.0
        if stop.is_set():
            return
        _wait(clock, stop, backoff_s)
        backoff_s = min(backoff_s * 2, reconnect_max_s)


def _read_tcp(sock: socket.socket, clock: Clock, stop: threading.Event) -> Iterator[LineChunk]:
    """One connection's lines; ends at EOF, on a socket error or when ``stop`` is set."""
    buffer = LineBuffer()
    while not stop.is_set():
        try:
            data = sock.recv(_RECV_BYTES)
        except TimeoutError:
            yield [], clock.now_ms()  # a quiet feed: let the consumer flush what it holds
            continue
        except OSError:
            break
        if not data:
            break
        lines = buffer.feed(data)
        if lines:
            yield lines, clock.now_ms()
    tail = buffer.flush()  # cannot be completed by a new connection: let the decoder count it
    if tail:
        yield tail, clock.now_ms()


def _wait(clock: Clock, stop: threading.Event, seconds: float) -> None:
    """Wait ``seconds`` of clock time in steps of at most POLL_S, unless ``stop`` is set."""
    remaining_s = seconds
    while remaining_s > 0 and not stop.is_set():
        step_s = min(remaining_s, POLL_S)
        clock.sleep(step_s)
        remaining_s -= step_s


def udp_lines(host: str, port: int, *, clock: Clock, stop: threading.Event) -> Iterator[LineChunk]:
    """Lines from UDP datagrams sent to ``host:port``, until ``stop`` is set.

    The socket is bound when this function is called, so senders may start at once and a
    port that cannot be bound is reported here rather than at the first ``next()``.

    Raises:
        SourceError: the address cannot be bound (in use, not local, unknown host).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise SourceError(f"udp://{host}:{port}: cannot listen ({exc})") from exc
    try:
        sock.bind(address)
        sock.settimeout(POLL_S)
    except OSError as exc:
        sock.close()
        raise SourceError(f"udp://{host}:{port}: cannot listen ({exc})") from exc
    return _read_udp(sock, clock, stop)


def _read_udp(sock: socket.socket, clock: Clock, stop: threading.Event) -> Iterator[LineChunk]:
    with sock:
        while not stop.is_set():
            try:
                data = sock.recv(_RECV_BYTES)
            except TimeoutError:
                yield [], clock.now_ms()  # a quiet feed: let the consumer flush what it holds
                continue
            except OSError as exc:
                raise SourceError(f"udp listener {sock.getsockname()}: failed ({exc})") from exc
            lines = _lines(data)
            if lines:
                yield lines, clock.now_ms()
