"""When a vessel reports: the ITU-R M.1371-5 reporting intervals, vectorized.

Autonomous-mode reporting intervals (ITU-R M.1371-5, annex 1, table 1 for class A shipborne
mobile equipment and table 2 for class B "CS" equipment; ecs-facts.md §4.3):

==================================================  ============
class A                                             interval
==================================================  ============
at anchor or moored, not moving faster than 3 kn    3 min
0-14 kn                                             10 s
0-14 kn and changing course                         3 1/3 s
14-23 kn                                            6 s
14-23 kn and changing course                        2 s
over 23 kn (changing course or not)                 2 s
==================================================  ============

==========================  ========
class B "CS"                interval
==========================  ========
not faster than 2 kn        3 min
faster than 2 kn            30 s
==========================  ========

"Changing course" is not given a number in M.1371; here it means a rate of turn of at least
:data:`TURNING_DEG_MIN` degrees per minute (5 degrees in 30 s). "At anchor or moored" is the
navigational status (1 or 5). Static and voyage data go every 6 minutes (ecs-facts.md §4.3),
class B's type 24 parts A and B together.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "TURNING_DEG_MIN",
    "reporting_interval_s",
]

F64 = NDArray[np.float64]
TURNING_DEG_MIN = 10.0


def reporting_interval_s(
    class_b: NDArray[np.bool_],
    sog_kn: F64,
    rot_deg_min: F64,
    nav_status: NDArray[np.int8],
) -> F64:
    """The reporting interval in seconds for each vessel's current state (tables above)."""
    turning = np.abs(rot_deg_min) >= TURNING_DEG_MIN
    moored = ((nav_status == 1) | (nav_status == 5)) & (sog_kn <= 3.0)
    class_a = np.select(
        [moored, sog_kn > 23.0, sog_kn > 14.0, turning],
        [180.0, 2.0, np.where(turning, 2.0, 6.0), 10.0 / 3.0],
        default=10.0,
    )
    class_b_s = np.where(sog_kn > 2.0, 30.0, 180.0)
    interval: F64 = np.where(class_b, class_b_s, class_a)
    return interval
