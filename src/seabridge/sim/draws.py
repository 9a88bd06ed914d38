"""Counter-based random draws: the same (seed, vessel, counter, stream) always gives the same
number, whatever else the scenario contains.

The simulator draws during the run for many vessels at once (a fishing vessel's next leg,
a dropped message, position jitter). A shared :class:`numpy.random.Generator` would tie every
vessel's draws to the order of all the others, so editing one vessel would change the whole
output. Here each draw is a hash (SplitMix64's finalizer, Steele, Lea and Flood 2014) of the
seed, the vessel's MMSI, a per-vessel counter and a stream number, vectorized over numpy
uint64 arrays (whose arithmetic wraps modulo 2**64, as the hash needs).

Set-up work (placing fleets, names, MMSIs) uses seeded Generators per fleet instead.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["STREAMS", "fleet_rng", "uniform", "uniform4"]

U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MMSI_MUL = np.uint64(0xD6E8FEB86659FD93)
_STREAM_MUL = np.uint64(0xA0761D6478BD642F)
_TO_UNIT = 1.0 / float(1 << 53)

STREAMS = {
    "fishing": 1,
    "report": 2,
    "static": 3,
    "phase": 4,
}
"""Stream numbers: one per use, so draws for different purposes never coincide."""


def _mix(values: U64) -> U64:
    z = values + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    mixed: U64 = z ^ (z >> np.uint64(31))
    return mixed


def _bits(seed: int, mmsi: Any, counter: Any, stream: int) -> U64:
    keys = np.atleast_1d(np.asarray(mmsi, dtype=np.uint64))
    counts = np.atleast_1d(np.asarray(counter, dtype=np.uint64))
    salt = (seed * 0x9E3779B97F4A7C15 + stream * int(_STREAM_MUL)) % (1 << 64)
    base = _mix(np.full(1, salt, dtype=np.uint64))
    return _mix(_mix(base ^ (keys * _MMSI_MUL)) ^ counts)


def uniform(seed: int, mmsi: Any, counter: Any, stream: int) -> F64:
    """Uniform numbers in [0, 1), one per element of the broadcast ``mmsi`` and ``counter``."""
    unit: F64 = (_bits(seed, mmsi, counter, stream) >> np.uint64(11)).astype(np.float64) * _TO_UNIT
    return unit


def uniform4(seed: int, mmsi: Any, counter: Any, stream: int) -> F64:
    """Four uniform numbers in [0, 1) per element, 16 bits each, from one hash: shape (n, 4).
    Enough for a probability or an angle; cheaper than four draws."""
    bits = _bits(seed, mmsi, counter, stream)
    shifts = np.asarray([0, 16, 32, 48], dtype=np.uint64)
    parts = (bits[:, None] >> shifts) & np.uint64(0xFFFF)
    unit: F64 = parts.astype(np.float64) / 65536.0
    return unit


def fleet_rng(seed: int, name: str) -> np.random.Generator:
    """A Generator for set-up work of one named thing (a fleet, a lane), independent of the
    others: seeded with the scenario seed and a CRC-32 of the name."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
