"""Line framing: what surrounds an AIS sentence on a line of a real feed.

A line may carry, around one or more ``!xxVDM``/``!xxVDO`` sentences:

- a leading timestamp (ISO 8601, or epoch seconds) and a separator;
- NMEA 4.10 tag blocks ``\\s:station,c:time,g:1-2-42*hh\\`` before each sentence
  (IEC 61162-1:2016 §7.9; ``c:`` is epoch seconds, or milliseconds in some feeds);
- USCG NAIS trailing fields after the checksum: ``,b003669794,1272412827``
  (station, then the receive time in epoch seconds);
- a Gatehouse ``$PGHP`` sentence that time-stamps the next AIS sentence;
- a second tag block and sentence concatenated on the same line.

This module only splits and parses those parts. It never decodes payloads and never
raises on bad input: it returns None or a :class:`Framed` with ``error`` set.
:func:`frame_tagged` frames, a whole chunk at once with numpy, the lines of the most common
tagged form (``\\s:station,c:time*hh\\!xxVDM...*hh``); it says which lines it framed, and
the others go through :func:`frame_line`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import xor
from typing import Any

import numpy as np

from seabridge.ais._rows import rows_of

__all__ = [
    "Framed",
    "Piece",
    "TagBlock",
    "TaggedLines",
    "frame_line",
    "frame_tagged",
    "gatehouse_time_ms",
    "parse_leading_time_ms",
    "parse_tag_block",
    "trailer_time_ms",
]

# c: values above this are milliseconds: 1e11 s is in the year 5138.
_MS_THRESHOLD = 100_000_000_000
_SEGMENT = re.compile(rb"(?:\\([^\\]*)\\)?([!$][^!$\\]*)")
_DIGITS = re.compile(rb"\d{9,13}(?:\.\d+)?")
_EPOCH_SECONDS = re.compile(rb"\d{10}(?:\.\d+)?")
_SEPARATORS = b" \t,;|"


@dataclass(frozen=True, slots=True)
class TagBlock:
    """The fields of an NMEA 4.10 tag block that Seabridge uses."""

    time_ms: int | None
    station: str | None
    group: tuple[int, int, str] | None  # (sentence number, total, group id)


@dataclass(frozen=True, slots=True)
class Piece:
    """One sentence found on a line, with its tag block and its trailer."""

    tag: TagBlock | None
    sentence: bytes
    trailer_time_ms: int | None


@dataclass(frozen=True, slots=True)
class Framed:
    """A line split into its parts; ``error`` names a Reason value when it is unusable."""

    pieces: tuple[Piece, ...]
    leading_time_ms: int | None
    error: str | None = None


def _checksum(body: bytes) -> int:
    return reduce(xor, body, 0)


def parse_tag_block(text: bytes) -> TagBlock | None:
    """Parse the inside of ``\\...\\``; None when its checksum is wrong.

    A checksum of ``00`` is read as "not computed" (Spire's feeds write it) and accepted.
    Unknown or malformed fields are ignored: a bad ``g:`` never loses the sentence.
    """
    body, star, check = text.partition(b"*")
    if star:
        try:
            expected = int(check[:2], 16)
        except ValueError:
            return None
        if expected != 0 and expected != _checksum(body):
            return None
    time_ms: int | None = None
    station: str | None = None
    group: tuple[int, int, str] | None = None
    for field in body.split(b","):
        key, _, value = field.partition(b":")
        if key == b"c":
            time_ms = _epoch_to_ms(value)
        elif key == b"s":
            station = value.decode("ascii", "replace") or None
        elif key == b"g":
            group = _parse_group(value)
    return TagBlock(time_ms, station, group)


def _parse_group(value: bytes) -> tuple[int, int, str] | None:
    parts = value.split(b"-")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        number, total = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if not 1 <= number <= total:
        return None
    return number, total, parts[2].decode("ascii", "replace")


def _epoch_to_ms(value: bytes) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if number != number or number <= 0:
        return None
    return round(number) if number >= _MS_THRESHOLD else round(number * 1000)


def parse_leading_time_ms(prefix: bytes) -> int | None:
    """A timestamp before the sentence: ISO 8601 or epoch seconds (or ms); None if neither."""
    text = prefix.strip(_SEPARATORS)
    if not text:
        return None
    if _DIGITS.fullmatch(text):
        return _epoch_to_ms(text)
    try:
        iso = text.decode("ascii").replace("Z", "+00:00").replace("z", "+00:00")
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def trailer_time_ms(trailer: bytes) -> int | None:
    """The receive time in USCG trailing fields: the first epoch-seconds field after the
    checksum (10 digits, optional fraction). Other trailer fields (``d-109``, ``S2105``,
    ``t050056.00``, ``T56.137``, the station ``r003669946`` or ``r09SSAN1``) never match."""
    if not trailer:
        return None
    for field in trailer.split(b","):
        if _EPOCH_SECONDS.fullmatch(field):
            return _epoch_to_ms(field)
    return None


def gatehouse_time_ms(sentence: bytes) -> int | None:
    """The time of a ``$PGHP,1,...`` wrapper (year, month, day, h, min, s, ms); else None."""
    fields = sentence.split(b"*")[0].split(b",")
    if len(fields) < 9 or fields[1] != b"1":
        return None
    try:
        year, month, day, hour, minute, second, millis = (int(f) for f in fields[2:9])
        moment = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)


def frame_line(line: bytes) -> Framed:
    """Split a stripped, non-empty line into sentences with their tag blocks and trailers."""
    start = len(line)
    for marker in (b"!", b"\\", b"$"):
        found = line.find(marker)
        if 0 <= found < start:
            start = found
    if start == len(line):
        return Framed((), None, "bad_framing")
    leading: int | None = None
    if start:
        leading = parse_leading_time_ms(line[:start])
        if leading is None:
            return Framed((), None, "bad_framing")
    pieces: list[Piece] = []
    position = start
    for match in _SEGMENT.finditer(line, start):
        if match.start() != position:
            return Framed(tuple(pieces), leading, "bad_framing")
        position = match.end()
        tag: TagBlock | None = None
        if match.group(1) is not None:
            tag = parse_tag_block(match.group(1))
            if tag is None:
                return Framed(tuple(pieces), leading, "bad_checksum")
        text = match.group(2)
        star = text.find(b"*")
        if star < 0:
            return Framed(tuple(pieces), leading, "bad_framing")
        sentence, trailer = text[: star + 3], text[star + 3 :]
        pieces.append(Piece(tag, sentence, trailer_time_ms(trailer)))
    if position != len(line) or not pieces:
        return Framed(tuple(pieces), leading, "bad_framing")
    return Framed(tuple(pieces), leading)


# -- the common tagged form, a chunk at once ---------------------------------------------

_PAD = bytes(16)  # lets every probe of a malformed line index the buffer without a check
_CR = ord("\r")
_V, _D, _M, _O = (ord(c) for c in "VDMO")
# Bytes that shape a line, and the order they take in the tagged form:
# \ <tag> * <hh> \ ! <sentence> * <hh>
_SPECIAL = np.zeros(256, dtype=np.uint8)
_SPECIAL[[ord("\\"), ord("*"), ord("!"), ord("$")]] = (1, 2, 3, 4)
_TAGGED_SHAPE = np.array([1, 2, 1, 3, 2], dtype=np.uint8)
_HEX_DIGIT = np.zeros(256, dtype=bool)
_HEX_DIGIT[list(b"0123456789ABCDEFabcdef")] = True
_Ints = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class TaggedLines:
    """The lines of a chunk that :func:`frame_tagged` framed, in input order.

    ``index`` holds their positions in the chunk; ``text`` (the sentence), ``raw`` (the
    stripped line), ``time_ms`` and ``station`` are what :func:`frame_line` and
    :func:`parse_tag_block` give for each of them.
    """

    index: np.ndarray[Any, np.dtype[np.intp]]
    text: list[bytes]
    raw: list[bytes]
    time_ms: list[int | None]  # never None here: typed as the sentence columns it joins
    station: list[str | None]


def frame_tagged(lines: Sequence[bytes]) -> TaggedLines | None:
    """Frame, a chunk at once, the lines that are one tag block and one AIS sentence.

    A line qualifies when, after one trailing CR is dropped, it is exactly
    ``\\<tag>*hh\\!xxVDM...*hh`` (or ``VDO``; no trailer, no ``$``, one ``*`` in the tag
    block) and :func:`parse_tag_block` gives its tag block a time and no ``g:`` group: the
    form of the simulator and of many feeds (``\\s:station,c:time*hh\\``, Spire's
    ``\\c:time,s:station*hh\\``). numpy checks the shape of every line at once; each
    distinct tag block is parsed once (a feed's lines share a few per second). Whatever
    else a line holds, its sentence checksum included, is judged as on any other line.
    Returns None when no line qualifies.
    """
    count = len(lines)
    joined = b"".join(lines)
    if count == 0 or b"\\" not in joined:
        return None
    shaped = _shaped(lines, joined)
    if shaped is None:
        return None
    index, tag_end, text_start, cr = shaped
    if index.size == count and not cr:
        parts = joined.split(b"\\")
        tags, texts, raws = parts[1::2], parts[2::2], list(lines)
    else:
        raws = [lines[i] for i in index.tolist()]
        if cr:
            raws = [raw.rstrip(b"\r") for raw in raws]
        ends, starts = tag_end.tolist(), text_start.tolist()
        tags = [raw[1:end] for raw, end in zip(raws, ends, strict=True)]
        texts = [raw[start:] for raw, start in zip(raws, starts, strict=True)]
    times: dict[bytes, int | None] = {}
    stations: dict[bytes, str | None] = {}
    for tag in set(tags):
        parsed = parse_tag_block(tag)
        if parsed is not None and parsed.group is None:
            times[tag], stations[tag] = parsed.time_ms, parsed.station
        else:
            times[tag] = None
    time_ms = list(map(times.__getitem__, tags))
    station = list(map(stations.get, tags))
    if None in time_ms:  # a bad checksum, a g: group or no time: framed line by line
        keep = [i for i, value in enumerate(time_ms) if value is not None]
        if not keep:
            return None
        index = index[keep]
        texts, raws = [texts[i] for i in keep], [raws[i] for i in keep]
        time_ms, station = [time_ms[i] for i in keep], [station[i] for i in keep]
    return TaggedLines(index, texts, raws, time_ms, station)


def _shaped(
    lines: Sequence[bytes], joined: bytes
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], _Ints, _Ints, bool] | None:
    """The lines of the tagged shape: their indices, where each tag block ends and each
    sentence starts (offsets in the line), and whether any of them ends in a CR."""
    count = len(lines)
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=count)
    data = np.frombuffer(joined + _PAD, dtype=np.uint8)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    cr = (data[ends - 1] == _CR) & (lengths > 0)
    stops = ends - cr
    found = data[: data.size - len(_PAD)]
    at = np.flatnonzero((found == 92) | (found == 42) | (found == 33) | (found == 36))  # \\*!$
    width = _TAGGED_SHAPE.size
    spots = rows_of(at, width, starts, ends)
    if spots is not None:  # every line has five: no need to find whose each one is
        candidate = np.arange(count)
    else:
        per_line = np.bincount(np.searchsorted(ends, at, side="right"), minlength=count)
        per_line = per_line[:count]
        candidate = np.flatnonzero(per_line == width)
        if candidate.size == 0:
            return None
        first = np.cumsum(per_line) - per_line
        spots = at[first[candidate][:, None] + np.arange(width)]
    start, stop = starts[candidate], stops[candidate]
    bang = spots[:, 3]
    good = (
        (_SPECIAL[data[spots]] == _TAGGED_SHAPE).all(axis=1)
        & (spots[:, 0] == start)
        & (spots[:, 2] + 1 == bang)
        & (spots[:, 4] == stop - 3)
        & (stop - bang >= 9)
        & (data[bang + 3] == _V)
        & (data[bang + 4] == _D)
        & ((data[bang + 5] == _M) | (data[bang + 5] == _O))
        & _HEX_DIGIT[data[stop - 2]]
        & _HEX_DIGIT[data[stop - 1]]
    )
    if not good.all():
        candidate, spots, start = candidate[good], spots[good], start[good]
        if candidate.size == 0:
            return None
    return candidate, spots[:, 2] - start, spots[:, 3] - start, bool(cr[candidate].any())
