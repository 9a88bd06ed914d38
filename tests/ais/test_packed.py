"""The bulk decoder of 168-bit position reports against pyais, field by field.

Every single-sentence type 1, 2, 3 or 18 report with a 28-character payload and no fill bits
in the shared AIS logs (the AISHub sample alone has ~70k), plus random payloads, decoded both
ways: the values must be equal, not merely close.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.bit_vector import bit_vector
from pyais.messages import MSG_CLASS

from seabridge.ais.packed import PACKED_TYPES, decode_packed, second_of

SHARED_AIS = Path(__file__).resolve().parents[3] / "shared" / "data" / "ais"
ARMOR = bytes(range(48, 88)) + bytes(range(96, 120))
SENTENCE = re.compile(rb"!\w\wVD[MO],1,1,\w?,\w?,([0-9:;<=>?@A-W`a-w]{28}),0\*")


def _sixbit(char: int) -> int:
    value = char - 48
    return value - 8 if value > 40 else value


def _pyais_fields(payload: bytes) -> dict[str, Any]:
    message: Any = MSG_CLASS[_sixbit(payload[0])].from_vector(bit_vector(payload, 0))
    return {
        "mmsi": message.mmsi,
        "lat": message.lat,
        "lon": message.lon,
        "speed": message.speed,
        "course": message.course,
        "heading": message.heading,
        "status": int(getattr(message, "status", 15)),
        "msg_type": message.msg_type,
        "second": message.second,
    }


def _assert_same(payloads: list[bytes]) -> None:
    table = decode_packed(payloads)
    for row, payload in zip(table, payloads, strict=True):
        expected = _pyais_fields(payload)
        ours = {name: row[name].item() for name in table.dtype.names}
        ours["second"] = second_of(expected["msg_type"], payload)
        for name, value in expected.items():
            got = ours[name]
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got), (payload, name)
            else:
                assert got == value, (payload, name, got, value)


def _shared_payloads() -> list[bytes]:
    if not SHARED_AIS.is_dir():
        pytest.skip(f"shared AIS data not found at {SHARED_AIS} (it sits beside the checkout)")
    payloads = []
    for path in sorted(SHARED_AIS.rglob("*")):
        if path.is_file() and path.suffix not in (".md", ".json", ".chk"):
            for match in SENTENCE.finditer(path.read_bytes()):
                payload = match.group(1)
                if _sixbit(payload[0]) in PACKED_TYPES:
                    payloads.append(payload)
    return payloads


def test_every_packed_report_in_the_shared_logs_decodes_as_pyais_does() -> None:
    payloads = _shared_payloads()
    assert len(payloads) > 60_000  # the AISHub sample is most of them
    assert {_sixbit(p[0]) for p in payloads} == PACKED_TYPES
    _assert_same(payloads)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(PACKED_TYPES)),
    st.lists(st.sampled_from(list(ARMOR)), min_size=27, max_size=27),
)
def test_random_payloads_decode_as_pyais_does(ais_id: int, rest: list[int]) -> None:
    first = ais_id + 48 if ais_id < 40 else ais_id + 56
    _assert_same([bytes([first, *rest])])


def test_sentinels_and_extremes_decode_as_pyais_does() -> None:
    # All-ones and all-zeros bodies give the sentinels (lat 91, lon 181, SOG 1023, ...)
    # and the most negative coordinates.
    payloads = [bytes([first]) + bytes([fill]) * 27 for first in b"123B" for fill in b"0w"]
    _assert_same(payloads)


def test_an_empty_batch_is_an_empty_table() -> None:
    assert len(decode_packed([])) == 0
