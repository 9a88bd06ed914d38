"""NMEA lines -> decoded AIS messages -> Position and Static records.

:class:`NmeaDecoder` takes chunks of raw lines from one input stream and:

1. frames the lines into sentences (:mod:`seabridge.ais.sentences`): tag blocks, leading
   timestamps, USCG trailers, Gatehouse wrappers, concatenated sentences; chunks of bare
   sentences and the lines of the common tagged form in bulk;
2. verifies every sentence's checksum, a whole chunk at once with numpy;
3. assembles multipart messages keyed by (tag-block station, channel, sequential id) within
   this stream, with an age limit, so fragments heard by two stations never mix;
4. decodes whole 168-bit position reports (types 1-3, 18: most of any feed) in bulk with
   numpy (:mod:`seabridge.ais.packed`, pinned to pyais by a differential test), and every
   other message with pyais (bit vector and message tables; fragments through its
   ``AISSentence`` + ``assemble_from_iterable``);
5. hands positions and statics to :mod:`seabridge.ais.normalize`.

Timestamps, first found wins: tag block ``c:``, then a time on the line (leading timestamp,
USCG trailer, preceding ``$PGHP``), then the receive time of a live source. Without any, a
message is quarantined as ``no_timestamp`` unless ``start_ms`` was given: times then follow
the file order from ``start_ms`` and advance with each report's AIS "second" field. Given a
:class:`~seabridge.ais.horizon.Horizon`, position and static reports timed after its ceiling
(read once per chunk) are quarantined as ``future_time`` when taken, and such a time moves
none of the decoder's clocks (multipart age, ``--start`` clock).

It never raises for bad input: each rejected line goes to the Quarantine under one reason.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pyarrow as pa
from pyais.bit_vector import SUPPORTS_FAST_PATH, bit_vector
from pyais.exceptions import InvalidNMEAMessageException
from pyais.messages import MAX_PAYLOAD_LEN, MSG_CLASS, AISSentence

from seabridge.ais.horizon import Horizon
from seabridge.ais.mid import is_valid_mmsi
from seabridge.ais.normalize import Lines, RawPositions
from seabridge.ais.packed import PACKED_CHARS, PACKED_TYPES, find_packed, second_of
from seabridge.ais.quarantine import Quarantine, Reason
from seabridge.ais.records import StaticBuilder
from seabridge.ais.sentences import SentenceFramer, Sentences, checksums_ok
from seabridge.ais.statics import static_row
from seabridge.ais.summary import IngestSummary

__all__ = ["NmeaDecoder", "UntimedClock"]

# When no data time is known, a multipart message whose fragments span more input lines
# than this is incomplete.
MAX_AGE_LINES = 1000
# The six-bit armoring alphabet ('0'-'W', '`'-'w'; ITU-R M.1371-5 annex 8 / IEC 61162-1).
_ARMOR = bytes(range(48, 88)) + bytes(range(96, 120))
# Message types whose content becomes records: positions (1-3, 9, 18, 19, 27) and static
# data (5, 19, 24). Other valid types are counted by type without being decoded.
_STORED_TYPES = frozenset({1, 2, 3, 5, 9, 18, 19, 24, 27})
_MMSI_END_BIT = 38
# Static reports (types 5 and 24, at most 512 bits) decoded once per distinct content, for
# up to this many contents at a time (M.1371-5: every 6 minutes per vessel, mostly unchanged).
_REPEATED_TYPES = frozenset({5, 24})
_DECODED_LIMIT = 50_000
_UNSET = object()
_UTC_TYPES = (4, 11)  # base station report, UTC/date response
# pyais's own one-shift decoders of the 168-bit position reports (MessageType1._fast_path,
# which Payload.from_vector calls for them on CPython); pinned by the golden tests.
_FAST_PATH = {t: MSG_CLASS[t]._fast_path for t in (1, 2, 3, 18)} if SUPPORTS_FAST_PATH else {}
# Six-bit value of each armoring character (ITU-R M.1371-5 annex 8): the first one of a
# payload is the message id.
_SIXBIT = [0] * 256
for _c in range(48, 120):
    _SIXBIT[_c] = (_c - 48 - 8 if _c - 48 > 40 else _c - 48) & 0x3F
_PACKED = PACKED_TYPES
_SIXBIT_ARRAY = np.array(_SIXBIT, dtype=np.intp)
# Chunks shorter than this are not worth numpy's fixed costs.
_BULK_MIN = 64
_FILL_BITS = {b"0": 0, b"1": 1, b"2": 2, b"3": 3, b"4": 4, b"5": 5}


@dataclass(slots=True)
class _Pending:
    """Fragments of one multipart message received so far."""

    parts: list[AISSentence | None]
    lines: list[tuple[int, bytes]]
    time_ms: int | None
    first_line: int


class UntimedClock:
    """Times for reports that carry none: file order plus what the reports say of time.

    Base stations (message 4, and 11) broadcast the full UTC date and time: when they are
    heard, the first one anchors the feed's own time to the clock and the median of the
    last few base stations moves it (a base station with a wrong clock cannot). Without
    base stations the clock follows an upper quantile of the last placed reports. Either
    way each report is placed at the instant within 30 s of the clock whose second-of-minute
    is its "second" field (M.1371-5: the UTC second of the fix). A median of the reports'
    seconds would not do: in a busy feed relayed by several receivers half of the reports
    are always "ahead" of the others, and the clock would run away.
    """

    WINDOW = 31
    STATIONS = 9

    def __init__(self, start_ms: int) -> None:
        self.clock_ms = start_ms
        self._recent: deque[int] = deque(maxlen=self.WINDOW)
        self._stations: deque[int] = deque(maxlen=self.STATIONS)
        self._anchor_ms: int | None = None  # clock minus base-station UTC, once heard
        self._placed = 0

    def reset(self, time_ms: int) -> None:
        """A report with its own time sets the clock."""
        self.clock_ms = time_ms
        self._recent.clear()
        self._stations.clear()
        self._anchor_ms = None

    def base_station(self, utc_ms: int) -> None:
        """A base station's UTC: anchors, then drives, the clock."""
        if self._anchor_ms is None:
            self._anchor_ms = self.clock_ms - utc_ms
        self._stations.append(utc_ms + self._anchor_ms)
        median = sorted(self._stations)[len(self._stations) // 2]
        if median > self.clock_ms:
            self.clock_ms = median

    def place(self, second: int | None) -> int:
        """The time of a report with this "second" field (None or 60-63: not available)."""
        clock_ms = self.clock_ms
        if second is None or not 0 <= second < 60:
            return clock_ms
        base_ms = clock_ms - clock_ms % 1000
        offset_s = (second - (base_ms // 1000) % 60 + 30) % 60 - 30
        time_ms = base_ms + offset_s * 1000
        if self._anchor_ms is None:
            recent = self._recent
            recent.append(time_ms)
            self._placed += 1
            # The 80th percentile of what there is (with one report: that report). Sorting
            # costs: in a busy feed it is redone every 8 reports, at once for a report more
            # than 2 s ahead (a sparse feed, where the clock must keep up).
            if time_ms - clock_ms > 2000 or self._placed % 8 == 0 or len(recent) < 8:
                upper = sorted(recent)[(len(recent) - 1) * 4 // 5]
                if upper > clock_ms:
                    self.clock_ms = upper
        return time_ms


def _utc_ms(message: Any) -> int | None:
    """The UTC of a base-station report (message 4 or 11), or None when not available."""
    try:
        moment = datetime(
            message.year, message.month, message.day, message.hour, message.minute,
            message.second, tzinfo=UTC,
        )  # fmt: skip
    except (TypeError, ValueError):  # year 0, hour 24, minute 60, second 60: not available
        return None
    return round(moment.timestamp() * 1000)


def _newest_until(times: list[int], ceiling_ms: int | None) -> int | None:
    """The newest of ``times`` not after ``ceiling_ms`` (None: there is none)."""
    newest = max(times)
    if ceiling_ms is None or newest <= ceiling_ms:
        return newest
    return max((time_ms for time_ms in times if time_ms <= ceiling_ms), default=None)


class NmeaDecoder:
    """Decodes the lines of one input stream into position and static batches."""

    def __init__(
        self,
        source: str,
        quarantine: Quarantine,
        summary: IngestSummary,
        *,
        start_ms: int | None = None,
        max_age_s: float = 60.0,
        horizon: Horizon | None = None,
    ) -> None:
        self.source = source
        self.quarantine = quarantine
        self.summary = summary
        self.positions = RawPositions(source)
        self.statics = StaticBuilder()
        self._max_age_ms = round(max_age_s * 1000)
        self._untimed = UntimedClock(start_ms) if start_ms is not None else None
        self.framer = SentenceFramer(summary, self._reject)
        self._latest_ms: int | None = None
        self._pending: dict[tuple[str | None, str, int | None], _Pending] = {}
        self._type_counts = [0] * 28
        self._decoded: dict[tuple[int, int, int, int], list[Any]] = {}
        self._rejected_lines: set[int] = set()  # in the current chunk
        self._position_groups = self.positions.groups_by_type
        self._packed_batch = self.positions.packed
        self._horizon = horizon
        self._ceiling_ms: int | None = None  # the horizon's ceiling at the last chunk
        self._static_times: list[tuple[int, Lines]] = []  # of self.statics' rows

    @property
    def clock_ms(self) -> int | None:
        """Where the ``--start`` clock is now (None without ``start_ms``): the next input
        of the same run continues from here."""
        return self._untimed.clock_ms if self._untimed is not None else None

    # -- chunk processing ---------------------------------------------------------------

    def feed(self, lines: Sequence[bytes], receive_ms: int | None = None) -> None:
        """Decode a chunk of raw lines; ``receive_ms`` is the live receive time, if any."""
        if self._horizon is not None:
            self._ceiling_ms = self._horizon.ceiling_ms()
        found = self.framer.frame(lines, receive_ms)
        checked = checksums_ok(found.text)
        self._rejected_lines.clear()
        rest = self._bulk_packed(found, checked)
        if rest is not None:
            found, checked = found.pick(rest), checked[rest]
        good = checked.tolist()
        message, packed = self._message, self._packed
        latest = self._latest_ms if self._latest_ms is not None else -1
        ceiling = self._ceiling_ms
        for text, ok, line_no, raw, time_ms, station in zip(
            found.text, good, found.line_no, found.raw, found.time_ms, found.station, strict=True
        ):
            if not ok:
                self._reject(Reason.BAD_CHECKSUM, line_no, raw)
                continue
            # A time past the ceiling is rejected when taken: it must not age out fragments.
            if time_ms is not None and time_ms > latest and (ceiling is None or time_ms <= ceiling):
                latest = self._latest_ms = time_ms
            fields = text.split(b",")
            if len(fields) != 7:
                self._reject(Reason.BAD_FRAMING, line_no, raw)
            elif fields[1] == b"1" and fields[2] == b"1":
                # The common case, a whole message in one sentence, decoded by pyais's bit
                # vector and message tables; AISSentence is only needed to join fragments.
                payload, fill = fields[5], _FILL_BITS.get(fields[6][:1])
                if fill is None or not payload or payload.translate(None, _ARMOR):
                    self._single_slow(fields, line_no, raw, time_ms)
                elif len(payload) == PACKED_CHARS and not fill and _SIXBIT[payload[0]] in _PACKED:
                    packed(payload, time_ms, line_no, raw)
                elif len(payload) <= MAX_PAYLOAD_LEN:
                    ais_id = _SIXBIT[payload[0]]  # the message id: the first six bits
                    message(ais_id, bit_vector(payload, fill), time_ms, ((line_no, raw),))
                else:
                    self._reject(Reason.UNDECODABLE, line_no, raw)
            else:
                sentence = self._parse(text, fields, line_no, raw)
                if sentence is not None:
                    self._fragment(sentence, time_ms, line_no, raw, station)
        self._expire()

    def _bulk_packed(
        self, found: Sentences, good: np.ndarray[Any, np.dtype[np.bool_]]
    ) -> list[int] | None:
        """Take every whole 168-bit report of the chunk at once (:func:`find_packed`); the
        indices of the sentences left for :meth:`feed`'s loop, or None when none was taken.

        Only with data times on every sentence and no ``--start`` clock: then what
        :meth:`_packed` does for one report depends on no other (the latest data time is a
        maximum), and the loop, which no longer meets these, keeps their order.
        """
        if self._untimed is not None or len(found.text) < _BULK_MIN or None in found.time_ms:
            return None
        rows, payloads = find_packed(found.text, good)
        if not payloads:
            return None
        picked = rows.tolist()
        times = cast("list[int]", found.time_ms)  # None is not in it
        line_nos, raws = found.line_no, found.raw
        if len(picked) < len(times):
            times = [times[i] for i in picked]
            line_nos, raws = [line_nos[i] for i in picked], [raws[i] for i in picked]
        newest = _newest_until(times, self._ceiling_ms)  # as in feed()
        if newest is not None and (self._latest_ms is None or newest > self._latest_ms):
            self._latest_ms = newest
        counts = self._type_counts
        first_chars = np.frombuffer(b"".join(payloads), dtype=np.uint8)[::PACKED_CHARS]
        for ais_id, number in enumerate(np.bincount(_SIXBIT_ARRAY[first_chars])):
            counts[ais_id] += int(number)
        batch = self._packed_batch
        batch.payloads += payloads
        batch.times += times
        batch.line_nos += line_nos
        batch.raws += raws
        keep = np.ones(len(found.text), dtype=bool)
        keep[rows] = False
        return np.flatnonzero(keep).tolist()

    def _single_slow(
        self, fields: list[bytes], line_no: int, raw: bytes, time_ms: int | None
    ) -> None:
        """A single sentence off the fast path: salvage six fill bits, else quarantine."""
        payload, fill = fields[5], fields[6][:1]
        if not payload or len(payload) > MAX_PAYLOAD_LEN or payload.translate(None, _ARMOR):
            self._reject(Reason.UNDECODABLE, line_no, raw)
        elif fill == b"6" and len(payload) > 1:
            # Be liberal like gpsd: six fill bits make the last character all fill.
            self._message(
                _SIXBIT[payload[0]], bit_vector(payload[:-1], 0), time_ms, ((line_no, raw),)
            )
        else:
            self._reject(Reason.BAD_FRAMING, line_no, raw)

    def _parse(
        self, text: bytes, fields: list[bytes], line_no: int, raw: bytes
    ) -> AISSentence | None:
        """A fragment as pyais's AISSentence, or None after quarantining it."""
        payload = fields[5]
        if not payload or payload.translate(None, _ARMOR):
            self._reject(Reason.UNDECODABLE, line_no, raw)
            return None
        if fields[6][:1] == b"6" and len(payload) > 1:
            fields[5], fields[6] = payload[:-1], b"0" + fields[6][1:]
        try:
            sentence = AISSentence(text, fields)
        except (InvalidNMEAMessageException, ValueError):
            self._reject(Reason.BAD_FRAMING, line_no, raw)
            return None
        sentence.is_valid = True  # verified for the whole chunk in checksums_ok
        return sentence

    def finish(self) -> None:
        """End of input: every multipart message still pending is incomplete."""
        for key in list(self._pending):
            self._drop_pending(key)

    def take(self) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """The positions and statics decoded so far, as Arrow batches; updates the summary."""
        summary = self.summary
        for ais_id, count in enumerate(self._type_counts):
            if count:
                summary.types[ais_id] += count
                summary.messages += count
        self._type_counts = [0] * 28
        positions = self.positions.flush(self._reject_reason, self._ceiling_ms)
        self._reject_future_statics()
        summary.positions += positions.num_rows
        summary.statics += len(self.statics)
        return positions, self.statics.flush()

    def _reject_future_statics(self) -> None:
        """Quarantine the static reports timed after the ceiling, with the positions' rule.

        Statics drive no ticks, but the track store keeps each vessel's newest static fields
        (and last-seen time) by data time: one stamped ahead would hide every true update
        until then. A type 19 line is counted once: its position went first.
        """
        ceiling, times = self._ceiling_ms, self._static_times
        self._static_times = []
        if ceiling is None or all(time_ms <= ceiling for time_ms, _ in times):
            return
        for time_ms, lines in times:
            if time_ms > ceiling:
                self._reject_all(Reason.FUTURE_TIME, lines)
        self.statics.keep([time_ms <= ceiling for time_ms, _ in times])

    # -- sentences and multipart assembly ----------------------------------------------

    def _fragment(
        self,
        sentence: AISSentence,
        time_ms: int | None,
        line_no: int,
        raw: bytes,
        station: str | None,
    ) -> None:
        key = (station, sentence.channel, sentence.seq_id)
        pending = self._pending.get(key)
        index = sentence.frag_num - 1
        if pending is not None and (
            len(pending.parts) != sentence.frag_cnt
            or pending.parts[index] is not None
            or self._too_old(pending, time_ms)
        ):
            self._drop_pending(key)
            pending = None
        if pending is None:
            pending = _Pending([None] * sentence.frag_cnt, [], time_ms, line_no)
            self._pending[key] = pending
        pending.parts[index] = sentence
        pending.lines.append((line_no, raw))
        if (index == 0 and time_ms is not None) or pending.time_ms is None:
            pending.time_ms = time_ms
        if any(part is None for part in pending.parts):
            return
        del self._pending[key]
        parts = [part for part in pending.parts if part is not None]
        whole = AISSentence.assemble_from_iterable(parts)
        self._message(whole.ais_id, whole.bv, pending.time_ms, pending.lines)

    def _too_old(self, pending: _Pending, time_ms: int | None) -> bool:
        if time_ms is None or pending.time_ms is None:
            return False
        return time_ms - pending.time_ms > self._max_age_ms

    def _drop_pending(self, key: tuple[str | None, str, int | None]) -> None:
        pending = self._pending.pop(key)
        for line_no, raw in pending.lines:
            self._reject(Reason.INCOMPLETE_MULTIPART, line_no, raw)

    def _expire(self) -> None:
        """Drop multipart messages older than the age limit (data time, else input lines)."""
        for key, pending in list(self._pending.items()):
            if pending.time_ms is not None and self._latest_ms is not None:
                too_old = self._latest_ms - pending.time_ms > self._max_age_ms
            else:
                too_old = self.framer.line_no - pending.first_line > MAX_AGE_LINES
            if too_old:
                self._drop_pending(key)

    # -- decoded messages ---------------------------------------------------------------

    def _message(
        self,
        ais_id: int,
        bits: bit_vector,
        time_ms: int | None,
        lines: Sequence[tuple[int, bytes]],
    ) -> None:
        if not 1 <= ais_id <= 27:
            self._reject_all(Reason.UNSUPPORTED_TYPE, lines)
            return
        untimed = self._untimed
        if time_ms is None:
            if untimed is None:
                self._reject_all(Reason.NO_TIMESTAMP, lines)
                return
            if ais_id in _UTC_TYPES:
                self._clock_from_base_station(bits)
        if ais_id not in _STORED_TYPES:
            # Counted, not decoded: nothing of these types is stored yet.
            if len(bits) < _MMSI_END_BIT:
                self._reject_all(Reason.UNDECODABLE, lines)
            else:
                self._type_counts[ais_id] += 1
            return
        message, entry = self._decode(ais_id, bits)
        if message is None:
            self._reject_all(Reason.UNDECODABLE, lines)
            return
        mmsi = message.mmsi
        if mmsi is None:
            self._reject_all(Reason.UNDECODABLE, lines)
            return
        if time_ms is None:
            assert untimed is not None
            time_ms = untimed.place(getattr(message, "second", None))
        elif untimed is not None and not self._future(time_ms):
            untimed.reset(time_ms)
        self._type_counts[ais_id] += 1
        group = self._position_groups.get(ais_id)
        if group is not None:
            group.messages.append(message)
            group.times.append(time_ms)
            group.lines.append(lines)
            if ais_id != 19:
                return
        if not is_valid_mmsi(mmsi):
            if ais_id != 19:  # a type 19 was already rejected with its position
                self._reject_all(Reason.INVALID_MMSI, lines)
            return
        if entry is None:
            row = static_row(message, ais_id, bits)
        else:
            if entry[1] is _UNSET:
                entry[1] = static_row(message, ais_id, bits)
            row = entry[1]
        if row is not None:
            self.statics.append(mmsi=mmsi, ts_ms=time_ms, source=self.source, **row)
            self._static_times.append((time_ms, lines))

    def _decode(self, ais_id: int, bits: bit_vector) -> tuple[Any, list[Any] | None]:
        """pyais's message for these bits (None when it cannot decode them), and the cache
        entry ``[message, static row]`` that holds it, if any.

        A vessel repeats the same static report (types 5 and 24) every few minutes, and
        pyais takes tens of microseconds over its text fields: those are decoded, and made
        into a static row, once per distinct content (both are only read afterwards).
        """
        key: tuple[int, int, int, int] | None = None
        if ais_id in _REPEATED_TYPES and len(bits) <= 512:
            key = (ais_id, len(bits), bits.get(0, 256), bits.get(256, 256))
            cached = self._decoded.get(key)
            if cached is not None:
                return cached[0], cached
        try:
            if ais_id in _FAST_PATH and len(bits) == 168:
                # What pyais's from_vector does for these on CPython, minus its dispatch.
                message: Any = _FAST_PATH[ais_id](bits)
            else:
                message = MSG_CLASS[ais_id].from_vector(bits)
        except Exception:  # pyais raises many types for short or garbled payloads
            return None, None
        if key is None:
            return message, None
        if len(self._decoded) >= _DECODED_LIMIT:
            self._decoded.clear()
        entry = self._decoded[key] = [message, _UNSET]
        return message, entry

    def _packed(self, payload: bytes, time_ms: int | None, line_no: int, raw: bytes) -> None:
        """A whole 168-bit type 1, 2, 3 or 18 report: kept as its payload and decoded with
        the rest of the batch (:mod:`seabridge.ais.packed`); what :meth:`_message` does for
        the same report, minus pyais."""
        ais_id = _SIXBIT[payload[0]]
        untimed = self._untimed
        if time_ms is None:
            if untimed is None:
                self._reject(Reason.NO_TIMESTAMP, line_no, raw)
                return
            time_ms = untimed.place(second_of(ais_id, payload))
        elif untimed is not None and not self._future(time_ms):
            untimed.reset(time_ms)
        self._type_counts[ais_id] += 1
        batch = self._packed_batch
        batch.payloads.append(payload)
        batch.times.append(time_ms)
        batch.line_nos.append(line_no)
        batch.raws.append(raw)

    def _future(self, time_ms: int) -> bool:
        """Whether ``time_ms`` is after the ceiling (rejected when taken)."""
        return self._ceiling_ms is not None and time_ms > self._ceiling_ms

    def _clock_from_base_station(self, bits: bit_vector) -> None:
        assert self._untimed is not None
        try:
            report = MSG_CLASS[bits.get(0, 6)].from_vector(bits)
        except Exception:  # a garbled report: the clock does without it
            return
        utc_ms = _utc_ms(report)
        if utc_ms is not None:
            self._untimed.base_station(utc_ms)

    def _reject(self, reason: Reason, line_no: int, raw: bytes) -> None:
        """Quarantine a line once: a line with several faults counts under its first."""
        if line_no in self._rejected_lines:
            return
        self._rejected_lines.add(line_no)
        self.quarantine.reject(reason, self.source, line_no, raw)

    def _reject_reason(self, reason: str, lines: Sequence[tuple[int, bytes]]) -> None:
        self._reject_all(Reason(reason), lines)

    def _reject_all(self, reason: Reason, lines: Sequence[tuple[int, bytes]]) -> None:
        for line_no, raw in lines:
            self._reject(reason, line_no, raw)
