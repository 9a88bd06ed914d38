"""Rejected input: reasons, counters and the quarantine file.

Bad input never stops a run. Every rejected line is counted under one :class:`Reason` and
written to the quarantine file, one JSON object per line::

    {"source": "feed.nmea", "line": 1042, "reason": "bad_checksum", "raw": "!AIVDM,..."}

``line`` is the 1-based line number in the source (for CSV archives: the row's line, header
= line 1; for live sources: the count of lines received). A multipart message that never
completes is quarantined once per fragment received, under the line of each fragment.
"""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import IO

from seabridge.errors import InputError

__all__ = ["Quarantine", "Reason"]


class Reason(StrEnum):
    """Why an input line was rejected. The values are the keys of ``rejected`` in summaries."""

    BAD_CHECKSUM = "bad_checksum"
    """The NMEA checksum does not match the sentence."""
    BAD_FRAMING = "bad_framing"
    """Not a well-formed AIVDM/AIVDO sentence (field count, fragment numbers, fill bits)."""
    INCOMPLETE_MULTIPART = "incomplete_multipart"
    """A fragment of a multipart message whose other fragments never arrived in time."""
    UNDECODABLE = "undecodable"
    """The payload does not decode (too short for its type, bad characters)."""
    INVALID_POSITION = "invalid_position"
    """A position report whose latitude or longitude is not available or out of range."""
    NO_TIMESTAMP = "no_timestamp"
    """The line carries no time and no ``--start`` was given."""
    UNSUPPORTED_TYPE = "unsupported_type"
    """An AIS message type that does not exist (payloads whose first six bits exceed 27)."""
    NOT_AIS = "not_ais"
    """A sentence that is not AIS (e.g. $GPRMC in a mixed GPS/AIS log)."""
    TRUNCATED_INPUT = "truncated_input"
    """The input ended in a read error (a damaged or cut gzip file): counted once, at the
    line where reading stopped; the lines before it were read, the next inputs are read."""
    BAD_ROW = "bad_row"
    """A CSV row with missing or unparseable columns."""
    INVALID_MMSI = "invalid_mmsi"
    """A CSV row whose MMSI is not a 9-digit number."""
    FUTURE_TIME = "future_time"
    """A position or static report timed more than ``ingest.future_horizon_min`` after the
    clock's now (a receiver with a wrong clock, a CSV row with a wrong year): detection
    would otherwise run every tick up to that time (:mod:`seabridge.ais.horizon`)."""


class Quarantine:
    """Counts rejected lines by reason and writes each one to a JSONL file.

    The file is opened on the first rejection, so a clean run leaves no empty file. With
    ``path=None`` lines are counted but not written (used by benchmarks and the demo's
    dry runs).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._file: IO[str] | None = None

    def ensure_writable(self) -> None:
        """Fail now, not halfway through a run, when the quarantine file cannot be written.

        Raises:
            InputError: the file cannot be created or appended to (names it).
        """
        if self.path is None:
            return
        existed = self.path.exists()
        try:
            with self.path.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise InputError(f"--quarantine {self.path}: cannot write ({exc.strerror})") from exc
        if not existed:
            self.path.unlink()

    def reject(self, reason: Reason, source: str, line_no: int, raw: bytes | str) -> None:
        """Count one rejected line and write it to the quarantine file."""
        self.counts[reason.value] += 1
        if self.path is None:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        text = raw.decode("ascii", "backslashreplace") if isinstance(raw, bytes) else raw
        record = {"source": source, "line": line_no, "reason": reason.value, "raw": text}
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Flush and close the quarantine file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Quarantine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
