"""Raw lines of one input stream -> the AIS sentences in them, in bulk where it can.

:class:`SentenceFramer` numbers the lines of a stream and turns each chunk into
:class:`Sentences`: every ``!xxVDM``/``!xxVDO`` sentence with its line, the raw line, its data
time and its receiving station. Three paths give the same columns (a differential test holds
them equal): a chunk of nothing but bare sentences and the lines of the common
``\\s:station,c:time*hh\\!AIVDM...`` form are framed with numpy; anything else line by line
through :func:`~seabridge.ais.framing.frame_line` (tag blocks and ``g:`` groups, leading
timestamps, USCG trailers, Gatehouse ``$PGHP`` wrappers, concatenated sentences).
:func:`checksums_ok` verifies a whole chunk's checksums at once.

Rejected lines go to the ``reject`` callback (the decoder's quarantine); nothing raises for
bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from seabridge.ais.framing import (
    TagBlock,
    TaggedLines,
    frame_line,
    frame_tagged,
    gatehouse_time_ms,
    trailer_time_ms,
)
from seabridge.ais.quarantine import Reason
from seabridge.ais.summary import IngestSummary

__all__ = ["SentenceFramer", "Sentences", "checksums_ok"]

_BANG, _HASH, _DOLLAR = ord("!"), ord("#"), ord("$")
_STAR, _BACKSLASH, _V, _D, _M, _O = (ord(c) for c in "*\\VDMO")
_MIN_SENTENCE = len(b"!AIVDM,1,1,,,,0*00")
_AIS_SENTENCES = (b"VDM", b"VDO")
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i

#: Where a framer sends a rejected line: (reason, line number, raw line).
Reject = Callable[[Reason, int, bytes], None]


@dataclass(slots=True)
class Sentences:
    """The AIS sentences of one chunk, in input order, as parallel columns."""

    text: list[bytes] = field(default_factory=list)
    line_no: list[int] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    time_ms: list[int | None] = field(default_factory=list)
    station: list[str | None] = field(default_factory=list)

    def pick(self, rows: list[int]) -> Sentences:
        """The sentences at ``rows``, in their order."""
        return Sentences(
            [self.text[i] for i in rows],
            [self.line_no[i] for i in rows],
            [self.raw[i] for i in rows],
            [self.time_ms[i] for i in rows],
            [self.station[i] for i in rows],
        )


def checksums_ok(sentences: Sequence[bytes]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """NMEA checksums of many ``!...*hh`` sentences at once (XOR of bytes between ! and *)."""
    count = len(sentences)
    if count == 0:
        return np.zeros(0, dtype=bool)
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=count)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    data = np.frombuffer(b"".join(sentences), dtype=np.uint8)
    prefix = np.bitwise_xor.accumulate(data)
    # XOR over [start + 1, end - 3): prefix[end - 4] ^ prefix[start]
    computed = prefix[ends - 4] ^ prefix[starts]
    high, low = _HEX[data[ends - 2]], _HEX[data[ends - 1]]
    expected = (high.astype(np.int32) << 4) | low
    ok: np.ndarray[Any, np.dtype[np.bool_]] = (computed == expected) & (high != 255) & (low != 255)
    return ok


def _inherit(tag: TagBlock | None, previous: TagBlock | None) -> TagBlock | None:
    """Sentences concatenated on one line came from one receiver: a later tag block that
    lacks the station or the time takes them from the one before it on the line."""
    if previous is None:
        return tag
    if tag is None:
        return TagBlock(previous.time_ms, previous.station, None)
    if tag.station is not None and tag.time_ms is not None:
        return tag
    return TagBlock(
        tag.time_ms if tag.time_ms is not None else previous.time_ms,
        tag.station if tag.station is not None else previous.station,
        tag.group,
    )


class SentenceFramer:
    """Frames the chunks of one input stream: line numbers, a pending Gatehouse time and
    ``g:`` groups carry over from chunk to chunk; ``summary.lines`` counts the lines."""

    def __init__(self, summary: IngestSummary, reject: Reject) -> None:
        self.summary = summary
        self._reject = reject
        self.line_no = 0  # of the last line framed
        self.gatehouse_ms: int | None = None  # a ``$PGHP`` time waiting for its sentence
        self.groups: dict[str, tuple[str | None, int | None]] = {}

    def frame(self, lines: Sequence[bytes], receive_ms: int | None) -> Sentences:
        """The chunk's sentences: in bulk when every line is bare, or for the lines of the
        common tagged form; else line by line. All three give the same columns."""
        return (
            self._plain(lines, receive_ms)
            or self._tagged(lines, receive_ms)
            or self._lines(lines, receive_ms)
        )

    def _plain(self, lines: Sequence[bytes], receive_ms: int | None) -> Sentences | None:
        """A chunk of nothing but bare ``!xxVDM``/``!xxVDO`` sentences, framed in bulk.

        Many feeds are exactly that: one sentence per line, no tag block, no trailer, no
        timestamp. numpy checks the whole chunk at once; any other line anywhere in it (a
        tag block, a comment, a CR, a trailer, a ``$`` sentence) returns None and the chunk
        goes through :meth:`_lines` line by line.
        """
        count = len(lines)
        if count == 0 or self.gatehouse_ms is not None or lines[0][:1] != b"!":
            return None
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=count)
        if int(lengths.min()) < _MIN_SENTENCE:
            return None
        data = np.frombuffer(b"".join(lines), dtype=np.uint8)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        plain = (
            (data[starts] == _BANG)
            & (data[ends - 3] == _STAR)
            & (data[starts + 3] == _V)
            & (data[starts + 4] == _D)
            & ((data[starts + 5] == _M) | (data[starts + 5] == _O))
        )
        if not plain.all():
            return None
        # One '!' and one '*' per line, and no tag block or '$' sentence anywhere.
        if np.count_nonzero(data == _BANG) != count or np.count_nonzero(data == _STAR) != count:
            return None
        if np.count_nonzero((data == _BACKSLASH) | (data == _DOLLAR)):
            return None
        first = self.line_no + 1
        self.line_no += count
        self.summary.lines += count
        texts = list(lines)
        return Sentences(
            texts, list(range(first, first + count)), texts, [receive_ms] * count, [None] * count
        )

    def _tagged(self, lines: Sequence[bytes], receive_ms: int | None) -> Sentences | None:
        """The lines of the common tagged form (``\\s:x,c:t*hh\\!AIVDM...``) framed in bulk
        by :func:`~seabridge.ais.framing.frame_tagged`, the others line by line, in order.

        A tagged line's time is its ``c:``, so a pending ``$PGHP`` time goes unused (and is
        spent, as :meth:`_add` does); it has no ``g:``, so group state is untouched. None
        when no line is of that form.
        """
        tagged = frame_tagged(lines)
        if tagged is None:
            return None
        count = len(lines)
        if tagged.index.size == count:
            return self._take_tagged(tagged, 0, count)
        mask = np.zeros(count, dtype=bool)
        mask[tagged.index] = True
        cuts = [0, *(np.flatnonzero(mask[1:] != mask[:-1]) + 1).tolist(), count]
        out = Sentences()
        done = 0  # tagged lines taken so far
        for begin, end in pairwise(cuts):
            if mask[begin]:
                part = self._take_tagged(tagged, done, done + end - begin)
                done += end - begin
            else:
                part = self._lines(lines[begin:end], receive_ms)
            out.text += part.text
            out.line_no += part.line_no
            out.raw += part.raw
            out.time_ms += part.time_ms
            out.station += part.station
        return out

    def _take_tagged(self, tagged: TaggedLines, begin: int, end: int) -> Sentences:
        """Tagged lines ``begin:end`` (consecutive in the chunk), numbered and counted."""
        first = self.line_no + 1
        self.line_no += end - begin
        self.summary.lines += end - begin
        self.gatehouse_ms = None
        return Sentences(
            tagged.text[begin:end],
            list(range(first, first + end - begin)),
            tagged.raw[begin:end],
            tagged.time_ms[begin:end],
            tagged.station[begin:end],
        )

    def _lines(self, lines: Sequence[bytes], receive_ms: int | None) -> Sentences:
        out = Sentences()
        text, numbers, raws, times, stations = (
            out.text,
            out.line_no,
            out.raw,
            out.time_ms,
            out.station,
        )
        line_no = self.line_no
        counted = 0
        for raw in lines:
            line_no += 1
            line = raw.strip()
            if not line or line[0] == _HASH:
                continue
            counted += 1
            if line[0] == _BANG and b"\\" not in line and line.count(b"!") == 1:
                star = line.find(b"*")
                if star < 0 or len(line) < star + 3:
                    self._reject(Reason.BAD_FRAMING, line_no, line)
                    continue
                if line[3:6] not in _AIS_SENTENCES:
                    self._reject(Reason.NOT_AIS, line_no, line)
                    continue
                time_ms = trailer_time_ms(line[star + 3 :]) if len(line) > star + 3 else None
                if self.gatehouse_ms is not None:
                    time_ms = self.gatehouse_ms if time_ms is None else time_ms
                    self.gatehouse_ms = None
                if time_ms is None:
                    time_ms = receive_ms
                text.append(line[: star + 3])
                numbers.append(line_no)
                raws.append(line)
                times.append(time_ms)
                stations.append(None)
                continue
            self._slow(out, line, line_no, receive_ms)
        self.line_no = line_no
        self.summary.lines += counted
        return out

    def _slow(self, out: Sentences, line: bytes, line_no: int, receive_ms: int | None) -> None:
        framed = frame_line(line)
        previous: TagBlock | None = None
        for piece in framed.pieces:
            time_ms = piece.trailer_time_ms
            if time_ms is None:
                time_ms = framed.leading_time_ms
            tag = _inherit(piece.tag, previous)
            self._add(out, piece.sentence, line_no, line, tag, time_ms, receive_ms)
            previous = tag if tag is not None else previous
        if framed.error is not None:
            self._reject(Reason(framed.error), line_no, line)

    def _add(
        self,
        out: Sentences,
        sentence: bytes,
        line_no: int,
        line: bytes,
        tag: TagBlock | None,
        line_time_ms: int | None,
        receive_ms: int | None,
    ) -> None:
        if sentence[0] == _DOLLAR:
            gatehouse = gatehouse_time_ms(sentence) if sentence.startswith(b"$PGHP") else None
            if gatehouse is None:
                self._reject(Reason.NOT_AIS, line_no, line)
            self.gatehouse_ms = gatehouse
            return
        if sentence[3:6] not in _AIS_SENTENCES:
            self._reject(Reason.NOT_AIS, line_no, line)
            return
        station: str | None = None
        time_ms: int | None = None
        if tag is not None:
            station, time_ms = self._tag_context(tag)
        if time_ms is None:
            time_ms = line_time_ms
        if time_ms is None:
            time_ms = self.gatehouse_ms if self.gatehouse_ms is not None else receive_ms
        self.gatehouse_ms = None
        out.text.append(sentence)
        out.line_no.append(line_no)
        out.raw.append(line)
        out.time_ms.append(time_ms)
        out.station.append(station)

    def _tag_context(self, tag: TagBlock) -> tuple[str | None, int | None]:
        """Station and time of a tag block; later sentences of a ``g:`` group inherit them."""
        station, time_ms = tag.station, tag.time_ms
        if tag.group is not None:
            number, total, group_id = tag.group
            if number == 1:
                if len(self.groups) > 4096:
                    self.groups.pop(next(iter(self.groups)))
                self.groups[group_id] = (station, time_ms)
            else:
                first_station, first_time = self.groups.get(group_id, (None, None))
                station = station if station is not None else first_station
                time_ms = time_ms if time_ms is not None else first_time
                if number == total:
                    self.groups.pop(group_id, None)
        return station, time_ms
