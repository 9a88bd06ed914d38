"""MID table and MMSI -> flag lookups (ITU-R M.585 station forms)."""

from __future__ import annotations

import csv
import io
from importlib.resources import files

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.ais.mid import (
    MMSI_MAX,
    MMSI_MIN,
    flag_for_mmsi,
    flags_for_mmsis,
    is_valid_mmsi,
    mid_for_mmsi,
    mid_table,
    valid_mmsi_mask,
)


def _raw_rows() -> list[dict[str, str]]:
    text = files("seabridge").joinpath("data/mid.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


@pytest.mark.parametrize(
    ("mmsi", "flag"),
    [
        (431000000, "JP"),
        (432123456, "JP"),
        (412000000, "CN"),
        (413999999, "CN"),
        (414123456, "CN"),
        (416000000, "TW"),
        (477123456, "HK"),
        (453123456, "MO"),
        (440123456, "KR"),
        (441123456, "KR"),
        (445123456, "KP"),
        (366123456, "US"),
        (369999999, "US"),
        (211000000, "DE"),
        (219012345, "DK"),
        (232000000, "GB"),
        (636012345, "LR"),
        (775000001, "VE"),
        (201000000, "AL"),
    ],
)
def test_ship_stations(mmsi: int, flag: str) -> None:
    assert flag_for_mmsi(mmsi) == flag


@pytest.mark.parametrize(
    ("mmsi", "flag", "form"),
    [
        (111431123, "JP", "SAR aircraft 111MIDxxx"),
        (111412001, "CN", "SAR aircraft"),
        (992351001, "GB", "AtoN 99MIDxxxx"),
        (994310001, "JP", "AtoN"),
        (984310001, "JP", "craft associated with a parent ship 98MIDxxxx"),
        (3669946, "US", "coast station 003669946 (00MIDxxxx)"),
        (2190064, "DK", "coast station 002190064 (DMA writes it without zeros)"),
        (4310001, "JP", "coast station 004310001"),
        (43112345, "JP", "group 043112345 (0MIDxxxxx)"),
        (41212345, "CN", "group 041212345"),
        (843112345, "JP", "handheld VHF 8MIDxxxxx"),
        (836612345, "US", "handheld VHF"),
    ],
)
def test_other_station_forms(mmsi: int, flag: str, form: str) -> None:
    assert flag_for_mmsi(mmsi) == flag, form


@pytest.mark.parametrize(
    "mmsi",
    [
        970123456,  # AIS-SART
        972123456,  # MOB device
        974123456,  # EPIRB-AIS
        970012345,
        0,
        -1,
        1_000_000_000,
        4_294_967_295,
        100000000,  # 1xxxxxxxx but not 111: no MID
        112431000,
        217000000,  # 217 not allocated
        299123456,  # 299 not allocated
        800000000,  # handheld VHF with MID 000
        900000000,
        960000000,
        5,  # coast station form with MID 000
        1999999,  # coast station form with MID 199
    ],
)
def test_no_flag(mmsi: int) -> None:
    assert flag_for_mmsi(mmsi) is None


def test_mid_position_by_form() -> None:
    assert mid_for_mmsi(431000000) == 431
    assert mid_for_mmsi(3669946) == 366
    assert mid_for_mmsi(43112345) == 431
    assert mid_for_mmsi(111431123) == 431
    assert mid_for_mmsi(992351001) == 235
    assert mid_for_mmsi(984310001) == 431
    assert mid_for_mmsi(843112345) == 431
    assert mid_for_mmsi(970123456) is None


def test_table_has_no_duplicate_mids_and_well_formed_codes() -> None:
    rows = _raw_rows()
    mids = [row["mid"] for row in rows]
    assert len(mids) == len(set(mids)), "a MID appears twice"
    assert all(len(mid) == 3 and mid.isdigit() and "201" <= mid <= "775" for mid in mids)
    for row in rows:
        code = row["iso2"]
        assert len(code) == 2 and code.isascii() and code.isupper() and code.isalpha(), row
        assert row["name"].strip() == row["name"] and row["name"], row
    assert "UK" not in {row["iso2"] for row in rows}, "the ISO code of the UK is GB"


def test_table_loads_every_row() -> None:
    table = mid_table()
    assert len(table) == len(_raw_rows())
    assert table[431].iso2 == "JP" and table[431].name == "Japan"
    assert {table[mid].iso2 for mid in (412, 413, 414)} == {"CN"}
    assert {table[mid].iso2 for mid in (338, 366, 367, 368, 369)} == {"US"}
    table.clear()  # a copy: the module's table is unaffected
    assert flag_for_mmsi(431000000) == "JP"


def test_vectorized_matches_scalar_on_examples() -> None:
    mmsis = np.array(
        [431000000, 416000000, 3669946, 111431123, 992351001, 970123456, 0, 4_294_967_295],
        dtype=np.uint32,
    )
    flags = flags_for_mmsis(mmsis)
    assert flags.type == pa.string()
    assert flags.to_pylist() == ["JP", "TW", "US", "JP", "GB", None, None, None]


def test_vectorized_empty() -> None:
    flags = flags_for_mmsis(np.array([], dtype=np.uint32))
    assert len(flags) == 0 and flags.type == pa.string()


_station_forms = st.one_of(
    st.integers(0, 999_999_999),
    st.integers(200_000_000, 799_999_999),
    st.integers(2_000_000, 7_999_999),
    st.integers(111_000_000, 111_999_999),
    st.integers(980_000_000, 999_999_999),
    st.integers(800_000_000, 899_999_999),
)


def _oracle_mid(mmsi: int) -> int | None:
    """ITU-R M.585 forms read off the nine-digit string, independently of the module's table."""
    if not 0 <= mmsi <= 999_999_999:
        return None
    digits = f"{mmsi:09d}"
    if digits[0] in "234567":
        return int(digits[0:3])
    if digits.startswith("00"):
        return int(digits[2:5])
    if digits.startswith("0"):
        return int(digits[1:4])
    if digits.startswith("111"):
        return int(digits[3:6])
    if digits.startswith("8"):
        return int(digits[1:4])
    if digits.startswith(("98", "99")):
        return int(digits[2:5])
    return None


@settings(deadline=None)  # the first example loads the table
@given(st.lists(_station_forms, max_size=50))
def test_scalar_and_vectorized_match_an_oracle(mmsis: list[int]) -> None:
    table = mid_table()
    expected_mids = [_oracle_mid(m) for m in mmsis]
    expected = [
        None if mid is None or mid not in table else table[mid].iso2 for mid in expected_mids
    ]
    assert [mid_for_mmsi(m) for m in mmsis] == expected_mids
    assert [flag_for_mmsi(m) for m in mmsis] == expected
    assert flags_for_mmsis(np.array(mmsis, dtype=np.uint32)).to_pylist() == expected


@pytest.mark.parametrize(
    ("mmsi", "valid"),
    [
        (0, False),
        (1, False),
        (999_999, False),
        (1_000_000, False),
        (2_009_999, False),  # 002009999: coast station with MID 200, never allocated
        (2_010_000, True),  # 002010000: the smallest coast station with MID 201
        (2_190_064, True),  # DMA's coast station 002190064, zeros dropped
        (20_100_000, True),  # group 020100000
        (111_431_001, True),  # SAR aircraft, JP
        (431_000_001, True),
        (970_123_456, True),  # AIS-SART: no MID, still a valid identity
        (999_999_999, True),
        (1_000_000_000, False),
        (1_073_741_823, False),  # the largest 30-bit value an AIS message can carry
        (-1, False),
    ],
)
def test_valid_mmsi_rule(mmsi: int, valid: bool) -> None:
    assert is_valid_mmsi(mmsi) is valid
    assert valid_mmsi_mask(np.array([mmsi], dtype=np.int64)).tolist() == [valid]
    if mmsi >= 0:
        assert valid_mmsi_mask(np.array([mmsi], dtype=np.uint32)).tolist() == [valid]


def test_valid_mmsi_bounds_follow_from_the_station_forms() -> None:
    # The lowest allocated MID in the table, in the coast-station form 00MIDxxxx.
    assert min(mid_table()) * 10_000 == MMSI_MIN
    assert MMSI_MAX == 10**9 - 1


@given(st.lists(st.integers(-(2**40), 2**40), max_size=50))
def test_valid_mmsi_mask_matches_scalar(mmsis: list[int]) -> None:
    mask = valid_mmsi_mask(np.array(mmsis, dtype=np.int64))
    assert mask.dtype == np.bool_ and mask.tolist() == [is_valid_mmsi(m) for m in mmsis]


def test_valid_mmsi_mask_empty_and_shape() -> None:
    assert valid_mmsi_mask(np.array([], dtype=np.uint32)).shape == (0,)
    grid = np.array([[0, 431000001], [2_010_000, 2_009_999]], dtype=np.uint32)
    assert valid_mmsi_mask(grid).tolist() == [[False, True], [True, False]]
