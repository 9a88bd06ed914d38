"""The encoders: the numpy packer gives pyais's bytes; messages decode back to their values."""

from __future__ import annotations

from functools import reduce
from operator import xor
from typing import Any

import numpy as np
import pyais
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from pyais.stream import IterMessages

from seabridge.sim.encode import (
    CS_RADIO,
    Identity,
    PositionBatch,
    encode_message,
    encode_positions,
    frame,
    itdma_radio,
    position_dicts,
    raw_turn,
    sotdma_radio,
    static_fields,
    static_payload,
    tag_block,
)


def _decode(*sentences: str) -> Any:
    return pyais.decode(*sentences)


REPORT = st.fixed_dictionaries(
    {
        "msg_type": st.sampled_from([1, 3, 18]),
        "mmsi": st.integers(200_000_000, 799_999_999),
        "status": st.integers(0, 15),
        "rot": st.one_of(st.just(0.0), st.floats(-720.0, 720.0, allow_nan=False)),
        "sensor": st.booleans(),
        "speed": st.integers(0, 1022),
        "accuracy": st.integers(0, 1),
        "lon": st.integers(-180 * 600_000, 180 * 600_000),
        "lat": st.integers(-90 * 600_000, 90 * 600_000),
        "course": st.integers(0, 3599),
        "heading": st.one_of(st.integers(0, 359), st.just(511)),
        "second": st.integers(0, 63),
        "radio": st.integers(0, (1 << 19) - 1),
        "channel": st.sampled_from(["A", "B"]),
    }
)


def _batch(reports: list[dict[str, object]]) -> PositionBatch:
    def column(key: str) -> NDArray[np.int64]:
        return np.asarray([r[key] for r in reports], dtype=np.int64)

    rot = np.asarray([r["rot"] for r in reports], dtype=np.float64)
    sensor = np.asarray([r["sensor"] for r in reports], dtype=np.bool_)
    turn, rot_given = raw_turn(rot, sensor)
    radio = np.where(column("msg_type") == 18, CS_RADIO, column("radio"))
    return PositionBatch(
        msg_type=column("msg_type"),
        mmsi=column("mmsi"),
        status=column("status"),
        turn=turn,
        rot_deg_min=rot_given,
        speed=column("speed"),
        accuracy=column("accuracy"),
        lon=column("lon"),
        lat=column("lat"),
        course=column("course"),
        heading=column("heading"),
        second=column("second"),
        radio=radio,
        channel=[str(r["channel"]) for r in reports],
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(REPORT, min_size=1, max_size=40))
def test_the_numpy_packer_gives_pyais_bytes(reports: list[dict[str, object]]) -> None:
    batch = _batch(reports)
    expected = [
        encode_message(fields, channel)[0]
        for fields, channel in zip(position_dicts(batch), batch.channel, strict=True)
    ]
    assert encode_positions(batch) == expected


def test_reports_decode_to_their_raw_values() -> None:
    reports = [
        {"msg_type": 3, "mmsi": 431999101, "status": 1, "rot": -12.5, "sensor": True,
         "speed": 123, "accuracy": 1, "lon": round(123.6817 * 600_000),
         "lat": round(-25.9233 * 600_000), "course": 3599, "heading": 359, "second": 59,
         "radio": 4321, "channel": "B"},
        {"msg_type": 18, "mmsi": 412998001, "status": 0, "rot": 0.0, "sensor": False,
         "speed": 1022, "accuracy": 0, "lon": round(-179.99 * 600_000),
         "lat": round(89.5 * 600_000), "course": 0, "heading": 511, "second": 7,
         "radio": 0, "channel": "A"},
    ]  # fmt: skip
    batch = _batch(reports)
    first, second = (_decode(sentence) for sentence in encode_positions(batch))
    assert first.msg_type == 3 and first.mmsi == 431999101 and first.status == 1
    assert first.lat == pytest.approx(-25.9233, abs=2e-6)
    assert first.lon == pytest.approx(123.6817, abs=2e-6)
    assert (first.speed, first.course, first.heading, first.second) == (12.3, 359.9, 359, 59)
    assert first.turn == round((round(4.733 * 12.5**0.5) / 4.733) ** 2) * -1
    assert first.radio == 4321
    assert second.msg_type == 18 and second.cs and second.heading == 511
    assert second.speed == 102.2 and second.radio == CS_RADIO


