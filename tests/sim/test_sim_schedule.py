"""The reporting-interval table: ITU-R M.1371-5 annex 1 tables 1 and 2 (ecs-facts.md §4.3)."""

from __future__ import annotations

import numpy as np
import pytest

from seabridge.sim.schedule import TURNING_DEG_MIN, reporting_interval_s

# (class B, SOG kn, ROT deg/min, nav status) -> seconds, row by row of the tables.
ROWS = [
    (False, 0.0, 0.0, 1, 180.0),  # at anchor, not faster than 3 kn
    (False, 2.9, 0.0, 5, 180.0),  # moored
    (False, 3.5, 0.0, 1, 10.0),  # at anchor but moving faster than 3 kn
    (False, 0.0, 0.0, 0, 10.0),  # under way, 0-14 kn
    (False, 12.0, 0.0, 7, 10.0),
    (False, 14.0, 0.0, 0, 10.0),
    (False, 12.0, TURNING_DEG_MIN, 0, 10.0 / 3.0),  # 0-14 kn and changing course
    (False, 12.0, -30.0, 0, 10.0 / 3.0),
    (False, 14.1, 0.0, 0, 6.0),  # 14-23 kn
    (False, 23.0, 0.0, 0, 6.0),
    (False, 18.0, 20.0, 0, 2.0),  # 14-23 kn and changing course
    (False, 23.1, 0.0, 0, 2.0),  # over 23 kn
    (False, 30.0, 40.0, 0, 2.0),
    (True, 0.0, 0.0, 0, 180.0),  # class B "CS": not faster than 2 kn
    (True, 2.0, 50.0, 0, 180.0),
    (True, 2.1, 0.0, 0, 30.0),  # faster than 2 kn
    (True, 30.0, 0.0, 0, 30.0),
]


@pytest.mark.parametrize(("class_b", "sog", "rot", "status", "seconds"), ROWS)
def test_each_row(class_b: bool, sog: float, rot: float, status: int, seconds: float) -> None:
    interval = reporting_interval_s(
        np.asarray([class_b]), np.asarray([sog]), np.asarray([rot]), np.asarray([status], np.int8)
    )
    assert interval.tolist() == [pytest.approx(seconds)]


def test_vectorized_rows_match_one_by_one() -> None:
    class_b, sog, rot, status, seconds = (np.asarray(column) for column in zip(*ROWS, strict=True))
    interval = reporting_interval_s(class_b.astype(bool), sog, rot, status.astype(np.int8))
    assert interval == pytest.approx(seconds)
