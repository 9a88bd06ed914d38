"""The decoder's bulk paths against its one-line-at-a-time paths.

The bulk paths: the framing of tagged lines (framing.frame_tagged), the whole 168-bit
reports of a chunk taken at once (packed.find_packed) and static reports decoded once per
content. Every input is decoded twice, once as the decoder does it (with bulk paths for any
chunk size) and once with them turned off (every tagged line through framing.frame_line and
parse_tag_block, every sentence through the loop, every static through pyais), and
everything must be equal: the sentences with their line numbers, raw lines, times and
stations, the quarantine records, the decoder's state between chunks, and the records.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pyais
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seabridge.ais import nmea, sentences
from seabridge.ais._rows import rows_of
from seabridge.ais.framing import frame_tagged
from seabridge.ais.nmea import NmeaDecoder
from seabridge.ais.packed import PACKED_TYPES, find_packed
from seabridge.ais.quarantine import Quarantine, Reason
from seabridge.ais.summary import IngestSummary
from seabridge.sim import Simulation, load_scenario

POSITION = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"  # type 1, MMSI 371798000
PART1 = b"!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C"
PART2 = b"!AIVDM,2,2,1,A,88888888880,2*25"
TIME_S = 1_700_000_000


class RecordingQuarantine(Quarantine):
    """Keeps every rejection in memory, in order."""

    def __init__(self) -> None:
        super().__init__(None)
        self.records: list[tuple[str, str, int, bytes | str]] = []

    def reject(self, reason: Reason, source: str, line_no: int, raw: bytes | str) -> None:
        super().reject(reason, source, line_no, raw)
        self.records.append((reason.value, source, line_no, raw))


@contextmanager
def one_by_one() -> Iterator[None]:
    """The decoder with its bulk paths turned off."""
    with (
        mock.patch.object(sentences, "frame_tagged", lambda lines: None),
        mock.patch.object(NmeaDecoder, "_bulk_packed", lambda *args: None),
        mock.patch.object(nmea, "_REPEATED_TYPES", frozenset()),
    ):
        yield


@contextmanager
def bulk() -> Iterator[None]:
    """The decoder with its bulk paths on for chunks of any size."""
    with mock.patch.object(nmea, "_BULK_MIN", 1):
        yield


def checksum(body: bytes) -> str:
    return f"{reduce(xor, body, 0):02X}"


def tag(body: bytes, check: str | None = None) -> bytes:
    return b"\\" + body + b"*" + (check or checksum(body)).encode() + b"\\"


def _decoder(quarantine: Quarantine, start_ms: int | None) -> NmeaDecoder:
    return NmeaDecoder(
        "test", quarantine, IngestSummary(rejected=quarantine.counts), start_ms=start_ms
    )


def _frames(
    chunks: Sequence[Sequence[bytes]], receive_ms: int | None, start_ms: int | None
) -> list[Any]:
    """Each chunk's framed sentences, with the decoder's state and quarantine after it."""
    quarantine = RecordingQuarantine()
    decoder = _decoder(quarantine, start_ms)
    out: list[Any] = []
    for chunk in chunks:
        framer = decoder.framer
        framed = framer.frame(chunk, receive_ms)
        state = (framer.line_no, framer.gatehouse_ms, dict(framer.groups))
        out.append((dataclasses.astuple(framed), state, decoder.summary.lines))
    out.append(quarantine.records)
    return out


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with NaN written "nan", which compares equal to itself, and times as integers
    (a generated time may lie past the year 9999)."""
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type):
            table = table.set_column(index, column.name, table.column(index).cast(pa.int64()))
    return [
        {key: "nan" if value != value else value for key, value in row.items()}
        for row in table.to_pylist()
    ]


def _decoded(
    chunks: Sequence[Sequence[bytes]], receive_ms: int | None, start_ms: int | None
) -> tuple[Any, ...]:
    """The whole decode: records, summary and quarantine."""
    quarantine = RecordingQuarantine()
    decoder = _decoder(quarantine, start_ms)
    for chunk in chunks:
        decoder.feed(chunk, receive_ms)
    decoder.finish()
    positions, statics = decoder.take()
    return (
        _rows(pa.Table.from_batches([positions])),
        _rows(pa.Table.from_batches([statics])),
        dataclasses.asdict(decoder.summary),
        quarantine.records,
    )


def assert_same(
    chunks: Sequence[Sequence[bytes]],
    receive_ms: int | None = None,
    start_ms: int | None = None,
) -> None:
    """The bulk and the line-by-line framing agree on ``chunks``, framed and decoded."""
    with bulk():
        fast_frames, fast_decoded = (
            _frames(chunks, receive_ms, start_ms),
            _decoded(chunks, receive_ms, start_ms),
        )
    with one_by_one():
        slow_frames, slow_decoded = (
            _frames(chunks, receive_ms, start_ms),
            _decoded(chunks, receive_ms, start_ms),
        )
    assert fast_frames == slow_frames
    assert fast_decoded == slow_decoded