def test_no_sensor_means_turn_not_available() -> None:
    turn, given_rot = raw_turn(np.asarray([25.0, 25.0]), np.asarray([True, False]))
    assert turn.tolist() == [24, -128]
    assert given_rot.tolist() == [25.0, -128.0]


def test_pyais_needs_msg_type_for_a_type_3() -> None:
    """The trap the encoder avoids: pyais encodes {"type": 3} as a type 1."""
    assert _decode(encode_message({"type": 3, "mmsi": 1}, "A")[0]).msg_type == 1
    fields = {"type": 3, "msg_type": 3, "mmsi": 1}
    assert _decode(encode_message(fields, "A")[0]).msg_type == 3


IDENTITY_A = Identity(
    mmsi=431999101, name="KAIYO PATROL 101", callsign="JAAA1", ship_type=55, class_b=False,
    imo=0, to_bow=27, to_stern=62, to_port=6, to_starboard=6, draught_m=4.0,
    destination="ISHIGAKI", heading_sensor=True, accuracy=1,
)  # fmt: skip
IDENTITY_B = Identity(
    mmsi=431000123, name="DAI01 KAIYO MARU", callsign="JABC1", ship_type=30, class_b=True,
    imo=0, to_bow=6, to_stern=14, to_port=2, to_starboard=2, draught_m=0.0, destination="",
    heading_sensor=False, accuracy=0, serial=4242,
)  # fmt: skip


def test_static_messages_decode_to_every_field() -> None:
    (voyage,) = static_fields(IDENTITY_A)
    sentences = frame(static_payload(voyage), "A", 3)
    assert sentences == encode_message(voyage, "A", 3)
    decoded = _decode(*sentences)
    assert (decoded.msg_type, decoded.mmsi, decoded.shipname, decoded.callsign) == (
        5, 431999101, "KAIYO PATROL 101", "JAAA1",
    )  # fmt: skip
    assert (decoded.ship_type, decoded.to_bow, decoded.to_stern, decoded.draught) == (
        55,
        27,
        62,
        4.0,
    )
    assert (decoded.month, decoded.day, decoded.hour, decoded.minute) == (0, 0, 24, 60)
    assert decoded.destination == "ISHIGAKI" and decoded.imo == 0 and decoded.ais_version == 2
    part_a, part_b = (
        _decode(*frame(static_payload(f), "B", None)) for f in static_fields(IDENTITY_B)
    )
    assert (part_a.partno, part_a.shipname) == (0, "DAI01 KAIYO MARU")
    assert (part_b.partno, part_b.ship_type, part_b.callsign, part_b.serial) == (
        1,
        30,
        "JABC1",
        4242,
    )


def test_tag_blocks_carry_station_time_and_checksum() -> None:
    tag = tag_block("jcg-naha", 1283817600)
    body = "s:jcg-naha,c:1283817600"
    assert tag == f"\\{body}*{reduce(xor, body.encode()):02X}\\"
    line = tag + encode_message({"type": 1, "msg_type": 1, "mmsi": 431999101}, "A")[0]
    (message,) = IterMessages([line.encode("ascii")])
    assert message.is_valid and message.tag_block is not None
    message.tag_block.init()
    assert message.tag_block.source_station == "jcg-naha"
    assert message.tag_block.receiver_timestamp == "1283817600"


def test_radio_states() -> None:
    counts = np.arange(8, dtype=np.int64)
    stamp = np.full(8, 1_283_821_262_000, dtype=np.int64)  # 01:01:02 UTC
    states = sotdma_radio(counts, stamp, np.full(8, 10.0), 275)
    timeouts = (states >> 14) & 7
    assert timeouts.tolist() == [7, 6, 5, 4, 3, 2, 1, 0]
    assert (states[0] & 0x3FFF) == 275  # timeout 7: stations received
    assert (states[6] & 0x3FFF) == (1 << 9) | (1 << 2)  # timeout 1: 01 h 01 min
    assert (states[7] & 0x3FFF) == 375  # timeout 0: slot offset of a 10 s interval
    assert (itdma_radio(np.asarray([2.0])) >> 4).tolist() == [75]
