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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import xor

__all__ = [
    "Framed",
    "Piece",
    "TagBlock",
    "frame_line",
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
