"""The ingest pipeline end to end: sources -> decoder -> sink, including a live TCP feed."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.sample import sample_lines
from seabridge.clock import ManualClock
from seabridge.errors import FormatError, SourceError


class ListSink:
    """Collects batches like the track store would, without de-duplication."""

    def __init__(self) -> None:
        self.positions: list[pa.RecordBatch] = []
        self.statics: list[pa.RecordBatch] = []

    def append_positions(self, batch: pa.RecordBatch) -> int:
        self.positions.append(batch)
        return 0

    def append_statics(self, batch: pa.RecordBatch) -> int:
        self.statics.append(batch)
        return 0

    def rows(self) -> int:
        return sum(batch.num_rows for batch in self.positions)


class StopWhenServerGone(ManualClock):
    """A clock whose first backoff wait means "the feed ended": it stops the ingest."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(1_700_000_000_000)
        self.stop = stop

    def sleep(self, seconds: float) -> None:
        self.stop.set()
        super().sleep(seconds)


def _serve_once(payload: bytes) -> tuple[int, threading.Thread]:
    """A one-connection TCP server that sends ``payload`` in awkward pieces, then closes."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]

    def run() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                for start in range(0, len(payload), 997):  # splits sentences mid-line
                    connection.sendall(payload[start : start + 997])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


@pytest.mark.network
def test_tcp_feed_yields_the_same_records_as_the_file(tmp_path: Path) -> None:
    lines = sample_lines(10)
    path = tmp_path / "sample.nmea"
    path.write_text("\n".join(lines) + "\n")
    from_file = ListSink()
    with Quarantine(None) as quarantine:
        file_summary = ingest([str(path)], from_file, quarantine)

    port, server = _serve_once(("\r\n".join(lines) + "\r\n").encode())
    stop = threading.Event()
    live = ListSink()
    options = IngestOptions(clock=StopWhenServerGone(stop), stop=stop)
    with Quarantine(None) as quarantine:
        summary = ingest([f"tcp://127.0.0.1:{port}"], live, quarantine, options)
    server.join(timeout=10)
    assert summary.positions == file_summary.positions == live.rows() == from_file.rows()
    assert summary.rejected == file_summary.rejected
    times = pa.concat_tables([pa.Table.from_batches(live.positions)])["ts"]
    assert times.to_pylist() == pa.Table.from_batches(from_file.positions)["ts"].to_pylist()


def test_unusable_sources_fail_before_anything_is_read(tmp_path: Path) -> None:
    good = tmp_path / "good.nmea"
    good.write_text("\n".join(sample_lines(1)) + "\n")
    sink = ListSink()
    with Quarantine(None) as quarantine, pytest.raises(SourceError, match=r"nope\.nmea"):
        ingest([str(good), str(tmp_path / "nope.nmea")], sink, quarantine)
    assert sink.positions == []
    with Quarantine(None) as quarantine, pytest.raises(FormatError, match="xml"):
        ingest([str(good)], sink, quarantine, IngestOptions(fmt="xml"))
