"""Unit conversions. Names carry units (``_kn``, ``_nm``, ``_m``, ``_s``, ``_ms``, ``_deg``).

Convert once, here. Constants follow their definitions: the international nautical mile is
exactly 1852 m (BIPM SI Brochure, table 8) and the knot is one nautical mile per hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "MPS_PER_KN",
    "M_PER_NM",
    "S_PER_DAY",
    "datetime_to_ms",
    "iso_to_ms",
    "kn_to_mps",
    "m_to_nm",
    "mps_to_kn",
    "ms_to_datetime",
    "ms_to_iso",
    "ms_to_isos",
    "nm_to_m",
]

M_PER_NM = 1852.0
MPS_PER_KN = M_PER_NM / 3600.0
S_PER_DAY = 86_400


def nm_to_m(distance_nm: float) -> float:
    """Nautical miles to metres."""
    return distance_nm * M_PER_NM


def m_to_nm(distance_m: float) -> float:
    """Metres to nautical miles."""
    return distance_m / M_PER_NM


def kn_to_mps(speed_kn: float) -> float:
    """Knots to metres per second."""
    return speed_kn * MPS_PER_KN


def mps_to_kn(speed_mps: float) -> float:
    """Metres per second to knots."""
    return speed_mps / MPS_PER_KN


def datetime_to_ms(moment: datetime) -> int:
    """An aware datetime to integer milliseconds since the Unix epoch (UTC).

    Raises:
        ValueError: the datetime is naive; Seabridge never guesses a time zone.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a time zone (UTC: 'Z')")
    return round(moment.timestamp() * 1000)


def ms_to_datetime(ts_ms: int) -> datetime:
    """Milliseconds since the epoch to an aware UTC datetime."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def ms_to_iso(ts_ms: int) -> str:
    """Milliseconds since the epoch to ISO 8601 UTC, e.g. ``2010-09-07T01:55:00Z``.

    Milliseconds are written only when they are not zero.
    """
    moment = ms_to_datetime(ts_ms)
    if ts_ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ms_to_isos(ts_ms: Any) -> list[str]:
    """:func:`ms_to_iso` of many times at once (an int64 array; years 1970-9999)."""
    import numpy as np  # here: the CLI imports this module before it needs numpy

    times = np.asarray(ts_ms, dtype=np.int64)
    texts = np.datetime_as_string(times.astype("datetime64[ms]"), unit="ms").tolist()
    whole = (times % 1000 == 0).tolist()
    return [
        text[:-4] + "Z" if round_second else text + "Z"
        for text, round_second in zip(texts, whole, strict=True)
    ]


def iso_to_ms(text: str) -> int:
    """An ISO 8601 time to milliseconds since the epoch.

    A time without an offset is read as UTC (AIS times are UTC); a bare date is midnight UTC.

    Raises:
        ValueError: the text is not an ISO 8601 date or time.
    """
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time; use e.g. 2024-05-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime_to_ms(moment)
