"""Positions found in a chunk of lines, one row per line: the shortcut of the bulk paths."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["rows_of"]

_Ints = np.ndarray[Any, np.dtype[np.int64]]


def rows_of(at: _Ints, width: int, starts: _Ints, ends: _Ints) -> _Ints | None:
    """``at`` (sorted positions in a buffer of lines) as one row of ``width`` per line, when
    every line ``[start, end)`` holds exactly ``width`` of them; else None.

    Most chunks are lines of one shape: then nothing needs to find whose each position is.
    """
    if at.size != width * starts.size:
        return None
    rows = at.reshape(starts.size, width)
    # Sorted, and as many as lines times width: a line with more means one with fewer, and
    # then some row starts before its line or ends after it.
    if bool(((rows[:, 0] >= starts) & (rows[:, -1] < ends)).all()):
        return rows
    return None
