"""Live sources on loopback: URL parsing, line framing across reads, reconnect backoff, UDP.

The socket tests use 127.0.0.1 with ephemeral ports, a ManualClock that records its sleeps
(so backoff never really waits) and a watchdog timer that sets ``stop`` if a test hangs.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seabridge.ais.live import POLL_S, LineBuffer, parse_source_url, tcp_lines, udp_lines
from seabridge.ais.summary import LineChunk
from seabridge.clock import ManualClock
from seabridge.errors import SourceError

SENTENCES = [
    b"!AIVDM,1,1,,A,13@oLv@P1s0qR7`Onro3JjhuP000,0*75",
    b"!AIVDM,1,1,,B,B3m=TNP0=P<CPt8TQkAhSwV00000,0*75",
    b"!AIVDM,2,1,1,A,53@oLv@2>?0duP4;801<D498T@LF0tpD00000016?0N:<5Pd0Bh@DR5Dh000,0*34",
    b"!AIVDM,2,2,1,A,00000000000,2*25",
    b"!AIVDM,1,1,,A,H3m=TNQ<D498T@LF1ALt00000000,0*5D",
]
WATCHDOG_S = 20.0


class RecordingClock(ManualClock):
    """A ManualClock that remembers every sleep."""

    def __init__(self) -> None:
        super().__init__(start_ms=1_700_000_000_000)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    """The stop event, set by a watchdog if a test runs far too long."""
    event = threading.Event()
    watchdog = threading.Timer(WATCHDOG_S, event.set)
    watchdog.start()
    yield event
    event.set()
    watchdog.cancel()


def serve(handlers: Sequence[Callable[[socket.socket], None]]) -> tuple[int, threading.Thread]:
    """A loopback TCP server that hands its n-th accepted connection to ``handlers[n]``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WATCHDOG_S)
    port = listener.getsockname()[1]

    def run() -> None:
        with listener:
            for handler in handlers:
                conn, _ = listener.accept()
                with conn:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    handler(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def split_awkwardly(data: bytes) -> list[bytes]:
    """Pieces cut inside sentences, between \\r and \\n, and one byte at a time."""
    cuts = [1, 5, 17, 52, 53, 54, 90, 91, 160, 161, len(data) - 3, len(data) - 2]
    cuts = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def collect(chunks: Iterator[LineChunk], stop: threading.Event, want: int) -> list[LineChunk]:
    """Read chunks until ``want`` lines arrived, then set ``stop`` and drain the iterator."""
    got: list[LineChunk] = []
    for chunk in chunks:
        got.append(chunk)
        if sum(len(lines) for lines, _ in got) >= want:
            stop.set()
    return got


# --- URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tcp://127.0.0.1:10110", ("tcp", "127.0.0.1", 10110)),
        ("udp://0.0.0.0:2000", ("udp", "0.0.0.0", 2000)),
        ("TCP://ais.example.org:5631", ("tcp", "ais.example.org", 5631)),
        ("tcp://[::1]:10110", ("tcp", "::1", 10110)),
        ("udp://:10110", ("udp", "0.0.0.0", 10110)),
        (" tcp://localhost:1 ", ("tcp", "localhost", 1)),
    ],
)
def test_parse_source_url(text: str, expected: tuple[str, str, int]) -> None:
    assert parse_source_url(text) == expected


@pytest.mark.parametrize(
    "text", ["feed.nmea", "-", "/data/tcp/feed.csv", "http://host:80", "tcp:/host:1", ""]
)
def test_not_a_socket_url(text: str) -> None:
    assert parse_source_url(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tcp://host", "missing port"),
        ("tcp://host:", "port ''"),
        ("tcp://host:ais", "port 'ais'"),
        ("tcp://host:0", "from 1 to 65535"),
        ("udp://host:70000", "from 1 to 65535"),
        ("tcp://:10110", "missing host"),
        ("tcp://host:10110/feed", "no path"),
        ("tcp://::1:10110", "IPv6 needs brackets"),
        ("tcp://[::1]10110", "]:PORT"),
    ],
)
def test_malformed_socket_url(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_source_url(text)


# --- framing ----------------------------------------------------------------------------


def test_line_buffer_keeps_the_unfinished_line() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"!AIVDM,1,1,,A,13@o") == []
    assert buffer.feed(b"Lv@P,0*75\r") == []
    assert buffer.feed(b"\n!AIVDM,2") == [b"!AIVDM,1,1,,A,13@oLv@P,0*75"]
    assert buffer.pending == b"!AIVDM,2"
    assert buffer.feed(b"\r\n\r\n\n") == [b"!AIVDM,2"]  # blank lines are dropped
    assert buffer.feed(b"tail") == []
    assert buffer.flush() == [b"tail"]
    assert buffer.flush() == []


def test_line_buffer_gives_up_endless_lines() -> None:
    buffer = LineBuffer(max_line_bytes=10)
    assert buffer.feed(b"0123456789ABC") == [b"0123456789ABC"]
    assert buffer.pending == b""


@given(st.lists(st.integers(0, 400), max_size=12), st.booleans())
def test_any_split_gives_the_same_lines(cuts: list[int], crlf: bool) -> None:
    data = (b"\r\n" if crlf else b"\n").join(SENTENCES) + b"\n"
    points = sorted({c for c in cuts if c < len(data)})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    buffer = LineBuffer()
    lines = [line for piece in pieces for line in buffer.feed(piece)]
    assert lines == SENTENCES and buffer.flush() == []


# --- TCP --------------------------------------------------------------------------------


