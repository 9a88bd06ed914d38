"""Framing forms, multipart assembly and timing rules, on small hand-made inputs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from seabridge.ais.framing import TagBlock, frame_line, parse_leading_time_ms, parse_tag_block
from seabridge.ais.sample import SAMPLE_START_MS, sample_lines
from seabridge.units import iso_to_ms, ms_to_iso
from support import decode_lines

POSITION = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"  # type 1, MMSI 371798000
PART1 = b"!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C"
PART2 = b"!AIVDM,2,2,1,A,88888888880,2*25"


def tag(body: str) -> bytes:
    check = 0
    for byte in body.encode():
        check ^= byte
    return f"\\{body}*{check:02X}\\".encode()


def _times(lines: list[bytes], tmp_path: Path) -> list[str]:
    decoded = decode_lines(lines, tmp_path)
    return [ms_to_iso(int(t.timestamp() * 1000)) for t in decoded.positions["ts"].to_pylist()]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b"2024-05-01T12:00:00Z ", "2024-05-01T12:00:00Z"),
        (b"2024-05-01 12:00:00.250,", "2024-05-01T12:00:00.250Z"),
        (b"2024-05-01T21:00:00+09:00\t", "2024-05-01T12:00:00Z"),
        (b"1714564800 ", "2024-05-01T12:00:00Z"),
        (b"1714564800.5;", "2024-05-01T12:00:00.500Z"),
        (b"1714564800500|", "2024-05-01T12:00:00.500Z"),
    ],
)
def test_leading_timestamps(tmp_path: Path, prefix: bytes, expected: str) -> None:
    assert _times([prefix + POSITION], tmp_path) == [expected]


def test_time_precedence_tag_block_then_line_then_nothing(tmp_path: Path) -> None:
    lines = [
        b"1714564800 " + tag("c:1714564900") + POSITION,  # tag block wins
        POSITION + b",b003669794,1714565000",  # USCG trailer
        POSITION,  # no time at all
    ]
    decoded = decode_lines(lines, tmp_path)
    times = [ms_to_iso(int(t.timestamp() * 1000)) for t in decoded.positions["ts"].to_pylist()]
    assert sorted(times) == ["2024-05-01T12:01:40Z", "2024-05-01T12:03:20Z"]
    assert [(r["line"], r["reason"]) for r in decoded.rejects] == [(3, "no_timestamp")]


def test_tag_block_checksums() -> None:
    assert parse_tag_block(b"s:x,c:1700000000*00") is not None  # 00: not computed, accepted
    good = tag("s:x,c:1700000000")[1:-1]
    assert parse_tag_block(good) == TagBlock(1_700_000_000_000, "x", None)
    assert parse_tag_block(good[:-2] + b"7F") is None  # a wrong checksum


def test_bad_tag_block_checksum_rejects_the_line(tmp_path: Path) -> None:
    decoded = decode_lines([b"\\s:x,c:1700000000*7F\\" + POSITION], tmp_path)
    assert [r["reason"] for r in decoded.rejects] == ["bad_checksum"]


def test_talkers_and_own_ship_sentences(tmp_path: Path) -> None:
    lines = []
    for talker in (b"AI", b"AB", b"BS", b"AN", b"SA"):
        for kind in (b"VDM", b"VDO"):
            sentence = b"!" + talker + kind + POSITION[6:-3]
            check = 0
            for byte in sentence[1:]:
                check ^= byte
            lines.append(tag("c:1700000000") + sentence + f"*{check:02X}".encode())
    assert decode_lines(lines, tmp_path).summary.positions == 10


def test_fragments_from_two_stations_assemble_separately(tmp_path: Path) -> None:
    a, b = tag("s:alpha,c:1700000000"), tag("s:beta,c:1700000001")
    # Interleaved: alpha 1, beta 1, beta 2, alpha 2 -> two messages, nothing mixed.
    decoded = decode_lines([a + PART1, b + PART1, b + PART2, a + PART2], tmp_path)
    assert decoded.summary.statics == 2 and decoded.rejects == []


def test_out_of_order_fragments_and_orphans(tmp_path: Path) -> None:
    stamp = tag("c:1700000000")
    decoded = decode_lines([stamp + PART2, stamp + PART1, stamp + PART2], tmp_path)
    # PART2 then PART1 completes; the second PART2 is an orphan and never completes.
    assert decoded.summary.statics == 1
    assert [(r["line"], r["reason"]) for r in decoded.rejects] == [(3, "incomplete_multipart")]


def test_a_fragment_older_than_the_age_limit_is_incomplete(tmp_path: Path) -> None:
    lines = [
        tag("c:1700000000") + PART1,
        tag("c:1700000300") + POSITION,
        tag("c:1700000301") + PART2,
    ]
    decoded = decode_lines(lines, tmp_path)
    reasons = [(r["line"], r["reason"]) for r in decoded.rejects]
    assert (1, "incomplete_multipart") in reasons and decoded.summary.statics == 0


def test_start_mode_places_reports_by_their_second_field(tmp_path: Path) -> None:
    # Second fields of these real reports: 33, 13, 35 (gpsd sample.aivdm).
    lines = [
        b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
        b"!AIVDM,1,1,,A,16SteH0P00Jt63hHaa6SagvJ087r,0*42",
        b"!AIVDM,1,1,,A,38Id705000rRVJhE7cl9n;160000,0*40",
    ]
    start = iso_to_ms("2024-05-01T12:00:30Z")
    decoded = decode_lines(lines, tmp_path, start_ms=start)
    by_mmsi = {row["mmsi"]: row["ts"] for row in decoded.positions.to_pylist()}
    times = [
        ms_to_iso(int(by_mmsi[m].timestamp() * 1000)) for m in (371798000, 440348000, 563808000)
    ]
    # 33 is 3 s ahead of the start; 13 is within 30 s behind (a late report); 35 is ahead.
    assert times == ["2024-05-01T12:00:33Z", "2024-05-01T12:00:13Z", "2024-05-01T12:00:35Z"]


def test_frame_line_reports_garbage() -> None:
    assert frame_line(b"hello world").error == "bad_framing"
    assert frame_line(b"yesterday !AIVDM,1,1,,A,1,0*00").error == "bad_framing"
    assert parse_leading_time_ms(b"  ") is None


def test_start_mode_timeline_without_base_stations_tracks_true_time(tmp_path: Path) -> None:
    # The built-in sample's reports carry true times in tag blocks; strip them and rebuild.
    tagged = [line.encode() for line in sample_lines(20)]
    truth = decode_lines(tagged, tmp_path, source="truth").positions
    untagged = [line.split(b"\\")[-1] for line in tagged]
    placed = decode_lines(untagged, tmp_path, start_ms=SAMPLE_START_MS, source="placed").positions
    true_ms = sorted(int(t.timestamp() * 1000) for t in truth["ts"].to_pylist())
    placed_ms = sorted(int(t.timestamp() * 1000) for t in placed["ts"].to_pylist())
    assert len(true_ms) == len(placed_ms)
    assert max(abs(a - b) for a, b in zip(true_ms, placed_ms, strict=True)) <= 30_000
    assert placed_ms[-1] - placed_ms[0] == pytest.approx(true_ms[-1] - true_ms[0], abs=30_000)


def test_start_mode_timeline_follows_base_stations(shared_data: Path, tmp_path: Path) -> None:
    # The AISHub sample spans about 3.5 minutes by its base stations' UTC (messages 4).
    log = shared_data / "ais" / "aishub-nmea-sample" / "nmea-sample.txt"
    start = iso_to_ms("2024-05-01T00:00:00Z")
    decoded = decode_lines(log.read_bytes().splitlines(), tmp_path, start_ms=start)
    times_ms = [int(t.timestamp() * 1000) for t in decoded.positions["ts"].to_pylist()]
    assert max(times_ms) - min(times_ms) < 6 * 60_000
    # One vessel reporting every 2 s keeps 2 s steps.
    rows = [r for r in decoded.positions.to_pylist() if r["mmsi"] == 305816000][:8]
    steps = {int((b["ts"] - a["ts"]).total_seconds()) for a, b in itertools.pairwise(rows)}
    assert steps == {2}


def test_uscg_trailer_with_an_alphanumeric_station(tmp_path: Path) -> None:
    line = POSITION + b",s22,d-098,T40.4,x14221,r09SSAN1,1700000002"
    assert _times([line], tmp_path) == ["2023-11-14T22:13:22Z"]
