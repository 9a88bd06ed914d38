"""Flag state from an MMSI: the Maritime Identification Digits (MID) table.

The MID names the administration (or geographical area) that assigned an MMSI. Its place in
the nine digits depends on the kind of station (ITU-R M.585-9, annex 1 sections 2-6):

=========================================  ===========  ==============
station                                    form         MID at digits
=========================================  ===========  ==============
ship station                               MIDxxxxxx    1-3
group of ship stations                     0MIDxxxxx    2-4
coast station                              00MIDxxxx    3-5
SAR aircraft                               111MIDxxx    4-6
craft associated with a parent ship        98MIDxxxx    3-5
AIS aid to navigation                      99MIDxxxx    3-5
handheld VHF with DSC and GNSS             8MIDxxxxx    2-4
=========================================  ===========  ==============

Any other form (e.g. the AIS-SART / MOB / EPIRB-AIS ranges 970-974, which carry no MID) and
any MID the ITU has not allocated give ``None``. The forms are declared once, in ``_FORMS``;
the scalar and vectorized lookups both read that table. The MID table itself is the data file
``seabridge/data/mid.csv`` (source and choices in ``seabridge/data/README.md``), read once.

Valid MMSI (:func:`valid_mmsi_mask`, :func:`is_valid_mmsi`): the one rule both ingest paths
(NMEA and CSV) apply before storing a record. An MMSI is valid when
``2_010_000 <= mmsi <= 999_999_999``. The upper bound is the largest nine-digit number (the AIS
field has 30 bits, so a decoder can return up to 1,073,741,823). The lower bound is the
smallest number any station form above can take with an allocatable MID (MIDs start at 201):
a coast station ``00MIDxxxx`` with MID 201 is 002010000, a group ``0MIDxxxxx`` is at least
20,100,000 and a ship at least 201,000,000. Exporters drop leading zeros, so 2,190,064 (DMA's
coast station 002190064) is valid, while 0, one-digit "test" MMSIs and other short numbers
are not a nine-digit identity with leading zeros of any kind and are rejected. The rule is
deliberately only a range: numbers inside it that fit no form (e.g. 1xxxxxxxx other than
SAR aircraft) are kept, since real transponders send them and they still identify a station.

This module maps numbers to ISO 3166-1 alpha-2 codes and holds the range rule above; it must
not judge anything else about an MMSI (that is the caller's business), and it never raises on
a bad MMSI.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib.resources import files
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "MMSI_MAX",
    "MMSI_MIN",
    "MidEntry",
    "flag_for_mmsi",
    "flags_for_mmsis",
    "is_valid_mmsi",
    "mid_for_mmsi",
    "mid_table",
    "valid_mmsi_mask",
]

_MID_CSV = "data/mid.csv"
_NO_CODE = -1

#: The smallest valid MMSI: coast station 002010000 (``00MIDxxxx``, lowest MID 201).
MMSI_MIN = 2_010_000
#: The largest valid MMSI: nine digits.
MMSI_MAX = 999_999_999

# Station forms of ITU-R M.585-9 annex 1 that carry a MID: (first, last, divisor), and the
# MID is ``mmsi // divisor % 1000``. The ranges do not overlap.
_FORMS: tuple[tuple[int, int, int], ...] = (
    (200_000_000, 799_999_999, 1_000_000),  # ship station: MIDxxxxxx
    (0, 9_999_999, 10_000),  # coast station: 00MIDxxxx
    (10_000_000, 99_999_999, 100_000),  # group of ship stations: 0MIDxxxxx
    (111_000_000, 111_999_999, 1_000),  # SAR aircraft: 111MIDxxx
    (800_000_000, 899_999_999, 100_000),  # handheld VHF: 8MIDxxxxx
    (980_000_000, 999_999_999, 10_000),  # craft of a parent ship 98MIDxxxx, AtoN 99MIDxxxx
)


class MidEntry(NamedTuple):
    """One row of the MID table."""

    mid: int
    """The three Maritime Identification Digits, 201-775."""
    iso2: str
    """ISO 3166-1 alpha-2 code of the area the MID denotes."""
    name: str
    """The ITU's designation of the administration or geographical area."""


