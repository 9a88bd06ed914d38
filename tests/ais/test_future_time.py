"""Reports timed in the future: quarantined as ``future_time`` on every ingest path.

The bound is the clock's now plus ``ingest.future_horizon_min`` (default 60 minutes); a
receiver's drift of seconds passes, the horizon itself passes, one second more does not. The
clock is a ManualClock, so "now" is fixed; the node's pipeline is tested in
tests/node/test_pipeline_future_time.py.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pyais
import pyarrow as pa
import pytest

from seabridge.ais.csvfmt import read_csv_archive
from seabridge.ais.horizon import Horizon
from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.summary import IngestSummary
from seabridge.clock import ManualClock, SystemClock
from seabridge.config import Settings
from seabridge.sim.encode import tag_block
from support import tagged_position

NOW_MS = 1_777_593_600_000  # 2026-05-01T00:00:00Z: the clock's now in every test here
NOW_S = NOW_MS // 1000
HORIZON_S = 3600  # the default of ingest.future_horizon_min
YEAR_S = 365 * 86_400
BORDER_MS = NOW_MS + HORIZON_S * 1000  # the latest time accepted


def _sentences(fields: dict[str, Any], seq_id: int = 0) -> list[bytes]:
    sentences = pyais.encode_dict(fields, talker_id="AI", sentence_type="VDM", seq_id=seq_id)
    return [sentence.encode() for sentence in sentences]


def position(time_s: int, mmsi: int = 431000001, *, tagged: bool = True) -> bytes:
    """A whole type 1 report (the decoder's bulk path), under a tag block or bare."""
    line = tagged_position(time_s, mmsi)
    return line if tagged else line.rsplit(b"\\", 1)[1]


def static_report(time_s: int, mmsi: int = 431000001, seq_id: int = 1) -> list[bytes]:
    """A type 5 report: two fragments, each under a tag block ``c:time_s``."""
    report: dict[str, Any] = {"type": 5, "msg_type": 5, "mmsi": mmsi, "shipname": "SEABRIDGE"}
    report |= {"callsign": "JA01", "ship_type": 70, "to_bow": 100, "to_stern": 20}
    report |= {"to_port": 10, "to_starboard": 10}
    return [tag_block("rx", time_s).encode() + s for s in _sentences(report, seq_id)]


def class_b_extended(time_s: int, mmsi: int = 431000002) -> bytes:
    """A type 19 report: a position and a static report in one sentence."""
    report: dict[str, Any] = {"type": 19, "msg_type": 19, "mmsi": mmsi, "lat": 25.6, "lon": 123.6}
    report |= {"speed": 5.0, "course": 10.0, "heading": 10, "shipname": "B ONE", "ship_type": 37}
    (sentence,) = _sentences(report)
    return tag_block("rx", time_s).encode() + sentence


class Run:
    """One decoder over chunks of lines, bounded at NOW_MS plus the default horizon."""

    def __init__(self, tmp_path: Path, *, bounded: bool = True, start_ms: int | None = None):
        self.path = tmp_path / "quarantine.jsonl"
        self.quarantine = Quarantine(self.path)
        self.summary = IngestSummary(rejected=self.quarantine.counts)
        horizon = Horizon(ManualClock(NOW_MS), HORIZON_S * 1000) if bounded else None
        self.decoder = NmeaDecoder(
            "feed.nmea", self.quarantine, self.summary, start_ms=start_ms, horizon=horizon
        )

    def __call__(self, *chunks: list[bytes]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        for chunk in chunks:
            self.decoder.feed(chunk)
        self.decoder.finish()
        positions, statics = self.decoder.take()
        self.quarantine.close()
        return positions, statics

    def rejects(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]


def _times_s(batch: pa.RecordBatch) -> list[int]:
    return [ms // 1000 for ms in batch.column("ts").cast(pa.int64()).to_pylist()]


@pytest.mark.parametrize("count", [10, 100], ids=["line-by-line", "bulk"])
def test_a_position_a_year_ahead_is_quarantined_with_its_line(tmp_path: Path, count: int) -> None:
    lines = [position(NOW_S - count + i, 431000001 + i) for i in range(count)]
    bad = count // 2
    lines[bad] = position(NOW_S + YEAR_S, 431009999)
    run = Run(tmp_path)
    positions, _ = run(lines)
    assert positions.num_rows == count - 1
    assert 431009999 not in positions.column("mmsi").to_pylist()
    assert run.rejects() == [
        {
            "source": "feed.nmea",
            "line": bad + 1,
            "reason": "future_time",
            "raw": lines[bad].decode(),
        }
    ]
    assert run.summary.rejected == {"future_time": 1}
    assert (run.summary.messages, run.summary.positions) == (count, count - 1)


def test_drift_of_seconds_passes_and_the_horizon_is_the_last_time_accepted(tmp_path: Path) -> None:
    times = [NOW_S - 5, NOW_S + 2, NOW_S + 30, BORDER_MS // 1000, BORDER_MS // 1000 + 1]
    run = Run(tmp_path)
    positions, _ = run([position(t, 431000001 + i) for i, t in enumerate(times)])
    assert _times_s(positions) == times[:4]
    assert [(r["line"], r["reason"]) for r in run.rejects()] == [(5, "future_time")]


def test_the_decoder_alone_has_no_bound(tmp_path: Path) -> None:
    far = 253_402_300_800 + YEAR_S  # past the year 9999, as the framing tests generate
    run = Run(tmp_path, bounded=False)
    positions, _ = run([position(NOW_S), position(NOW_S + YEAR_S), position(far)])
    assert _times_s(positions) == [NOW_S, NOW_S + YEAR_S, far]
    assert run.rejects() == []


def test_static_reports_are_bounded_too(tmp_path: Path) -> None:
    ahead = static_report(NOW_S + YEAR_S, 431000001, seq_id=1)
    fine = static_report(NOW_S, 431000003, seq_id=2)
    run = Run(tmp_path)
    positions, statics = run([*ahead, *fine, class_b_extended(NOW_S + YEAR_S)])
    assert statics.column("mmsi").to_pylist() == [431000003]
    assert positions.num_rows == 0
    # Each line once: the type 19 line's position and static report are one line.
    assert sorted((r["line"], r["reason"]) for r in run.rejects()) == [
        (1, "future_time"),
        (2, "future_time"),
        (5, "future_time"),
    ]
    assert run.summary.rejected == {"future_time": 3}


@pytest.mark.parametrize("fillers", [1, 80], ids=["line-by-line", "bulk"])
def test_a_future_time_ages_out_no_multipart_message(tmp_path: Path, fillers: int) -> None:
    first, second = static_report(NOW_S, 431000001)
    chunk = [first, *(position(NOW_S, 431000100 + i) for i in range(fillers))]
    chunk.append(position(NOW_S + YEAR_S, 431000099))
    run = Run(tmp_path)
    positions, statics = run(chunk, [second])
    assert statics.column("mmsi").to_pylist() == [431000001]
    assert positions.num_rows == fillers
    assert run.summary.rejected == {"future_time": 1}


def test_a_future_time_does_not_move_the_start_clock(tmp_path: Path) -> None:
    lines = [
        position(NOW_S, 431000001, tagged=False),
        position(NOW_S + YEAR_S, 431000002),
        position(NOW_S + 10, 431000003, tagged=False),
    ]
    run = Run(tmp_path, start_ms=NOW_MS)
    positions, _ = run(lines)
    assert positions.column("mmsi").to_pylist() == [431000001, 431000003]
    assert max(_times_s(positions)) <= NOW_S + 60
    assert [(r["line"], r["reason"]) for r in run.rejects()] == [(2, "future_time")]


# --- CSV archives ---------------------------------------------------------------------------

NOAA_HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo"
)
DMA_HEADER = (
    "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
    "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
    "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D"
)


def noaa_row(ts: str, mmsi: int) -> str:
    return f"{mmsi},{ts},37.80,-122.40,10.5,162.0,511.0,ONE,IMO9321483,WDA1234,70,0,180,30,9,70"


def dma_row(ts: str, mmsi: int, lat: str = "55.6761", name: str = "") -> str:
    fields = [ts, "Class A", str(mmsi), lat, "12.5683", "Under way using engine", "0.0"]
    fields += ["12.3", "87.5", "88", "Unknown", "", name, "Cargo", "", "", "", "GPS", "", ""]
    return ",".join([*fields, "", "AIS", "", "", "", ""])


def _read_csv(path: Path, fmt: str, tmp_path: Path) -> tuple[pa.Table, pa.Table, list[Any]]:
    quarantine_path = tmp_path / "csv.quarantine.jsonl"
    with Quarantine(quarantine_path) as quarantine:
        batches = list(
            read_csv_archive(
                path,
                fmt,
                source=path.name,
                quarantine=quarantine,
                summary=IngestSummary(rejected=quarantine.counts),
                horizon=Horizon(ManualClock(NOW_MS), HORIZON_S * 1000),
            )
        )
    rejects = [json.loads(line) for line in quarantine_path.read_text().splitlines()]
    positions = pa.Table.from_batches([p for p, _ in batches])
    return positions, pa.Table.from_batches([s for _, s in batches]), rejects


def test_csv_rows_with_a_wrong_year_are_quarantined_with_their_lines(tmp_path: Path) -> None:
    rows = [
        noaa_row("2026-05-01T00:00:00", 366000001),
        noaa_row("2027-05-01T00:00:00", 366000002),  # a wrong year
        noaa_row("2026-05-01T00:00:30", 366000003),  # seconds of drift
        noaa_row("2026-05-01T01:00:00", 366000004),  # the horizon itself
        noaa_row("2026-05-01T01:00:01.5", 366000005),
    ]
    path = tmp_path / "AIS_2026_05_01.csv"
    path.write_text("\n".join([NOAA_HEADER, *rows]) + "\n")
    positions, statics, rejects = _read_csv(path, "noaa-csv", tmp_path)
    assert positions.column("mmsi").to_pylist() == [366000001, 366000003, 366000004]
    assert statics.column("mmsi").to_pylist() == [366000001, 366000003, 366000004]
    assert rejects == [
        {"source": path.name, "line": 3, "reason": "future_time", "raw": rows[1]},
        {"source": path.name, "line": 6, "reason": "future_time", "raw": rows[4]},
    ]


def test_dma_static_rows_with_a_wrong_year_are_quarantined(tmp_path: Path) -> None:
    rows = [
        dma_row("01/05/2026 00:00:00", 219000001, lat="91", name="FINE"),  # a static row
        dma_row("01/05/2027 00:00:00", 219000002, lat="91", name="AHEAD"),
        dma_row("01/05/2027 00:00:00", 219000003),
    ]
    path = tmp_path / "aisdk-2026-05-01.csv"
    path.write_text("\n".join([DMA_HEADER, *rows]) + "\n")
    positions, statics, rejects = _read_csv(path, "dma-csv", tmp_path)
    assert positions.num_rows == 0
    assert statics.column("name").to_pylist() == ["FINE"]
    assert [(r["line"], r["reason"]) for r in rejects] == [(3, "future_time"), (4, "future_time")]


# --- the ingest entry point --------------------------------------------------------------------


class ListSink:
    def __init__(self) -> None:
        self.positions: list[pa.RecordBatch] = []

    def append_positions(self, batch: pa.RecordBatch) -> int:
        self.positions.append(batch)
        return 0

    def append_statics(self, batch: pa.RecordBatch) -> int:
        return 0

    def mmsis(self) -> list[int]:
        return [m for batch in self.positions for m in batch.column("mmsi").to_pylist()]


def _ingest(sources: list[str], tmp_path: Path, **options: Any) -> tuple[ListSink, list[Any]]:
    path = tmp_path / "ingest.quarantine.jsonl"
    path.unlink(missing_ok=True)
    sink = ListSink()
    with Quarantine(path) as quarantine:
        summary = ingest(sources, sink, quarantine, IngestOptions(**options))
    rejects = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    assert summary.rejected == ({"future_time": len(rejects)} if rejects else {})
    return sink, rejects


def test_ingest_bounds_nmea_files_and_csv_archives_on_its_clock(tmp_path: Path) -> None:
    nmea = tmp_path / "feed.nmea"
    nmea.write_bytes(b"\n".join([position(NOW_S), position(NOW_S + YEAR_S, 431000099)]) + b"\n")
    csv = tmp_path / "AIS_2026_05_01.csv"
    rows = [noaa_row("2026-05-01T00:00:00", 366000001), noaa_row("2036-05-01T00:00:00", 366000099)]
    csv.write_text("\n".join([NOAA_HEADER, *rows]) + "\n")
    sink, rejects = _ingest([str(nmea), str(csv)], tmp_path, clock=ManualClock(NOW_MS))
    assert sink.mmsis() == [431000001, 366000001]
    assert [(r["source"], r["line"], r["reason"]) for r in rejects] == [
        (str(nmea), 2, "future_time"),
        (str(csv), 3, "future_time"),
    ]


def test_ingest_without_a_clock_bounds_on_the_system_clock(tmp_path: Path) -> None:
    wall_s = SystemClock().now_ms() // 1000
    nmea = tmp_path / "feed.nmea"
    nmea.write_bytes(b"\n".join([position(wall_s), position(wall_s + YEAR_S, 431000099)]))
    sink, rejects = _ingest([str(nmea)], tmp_path)
    assert sink.mmsis() == [431000001]
    assert [(r["line"], r["reason"]) for r in rejects] == [(2, "future_time")]


def test_the_setting_turns_the_bound_off(tmp_path: Path) -> None:
    nmea = tmp_path / "feed.nmea"
    nmea.write_bytes(position(NOW_S + YEAR_S, 431000099) + b"\n")
    off = Settings({"ingest.future_horizon_min": 0})
    sink, rejects = _ingest([str(nmea)], tmp_path, clock=ManualClock(NOW_MS), settings=off)
    assert (sink.mmsis(), rejects) == ([431000099], [])
    wide = Settings({"ingest.future_horizon_min": 10080})  # a week: still not a year
    sink, rejects = _ingest([str(nmea)], tmp_path, clock=ManualClock(NOW_MS), settings=wide)
    assert (sink.mmsis(), len(rejects)) == ([], 1)
    assert Horizon.from_settings(off, ManualClock(NOW_MS)) is None


class StopAfterFeed(ManualClock):
    """The live clock at NOW_MS; its first backoff wait (the feed ended) stops the ingest."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(NOW_MS)
        self.stop = stop

    def sleep(self, seconds: float) -> None:
        self.stop.set()
        super().sleep(seconds)


@pytest.mark.network
def test_a_live_feed_is_bounded_on_the_ingest_clock(tmp_path: Path) -> None:
    payload = b"\r\n".join([position(NOW_S), position(NOW_S + YEAR_S, 431000099)]) + b"\r\n"
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                connection.sendall(payload)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    stop = threading.Event()
    source = f"tcp://127.0.0.1:{port}"
    sink, rejects = _ingest([source], tmp_path, clock=StopAfterFeed(stop), stop=stop)
    thread.join(timeout=10)
    assert sink.mmsis() == [431000001]
    assert [(r["source"], r["line"], r["reason"]) for r in rejects] == [(source, 2, "future_time")]