def _chunked(lines: list[bytes], size: int) -> list[list[bytes]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)]


# -- the simulator's output ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_lines() -> list[bytes]:
    simulation = Simulation(load_scenario("ecs-mini"), duration_s=600.0)
    return [line.encode() for tx in simulation.transmissions() for line in tx.lines()]


def test_the_simulator_output_is_framed_in_bulk(sim_lines: list[bytes]) -> None:
    tagged = frame_tagged(sim_lines)
    assert tagged is not None
    assert tagged.index.size == len(sim_lines)  # every line, multipart fragments included
    assert any(b"!AIVDM,2,1," in line for line in sim_lines)
    assert len(set(tagged.station)) > 1


def test_the_bulk_paths_take_most_of_the_simulator_output(sim_lines: list[bytes]) -> None:
    texts = [line[line.index(b"!") :] for line in sim_lines]
    rows, payloads = find_packed(texts, np.ones(len(texts), dtype=bool))
    single = [text for text in texts if text.startswith(b"!AIVDM,1,1,")]
    assert rows.size == len(payloads) > 0.9 * len(single)
    assert [texts[i].split(b",")[5] for i in rows.tolist()] == payloads
    quarantine = RecordingQuarantine()
    decoder = _decoder(quarantine, None)
    decoder.feed(sim_lines)
    statics = decoder._type_counts[5] + decoder._type_counts[24]
    assert 0 < len(decoder._decoded) < statics  # static reports repeat: decoded once each


@pytest.mark.parametrize("size", [1, 7, 1000, 100_000])
def test_simulator_output_framed_alike(sim_lines: list[bytes], size: int) -> None:
    assert_same(_chunked(sim_lines, size))


def test_simulator_output_with_crlf_and_damage(sim_lines: list[bytes]) -> None:
    lines = [line + b"\r" for line in sim_lines[:3000]]
    lines[10] = lines[10].replace(b"*", b"*0", 1)  # a tag block checksum of three digits
    lines[20] = lines[20][:-4] + b"00\r"  # a wrong sentence checksum
    lines[30] = lines[30].replace(b"c:", b"c:x")  # a time that is not a number
    lines[40] = b"# a comment"
    lines[50] = lines[50][:-1] + b" \r"  # a space before the CR
    lines[60] = b""
    assert_same(_chunked(lines, 1000), receive_ms=TIME_S * 1000)


# -- the shared real feeds, as they are and with a tag block on every sentence -------------


def _feeds(shared_data: Path) -> list[Path]:
    folder = shared_data / "ais"
    paths = [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in {".nmea", ".aivdm", ".log", ".txt"}
    ]
    if not paths:
        pytest.skip(f"no NMEA files under {folder}")
    return paths


def _tagged(lines: list[bytes]) -> list[bytes]:
    """Every line that is one sentence, under a tag block; the forms vary by line."""
    out = []
    for number, line in enumerate(lines):
        if not line.startswith(b"!"):
            out.append(line)
            continue
        time_s = TIME_S + number // 3
        body = [
            b"s:rx-%d,c:%d" % (number % 4, time_s),
            b"c:%d,s:rx %d" % (time_s, number % 3),
            b"c:%d" % (time_s * 1000 + number),
            b"s:,c:%d" % time_s,
        ][number % 4]
        out.append(tag(body, "00" if number % 5 == 0 else None) + line)
    return out


def test_shared_feeds_framed_alike(shared_data: Path) -> None:
    for path in _feeds(shared_data):
        lines = path.read_bytes().split(b"\n")
        for size in (1_000_000, 5):
            assert_same(_chunked(lines, size), start_ms=TIME_S * 1000)
            assert_same(_chunked(_tagged(lines), size))


def test_shared_feeds_under_tag_blocks_take_the_bulk_path(shared_data: Path) -> None:
    lines = (shared_data / "ais" / "gpsd" / "sample.aivdm").read_bytes().split(b"\n")
    tagged = frame_tagged(_tagged(lines))
    assert tagged is not None
    bare = re.compile(rb"![A-Z]{2}VD[MO][^*!$\\]*\*[0-9A-Fa-f]{2}\r?")
    assert tagged.index.size == sum(bool(bare.fullmatch(line)) for line in lines) > 100


# -- hand-made edges ----------------------------------------------------------------------


