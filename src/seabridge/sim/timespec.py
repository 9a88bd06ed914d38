"""Durations and scenario times: ``90m``, ``1h30m``, ``2.5h``, ``45s`` or an ISO 8601 time.

A scenario time is either an offset from the scenario's start (a duration) or an absolute
UTC time; :class:`When` keeps which, and :meth:`When.resolve_s` turns it into seconds after
the start. Plain numbers are seconds. The ``HH:MM`` form is refused on purpose: YAML 1.1
reads ``1:30`` as the integer 90.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from seabridge.units import datetime_to_ms, iso_to_ms, ms_to_iso

__all__ = ["When", "parse_duration_s", "parse_when"]

_UNITS_S = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)\s*([dhms]))", re.IGNORECASE)
_DURATION_WHOLE = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[dhms]\s*)+", re.IGNORECASE)


def parse_duration_s(value: object) -> float:
    """A duration in seconds: a number (seconds) or text such as ``1h30m``, ``90m``, ``2.5h``.

    Raises:
        ValueError: anything else, or a negative or non-finite number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 90m, 1h30m or 45s")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION_WHOLE.fullmatch(value):
        seconds = sum(
            float(number) * _UNITS_S[unit.lower()] for number, unit in _DURATION.findall(value)
        )
    else:
        raise ValueError(f"{value!r} is not a duration; write e.g. 90m, 1h30m, 2.5h or 45s")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r}: a duration must be a finite number of seconds >= 0")
    return seconds


@dataclass(frozen=True, slots=True)
class When:
    """A time in a scenario: ``offset_s`` after the start, or an absolute ``absolute_ms``."""

    offset_s: float | None = None
    absolute_ms: int | None = None

    def resolve_s(self, start_ms: int) -> float:
        """Seconds after the scenario start (negative when an absolute time precedes it)."""
        if self.absolute_ms is not None:
            return (self.absolute_ms - start_ms) / 1000.0
        assert self.offset_s is not None
        return self.offset_s

    def __str__(self) -> str:
        if self.absolute_ms is not None:
            return ms_to_iso(self.absolute_ms)
        return f"+{self.offset_s:g}s"


def parse_when(value: object) -> When:
    """A scenario time: a duration after the start, or an ISO 8601 time (``...Z``).

    Raises:
        ValueError: neither form.
    """
    if isinstance(value, When):
        return value
    if isinstance(value, datetime):
        return When(absolute_ms=datetime_to_ms(value))
    if isinstance(value, str) and "T" in value.upper() and "-" in value:
        return When(absolute_ms=iso_to_ms(value))
    try:
        return When(offset_s=parse_duration_s(value))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time; give a duration after the start (e.g. 1h15m) "
            "or an ISO 8601 UTC time (e.g. 2010-09-07T01:15:00Z)"
        ) from None