class _Lookup(NamedTuple):
    entries: dict[int, MidEntry]
    codes: pa.Array  # distinct ISO codes, the dictionary for vectorized lookups
    index_by_mid: npt.NDArray[np.int16]  # 1000 entries: position in ``codes`` or -1


@cache
def _lookup() -> _Lookup:
    text = files("seabridge").joinpath(_MID_CSV).read_text(encoding="utf-8")
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    entries: dict[int, MidEntry] = {}
    for row in csv.DictReader(lines):
        mid = int(row["mid"])
        entries[mid] = MidEntry(mid, row["iso2"], row["name"])
    codes = sorted({entry.iso2 for entry in entries.values()})
    position = {code: i for i, code in enumerate(codes)}
    index_by_mid = np.full(1000, _NO_CODE, dtype=np.int16)
    for mid, entry in entries.items():
        index_by_mid[mid] = position[entry.iso2]
    return _Lookup(entries, pa.array(codes, pa.string()), index_by_mid)


def mid_table() -> dict[int, MidEntry]:
    """The whole MID table, keyed by MID (a copy; the loaded table is never modified)."""
    return dict(_lookup().entries)


def mid_for_mmsi(mmsi: int) -> int | None:
    """The three digits in the MID position of ``mmsi`` for its station form, if it has one.

    The digits are returned whether or not the ITU has allocated them; ``None`` means the
    MMSI is out of range or of a form that carries no MID.
    """
    for first, last, divisor in _FORMS:
        if first <= mmsi <= last:
            return mmsi // divisor % 1000
    return None


def flag_for_mmsi(mmsi: int) -> str | None:
    """ISO 3166-1 alpha-2 code of the MID in ``mmsi``, or None (no MID, or not allocated).

    Example: ``flag_for_mmsi(431000000) == "JP"``, ``flag_for_mmsi(992351001) == "GB"``.
    """
    mid = mid_for_mmsi(mmsi)
    if mid is None:
        return None
    entry = _lookup().entries.get(mid)
    return entry.iso2 if entry is not None else None


def _mids(mmsis: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Vectorized :func:`mid_for_mmsi` over the same ``_FORMS``; -1 where there is no MID."""
    conditions = [(mmsis >= first) & (mmsis <= last) for first, last, _ in _FORMS]
    choices = [mmsis // divisor % 1000 for _, _, divisor in _FORMS]
    selected: npt.NDArray[np.int64] = np.select(conditions, choices, default=-1)
    return selected


def flags_for_mmsis(mmsis: npt.NDArray[np.integer[Any]]) -> pa.StringArray:
    """Vectorized :func:`flag_for_mmsi`: one ISO code (or null) per MMSI.

    Args:
        mmsis: MMSIs as a numpy integer array (usually ``uint32``).

    Returns:
        A pyarrow string array of the same length; null where there is no allocated MID.
    """
    lookup = _lookup()
    mids = _mids(np.asarray(mmsis, dtype=np.int64))
    has_mid = mids >= 0
    index = np.where(has_mid, lookup.index_by_mid[np.where(has_mid, mids, 0)], _NO_CODE)
    indices = pa.array(index, pa.int16(), mask=index == _NO_CODE)
    result: pa.StringArray = lookup.codes.take(indices)
    return result


def valid_mmsi_mask(mmsis: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.bool_]:
    """True where an MMSI is valid: ``MMSI_MIN <= mmsi <= MMSI_MAX`` (see the module docstring).

    Args:
        mmsis: MMSIs as a numpy integer array of any integer dtype (signed or not).

    Returns:
        A boolean array of the same shape.
    """
    values = np.asarray(mmsis)
    valid: npt.NDArray[np.bool_] = (values >= MMSI_MIN) & (values <= MMSI_MAX)
    return valid


def is_valid_mmsi(mmsi: int) -> bool:
    """Scalar :func:`valid_mmsi_mask`: whether ``MMSI_MIN <= mmsi <= MMSI_MAX``."""
    return MMSI_MIN <= mmsi <= MMSI_MAX