def test_what_the_bulk_path_takes_and_leaves() -> None:
    good = tag(b"s:a,c:1700000000") + POSITION
    lines = [
        good,  # 0: taken
        tag(b"c:1700000000,s:b") + POSITION,  # 1: taken, c: first
        tag(b"s:a,c:1700000000", "00") + POSITION,  # 2: taken, checksum not computed
        tag(b"s:a,c:1700000000", "7F") + POSITION,  # 3: wrong tag block checksum
        tag(b"g:1-2-7,s:a,c:1700000000") + PART1,  # 4: a group
        tag(b"s:a") + POSITION,  # 5: no time
        tag(b"s:a,c:0") + POSITION,  # 6: time 0, no time
        good + b",b003669794,1714565000",  # 7: a trailer
        tag(b"s:a,c:1700000000") + POSITION + tag(b"c:1700000001") + POSITION,  # 8: two
        b" " + good,  # 9: leading space
        good + b"\r",  # 10: taken, CR
        tag(b"s:a,c:1700000000") + b"$GPGGA,1*00",  # 11: not AIS
        tag(b"s:a,c:1700000000.5") + POSITION,  # 12: taken, a fraction parses
        tag(b"s:a,c:1700000000123,q:u") + POSITION,  # 13: taken, milliseconds, another field
        tag(b"s:a*b,c:1700000000") + POSITION,  # 14: a star in the tag block
        tag(b"s:a,c:1700000000") + b" " + POSITION,  # 15: a space before the sentence
        good[:-1] + b" ",  # 16: one checksum digit and a space
    ]
    tagged = frame_tagged(lines)
    assert tagged is not None
    assert tagged.index.tolist() == [0, 1, 2, 10, 12, 13]
    assert tagged.time_ms == [1_700_000_000_000] * 4 + [1_700_000_000_500, 1_700_000_000_123]
    assert tagged.station == ["a", "b", "a", "a", "a", "a"]
    assert tagged.raw[3] == good
    assert tagged.text == [POSITION] * 6
    assert_same([lines], receive_ms=TIME_S * 1000)
    assert_same([[line] for line in lines])


def test_gatehouse_time_is_spent_by_a_tagged_line() -> None:
    gatehouse = b"$PGHP,1,2023,11,14,22,13,20,0,,,,,*00"
    lines = [gatehouse, tag(b"s:a,c:1700000000") + POSITION, POSITION]
    assert_same([lines])
    assert_same([lines[:1], lines[1:]])


def test_static_reports_differing_late_in_their_bits_are_not_confused() -> None:
    lines = []
    for number, destination in enumerate(["SHANGHAI", "NINGBO", "SHANGHAI"]):
        report: dict[str, str | int | float | bytes | bool] = {
            "type": 5,
            "mmsi": 412000001,
            "shipname": "A",
            "destination": destination,
        }
        for sentence in pyais.encode_dict(report, talker_id="AI", seq_id=number % 10):
            lines.append(tag(b"s:a,c:%d" % (TIME_S + number)) + sentence.encode())
    decoded = _decoded([lines], None, None)
    assert [row["destination"] for row in decoded[1]] == ["SHANGHAI", "NINGBO", "SHANGHAI"]
    assert_same([lines])


def test_reports_taken_in_bulk_move_the_data_clock() -> None:
    """A fragment older than the age limit by the data time of a later report expires."""
    chunks = [
        [tag(b"s:a,c:%d" % TIME_S) + PART1, tag(b"s:a,c:%d" % (TIME_S + 120)) + POSITION],
        [tag(b"s:a,c:%d" % (TIME_S + 30)) + PART2],
    ]
    decoded = _decoded(chunks, None, None)
    assert [(record[0], record[2]) for record in decoded[3]] == [
        ("incomplete_multipart", 1),
        ("incomplete_multipart", 3),
    ]
    assert_same(chunks)


# -- generated lines ----------------------------------------------------------------------

_STATION_BYTES = st.lists(st.sampled_from(list(b"ab09-_: ,*!$\\\t\r\x00\xff")), max_size=6).map(
    bytes
)
_TIMES = st.one_of(
    st.integers(0, 10**15).map(lambda n: b"%d" % n),
    st.sampled_from([b"", b"0", b"00001700000000", b"1700000000.25", b"-5", b"1e9", b"x", b"nan"]),
)
_PAYLOAD = POSITION.split(b",")[5]


@st.composite
def _built_sentences(draw: st.DrawFn) -> bytes:
    """Sentences near the whole-report form, with a right checksum."""
    count = draw(st.sampled_from([b"1,1"] * 3 + [b"2,1", b"1,2", b"11,1", b"1,10", b"1", b""]))
    payload = draw(
        st.sampled_from(
            [_PAYLOAD] * 4
            + [_PAYLOAD[:-1], _PAYLOAD + b"0", b"5" + _PAYLOAD[1:], b"B" + _PAYLOAD[1:]]
            + [_PAYLOAD[:9] + b"X" + _PAYLOAD[10:], _PAYLOAD[:27] + b"x", b""]
        )
    )
    fill = draw(st.sampled_from([b"0", b"0", b"2", b"6", b"", b"00"]))
    body = b"AIVDM," + count + b",,A," + payload + b"," + fill
    return b"!" + body + b"*" + checksum(body).encode()