@pytest.mark.network
def test_tcp_split_sentences_reconnect_and_partial_line(stop: threading.Event) -> None:
    clock = RecordingClock()
    accepted_ms: list[int] = []
    first = b"\r\n".join(SENTENCES[:3]) + b"\r\n" + SENTENCES[3][:20]  # ends mid-sentence

    def send_then_close(conn: socket.socket) -> None:
        accepted_ms.append(clock.now_ms())
        for piece in split_awkwardly(first):
            conn.sendall(piece)

    def send_rest(conn: socket.socket) -> None:
        accepted_ms.append(clock.now_ms())
        for piece in split_awkwardly(b"\n".join(SENTENCES[3:]) + b"\n"):
            conn.sendall(piece)
        conn.recv(1)  # hold the connection open until the client leaves

    port, server = serve([send_then_close, send_rest])
    chunks = collect(tcp_lines("127.0.0.1", port, clock=clock, stop=stop), stop, want=6)
    server.join(WATCHDOG_S)
    lines = [line for chunk_lines, _ in chunks for line in chunk_lines]
    # every line exactly once, and the cut-off tail of the first connection as its own line
    assert lines == [*SENTENCES[:3], SENTENCES[3][:20], *SENTENCES[3:]]
    assert [chunk_lines for chunk_lines, _ in chunks].count([SENTENCES[3][:20]]) == 1
    assert all(ts is not None and ts <= clock.now_ms() for _, ts in chunks)
    assert chunks[0][1] == 1_700_000_000_000  # receive time from the injected clock
    # one backoff step after a connection that delivered data: 1 s, in steps of <= 0.5 s
    assert accepted_ms[1] - accepted_ms[0] == 1000
    assert all(step <= POLL_S for step in clock.sleeps)


@pytest.mark.network
def test_tcp_backoff_doubles_and_resets_after_data(stop: threading.Event) -> None:
    clock = RecordingClock()
    accepted_ms: list[int] = []

    def close_at_once(conn: socket.socket) -> None:
        accepted_ms.append(clock.now_ms())

    def send_one(conn: socket.socket) -> None:
        accepted_ms.append(clock.now_ms())
        conn.sendall(SENTENCES[0] + b"\n")

    def send_last(conn: socket.socket) -> None:
        accepted_ms.append(clock.now_ms())
        conn.sendall(SENTENCES[1] + b"\n")
        conn.recv(1)

    handlers = [close_at_once] * 4 + [send_one, close_at_once, send_last]
    port, server = serve(handlers)
    chunks = collect(
        tcp_lines("127.0.0.1", port, clock=clock, stop=stop, reconnect_max_s=4.0), stop, want=2
    )
    server.join(WATCHDOG_S)
    assert [lines for lines, _ in chunks] == [[SENTENCES[0]], [SENTENCES[1]]]
    gaps_s = [(b - a) / 1000 for a, b in itertools.pairwise(accepted_ms)]
    # 1, 2, 4, then capped at 4; after the connection with data the backoff starts at 1 again
    assert gaps_s == [1, 2, 4, 4, 1, 2]
    assert sum(clock.sleeps) == sum(gaps_s)


@pytest.mark.network
def test_tcp_keeps_retrying_a_refused_port_until_stopped(stop: threading.Event) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again: nothing listens there now

    class StoppingClock(RecordingClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if sum(self.sleeps) >= 31:
                stop.set()

    clock = StoppingClock()
    chunks = list(tcp_lines("127.0.0.1", port, clock=clock, stop=stop, reconnect_max_s=16))
    assert chunks == []
    assert sum(clock.sleeps) == 1 + 2 + 4 + 8 + 16


@pytest.mark.network
def test_tcp_stop_is_noticed_while_waiting_for_data(stop: threading.Event) -> None:
    release = threading.Event()
    stopped_at: list[float] = []

    def silent(conn: socket.socket) -> None:  # connected, never sends; then stop is set
        stopped_at.append(time.monotonic())
        stop.set()
        release.wait(WATCHDOG_S)

    port, server = serve([silent])
    chunks = list(tcp_lines("127.0.0.1", port, clock=RecordingClock(), stop=stop))
    assert [lines for lines, _ in chunks if lines] == []  # only quiet-feed heartbeats
    assert time.monotonic() - stopped_at[0] < 3 * POLL_S  # one socket timeout, plus slack
    release.set()
    server.join(WATCHDOG_S)


# --- UDP --------------------------------------------------------------------------------


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.network
def test_udp_datagrams(stop: threading.Event) -> None:
    clock = RecordingClock()
    port = free_udp_port()
    chunks = udp_lines("127.0.0.1", port, clock=clock, stop=stop)  # bound from here on
    datagrams = [
        SENTENCES[0] + b"\r\n" + SENTENCES[1] + b"\r\n",
        SENTENCES[2] + b"\n" + SENTENCES[3],  # the last line of a datagram needs no newline
        b"\r\n",
        SENTENCES[4],
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in datagrams:
            sender.sendto(datagram, ("127.0.0.1", port))
    got = collect(chunks, stop, want=5)
    assert [lines for lines, _ in got] == [SENTENCES[:2], SENTENCES[2:4], [SENTENCES[4]]]
    assert {ts for _, ts in got} == {clock.now_ms()}


@pytest.mark.network
def test_udp_port_in_use(stop: threading.Event) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(SourceError, match=f"udp://127.0.0.1:{port}"):
            udp_lines("127.0.0.1", port, clock=RecordingClock(), stop=stop)
