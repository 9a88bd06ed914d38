"""Durations and scenario times: the forms a scenario file may use, and the ones it may not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seabridge.sim.timespec import When, parse_duration_s, parse_when
from seabridge.units import iso_to_ms

START_MS = iso_to_ms("2010-09-07T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90m", 5400.0),
        ("1h30m", 5400.0),
        ("2.5h", 9000.0),
        ("45s", 45.0),
        ("1d", 86_400.0),
        ("1h 15m 30s", 4530.0),
        (120, 120.0),
        (0.5, 0.5),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("bad", ["", "1:30", "soon", "h", "-5m", -1, True, None, "1x"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_s(bad)


def test_times_are_offsets_or_absolute() -> None:
    assert parse_when("1h15m").resolve_s(START_MS) == 4500.0
    assert parse_when("2010-09-07T01:15:00Z").resolve_s(START_MS) == 4500.0
    moment = datetime(2010, 9, 7, 1, 15, tzinfo=UTC)  # what YAML makes of an unquoted time
    assert parse_when(moment) == When(absolute_ms=START_MS + 4_500_000)
    assert str(parse_when("90s")) == "+90s"


def test_a_bad_time_says_both_forms() -> None:
    with pytest.raises(ValueError, match=r"1h15m.*ISO 8601"):
        parse_when("later")