_SENTENCES = st.one_of(
    _built_sentences(),
    st.sampled_from(
        [
            POSITION,
            PART1,
            PART2,
            POSITION.replace(b"VDM", b"VDO")[:-2]
            + checksum(POSITION[1:-3].replace(b"VDM", b"VDO")).encode(),
            POSITION[:-2] + b"00",  # a wrong checksum
            POSITION[:-2] + b"4a",  # lowercase
            POSITION + b",b003669794,1714565000",  # a USCG trailer
            POSITION.replace(b",0*", b",0**"),
            b"!AIVDM,1,1,,A,*00",
            b"$GPGGA,123519,4807.038,N*47",
            b"!AIVD",
            POSITION[:-1] + b" ",  # one checksum digit, then a space
        ]
    ),
)


@st.composite
def _tag_blocks(draw: st.DrawFn) -> bytes:
    fields = []
    if draw(st.booleans()):
        fields.append(b"s:" + draw(_STATION_BYTES))
    if draw(st.integers(0, 5)):
        fields.append(b"c:" + draw(_TIMES))
    if not draw(st.integers(0, 5)):
        fields.append(draw(st.sampled_from([b"g:1-2-42", b"g:2-2-42", b"g:bad", b"q:u", b"T:x"])))
    fields = draw(st.permutations(fields))
    body = b",".join(fields)
    check = draw(st.sampled_from([None, None, None, "00", "7F", "4", "", "ZZ", "001"]))
    if check == "" and draw(st.booleans()):
        return b"\\" + body + b"\\"  # no checksum at all
    if check is None:
        check = checksum(body).lower() if draw(st.integers(0, 4)) == 0 else checksum(body)
    return tag(body, check)


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(
            st.sampled_from([b"", b"# comment", b"   ", b"$PGHP,1,2023,11,14,22,13,20,0,,,,,*00"])
        )
    if kind == 1:
        line = draw(_SENTENCES)  # a bare sentence
    else:
        between = draw(st.sampled_from([b""] * 6 + [b" ", b"x", b"\\"]))
        line = draw(_tag_blocks()) + between + draw(_SENTENCES)
        if kind == 2:
            line += draw(_tag_blocks()) + draw(_SENTENCES)  # two on one line
    decoration = draw(st.integers(0, 7))
    if decoration == 1:
        line += b"\r"
    elif decoration == 2:
        line = b" " + line + b"\r\n"
    elif decoration == 3:
        line = b"1700000000 " + line  # a leading timestamp
    return line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_lines(), min_size=1, max_size=30),
    st.integers(1, 30),
    st.sampled_from([None, TIME_S * 1000]),
)
def test_generated_lines_framed_alike(
    lines: list[bytes], size: int, receive_ms: int | None
) -> None:
    assert_same(_chunked(lines, size), receive_ms=receive_ms)
    assert_same([lines], start_ms=TIME_S * 1000)


def _whole_report(text: bytes) -> bool:
    """The decoder's one-sentence test for a whole 168-bit report (nmea.NmeaDecoder.feed)."""
    fields = text.split(b",")
    if len(fields) != 7 or fields[1] != b"1" or fields[2] != b"1" or fields[6][:1] != b"0":
        return False
    payload = fields[5]
    return (
        len(payload) == 28
        and not payload.translate(None, nmea._ARMOR)
        and nmea._SIXBIT[payload[0]] in PACKED_TYPES
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_built_sentences(), st.booleans()), max_size=40))
def test_find_packed_is_the_one_sentence_test(sentences: list[tuple[bytes, bool]]) -> None:
    texts = [text for text, _ in sentences]
    candidate = np.array([ok for _, ok in sentences], dtype=bool)
    rows, payloads = find_packed(texts, candidate)
    expected = [i for i, (text, ok) in enumerate(sentences) if ok and _whole_report(text)]
    assert rows.tolist() == expected
    assert payloads == [texts[i].split(b",")[5] for i in expected]


def test_rows_of_only_when_every_line_holds_its_share() -> None:
    starts, ends = np.array([0, 10]), np.array([10, 20])
    rows = rows_of(np.array([1, 2, 11, 12]), 2, starts, ends)
    assert rows is not None and rows.tolist() == [[1, 2], [11, 12]]
    assert rows_of(np.array([1, 11, 12, 13]), 2, starts, ends) is None  # one, then three
    assert rows_of(np.array([1, 2, 3, 11]), 2, starts, ends) is None  # three, then one
    assert rows_of(np.array([1, 2, 11]), 2, starts, ends) is None
