"""node.sources.FileSource: the lines it hands the decoder, and its cursor, against the
line-by-line definition (CRLF, blank and whitespace lines, a line still being written)."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.node.sources import FileSource, SourceConfig, _nonblank_lines

SENTENCE = b"!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E"
# Pieces a line is made of: sentences, every byte bytes.strip() removes, a lone CR.
PIECES = [SENTENCE, b"\\s:rx,c:1*00\\", b"#note", b" ", b"\t", b"\x0b", b"\x0c", b"\r", b"\r\n"]


def reference(data: bytes) -> list[bytes]:
    """The lines before the last newline, one at a time, as FileSource first read them."""
    cut = data.rfind(b"\n") + 1
    return [line.rstrip(b"\r") for line in data[:cut].split(b"\n")[:-1] if line.strip()]


chunks = st.lists(st.lists(st.sampled_from(PIECES), max_size=4).map(b"".join), max_size=12).map(
    lambda lines: b"\n".join(lines)
)


@settings(max_examples=500, deadline=None)
@given(chunks)
def test_nonblank_lines_equal_the_line_by_line_definition(data: bytes) -> None:
    got = _nonblank_lines(data)
    assert got == reference(data)
    assert all(type(line) is bytes for line in got)


def test_lf_crlf_blank_and_stray_cr_chunks() -> None:
    lf = SENTENCE + b"\n" + SENTENCE + b"\n" + SENTENCE[:9]  # the last line is unfinished
    crlf = lf.replace(b"\n", b"\r\n")
    blanks = b"\n" + SENTENCE + b"\n\n\r\n" + SENTENCE + b"\r\n\n"
    stray_cr = SENTENCE + b"\r\r\n" + SENTENCE[:5] + b"\r" + SENTENCE[5:] + b"\n"
    spaced = b" " + SENTENCE + b" \n\t\n" + SENTENCE + b"\n"
    for data in (lf, crlf, blanks, stray_cr, spaced, b"", b"\n", b"\r\n", SENTENCE):
        assert _nonblank_lines(data) == reference(data), data
    assert _nonblank_lines(crlf) == [SENTENCE, SENTENCE]
    assert _nonblank_lines(blanks) == [SENTENCE, SENTENCE]
    assert _nonblank_lines(stray_cr)[1] == SENTENCE[:5] + b"\r" + SENTENCE[5:]


def _source(path: Path, cursor: dict[str, int] | None = None) -> FileSource:
    source = FileSource(SourceConfig("rx", url=str(path)), path.parent, dict(cursor or {}))
    source.start()
    return source


def test_a_growing_crlf_file_is_read_whole_lines_at_a_time(tmp_path: Path) -> None:
    feed = tmp_path / "feed.nmea"
    first = b"\r\n" + SENTENCE + b"\r\n \r\n" + SENTENCE[:20]
    feed.write_bytes(first)
    source = _source(feed)
    assert source.poll(100) == [(str(feed), ([SENTENCE], None))]
    assert source.cursor() == {str(feed): first.rfind(b"\n") + 1}
    with feed.open("ab") as out:
        out.write(SENTENCE[20:] + b"\r\n\r\n" + SENTENCE + b"\r\n")
    assert source.poll(100) == [(str(feed), ([SENTENCE, SENTENCE], None))]
    assert source.cursor() == {str(feed): feed.stat().st_size}
    assert source.poll(100) == []
    resumed = _source(feed, {str(feed): first.rfind(b"\n") + 1})
    assert resumed.poll(100) == [(str(feed), ([SENTENCE, SENTENCE], None))]


def test_a_gzip_file_is_read_by_line_count(tmp_path: Path) -> None:
    text = b"\r\n".join([SENTENCE, b"", b" ", SENTENCE + b"\r", b"#x", SENTENCE])  # no end
    feed = tmp_path / "feed.nmea.gz"
    feed.write_bytes(gzip.compress(text))
    pieces = text.split(b"\n")
    for done in range(len(pieces) + 1):
        source = _source(feed, {str(feed): done})
        want = [line.rstrip(b"\r") for line in pieces[done:] if line.strip()]
        assert source.poll(100) == ([(str(feed), (want, None))] if want else [])
        assert source.cursor() == {str(feed): len(pieces)}
