"""Test helpers shared across folders: a decoder harness and batch builders.

Named ``support`` (not ``conftest``) so that ``from support import ...`` is unambiguous:
several test folders have a conftest.py of their own.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from operator import xor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyais.encode import encode_dict

from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.summary import IngestSummary

if TYPE_CHECKING:  # the web layer loads only in the tests that serve a node
    from seabridge.node.directory import Address, ConsoleTLS
    from seabridge.node.service import Node


@dataclass
class Decoded:
    """Everything one decoder run produced."""

    positions: pa.Table
    statics: pa.Table
    summary: IngestSummary
    rejects: list[dict[str, object]]


def decode_lines(
    lines: list[bytes], tmp_path: Path, *, start_ms: int | None = None, source: str = "test"
) -> Decoded:
    """Run one NmeaDecoder over ``lines`` and collect records, counters and quarantine."""
    quarantine_path = tmp_path / f"quarantine-{source.replace('/', '_')}.jsonl"
    quarantine = Quarantine(quarantine_path)
    summary = IngestSummary(rejected=quarantine.counts)
    decoder = NmeaDecoder(source, quarantine, summary, start_ms=start_ms)
    decoder.feed(lines)
    decoder.finish()
    positions, statics = decoder.take()
    quarantine.close()
    rejects = []
    if quarantine_path.exists():
        rejects = [json.loads(line) for line in quarantine_path.read_text().splitlines()]
    return Decoded(
        pa.Table.from_batches([positions]), pa.Table.from_batches([statics]), summary, rejects
    )


def decode_file(path: Path, tmp_path: Path, *, start_ms: int | None = None) -> Decoded:
    """Decode a whole NMEA file in one chunk."""
    return decode_lines(
        path.read_bytes().splitlines(), tmp_path, start_ms=start_ms, source=path.name
    )


def position_batch(rows: list[tuple[object, ...]]) -> pa.RecordBatch:
    """A POSITION_SCHEMA batch from rows in schema order (ts as int ms)."""
    from seabridge.ais.records import POSITION_SCHEMA

    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(values, pa.int64()).cast(field.type)
        if field.name == "ts"
        else pa.array(values, field.type)
        for field, values in zip(POSITION_SCHEMA, columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=POSITION_SCHEMA)


def tagged_position(time_s: int, mmsi: int = 431000001, *, station: str = "rx") -> bytes:
    """A type 1 report (one whole 168-bit sentence, the decoder's bulk path) under a tag block
    ``s:station,c:`` with the time in milliseconds (any year, also past 9999)."""
    report: dict[str, Any] = {"type": 1, "msg_type": 1, "mmsi": mmsi, "second": time_s % 60}
    report |= {"lat": 25.5, "lon": 123.5, "speed": 10.0, "course": 90.0, "heading": 90, "status": 0}
    (sentence,) = encode_dict(report, talker_id="AI", sentence_type="VDM")
    tag = b"s:%s,c:%d" % (station.encode(), time_s * 1000)
    return b"\\" + tag + b"*%02X\\" % reduce(xor, tag, 0) + sentence.encode()


def demo_ports_base() -> int:
    """A port P with P, P+1, P+10 and P+11 free now (``seabridge demo --ports-base``; tests
    run in parallel), below the ephemeral range (Linux: 32768 up), where outgoing connections
    and other processes' listeners (a Dask cluster) would take them meanwhile."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 32_000)
        try:
            for port in (base, base + 1, base + 10, base + 11):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no four free loopback ports for the demo")


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def served(
    node: Node,
    federation: Address,
    console: Address,
    console_tls: ConsoleTLS | None = None,
) -> Iterator[Node]:
    """``serve_service`` over ``node`` on its own event loop in a thread until the block
    ends; an error in the thread fails the test instead of being lost."""
    from seabridge.web.server import serve_service

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
                    console_tls=console_tls,
                    stop=stop,
                    on_ready=lambda _node: ready.set(),
                    log_level="warning",
                )
            )
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            failed.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="served-node")
    thread.start()
    try:
        assert ready.wait(120) and not failed, failed
        yield node
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(120)
        loop.close()
    assert not failed, failed
