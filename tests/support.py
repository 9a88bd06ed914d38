"""Test helpers shared across folders: a decoder harness and batch builders.

Named ``support`` (not ``conftest``) so that ``from support import ...`` is unambiguous:
several test folders have a conftest.py of their own.
"""

from __future__ import annotations

import json
import random
import socket
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.summary import IngestSummary


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
