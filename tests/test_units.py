"""Unit conversions that more than one module uses (seabridge.units)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from seabridge.units import ms_to_iso, ms_to_isos

YEAR_9999_MS = 253_402_300_799_999


@given(st.lists(st.integers(0, YEAR_9999_MS), max_size=50))
def test_many_times_at_once_read_as_one_at_a_time(times: list[int]) -> None:
    assert ms_to_isos(np.array(times, dtype=np.int64)) == [ms_to_iso(t) for t in times]
    assert ms_to_isos([1_000, 1_001]) == ["1970-01-01T00:00:01Z", "1970-01-01T00:00:01.001Z"]
