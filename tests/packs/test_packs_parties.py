"""Parties: validation with located errors, and fleet membership (scalar and vectorized)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pack_builders import copy_ecs, replace_in

from seabridge.ais.mid import flag_for_mmsi
from seabridge.ais.sample import VESSELS
from seabridge.errors import PackError
from seabridge.packs import (
    Fleet,
    Where,
    load_pack,
    load_parties,
    parse_parties,
    party_for_mmsi,
    party_index,
    require_party,
)

LAW_ENFORCEMENT = 55  # ITU-R M.1371-5 table 53: ship type 55, law enforcement vessels

VALID: dict[str, Any] = {
    "party": [
        {
            "id": "jcg",
            "state": "JP",
            "language": "ja",
            "names": {"en": "Japan Coast Guard", "ja": "海上保安庁", "zh": "日本海上保安厅"},
            "mids": [431, 432],
            "source": "test",
            "fleet": {"mmsis": [431999001], "ranges": [[431999100, 431999199]]},
        },
        {
            "id": "ccg",
            "state": "CN",
            "language": "zh",
            "names": {"en": "China Coast Guard", "ja": "中国海警局", "zh": "中国海警局"},
            "mids": [412, 413, 414],
            "source": "test",
            "fleet": {"mmsis": [413999002], "ranges": [[413999100, 413999199]]},
        },
    ]
}


def _parse(data: dict[str, Any]) -> None:
    parse_parties(data, Where("parties.toml"), ("en", "ja", "zh"))


def _broken(index: int, key: str, value: object) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    table = data["party"][index]
    *parents, last = key.split(".")
    for parent in parents:
        table = table[parent]
    if value is None:
        del table[last]
    else:
        table[last] = value
    return data


def test_the_ecs_parties() -> None:
    parties = load_parties(load_pack("ecs"))
    assert [(p.id, p.state, p.language, p.mids) for p in parties] == [
        ("jcg", "JP", "ja", (431, 432)),
        ("ccg", "CN", "zh", (412, 413, 414)),
    ]
    jcg, ccg = parties
    assert jcg.names == {"en": "Japan Coast Guard", "ja": "海上保安庁", "zh": "日本海上保安厅"}
    assert ccg.names == {"en": "China Coast Guard", "ja": "中国海警局", "zh": "中国海警局"}
    assert require_party(parties, "ccg") is ccg
    with pytest.raises(PackError, match=r"no party 'kcg' in the pack \(parties: jcg, ccg\)"):
        require_party(parties, "kcg")


def test_ecs_fleets_hold_exactly_the_samples_patrol_vessels() -> None:
    parties = load_parties(load_pack("ecs"))
    for vessel in VESSELS:
        party = party_for_mmsi(parties, vessel.mmsi)
        if vessel.ship_type == LAW_ENFORCEMENT:
            assert party is not None, vessel
            assert party.state == flag_for_mmsi(vessel.mmsi)
        else:
            assert party is None, vessel  # the fishing vessel 431999004, KUROSHIO 431999007, ...


@pytest.mark.parametrize(
    ("index", "key", "value", "message"),
    [
        (1, "state", "China", "party[1].state: 'China' is not an ISO 3166 alpha-2 code"),
        (0, "state", "jp", "party[0].state: 'jp' is not an ISO 3166 alpha-2 code"),
        (0, "names.en", None, "party[0].names: missing en name"),
        (1, "names.zh", None, "party[1].names: missing zh name"),
        (0, "names.ja", "", "party[0].names.ja: must not be empty"),
        (0, "id", None, "party[0]: missing required key 'id'"),
        (0, "id", "JCG!", "party[0].id: 'JCG!' is not an id"),
        (0, "mids", [], "party[0].mids: list the MIDs of the state"),
        (0, "mids", [431, 999], "party[0].mids[1]: 999 is above the maximum 775"),
        (
            0,
            "fleet.mmsis",
            [412999003],
            "party[0].fleet.mmsis[0]: 412999003 is not a ship MMSI",
        ),
        (
            0,
            "fleet.mmsis",
            [True],
            "party[0].fleet.mmsis[0]: expected an integer, found a bool",
        ),
        (
            0,
            "fleet.mmsis",
            [4319990],
            "party[0].fleet.mmsis[0]: 4319990 is below the minimum",
        ),
        (
            0,
            "fleet.mmsis",
            [431999001, 431999001],
            "party[0].fleet.mmsis: lists an MMSI twice",
        ),
        (
            0,
            "fleet.ranges",
            [[431999200, 431999100]],
            "party[0].fleet.ranges[0]: first MMSI 431999200 is af",
        ),
        (
            0,
            "fleet.ranges",
            [[431999200]],
            "party[0].fleet.ranges[0]: expected [first, last]",
        ),
        (
            0,
            "fleet.ranges",
            [[431999200, 432000000]],
            "party[0].fleet.ranges[0]: a range must stay",
        ),
        (0, "fleet.colour", "blue", "party[0].fleet: unknown key 'colour'"),
        (0, "flag", "JP", "party[0]: unknown key 'flag'"),
        (1, "id", "jcg", "party[1].id: 'jcg' is also party[0]'s id"),
        (1, "fleet", "none", "party[1].fleet: expected a table, found a string"),
    ],
)
def test_broken_parties_name_the_file_and_the_field(
    index: int, key: str, value: object, message: str
) -> None:
    with pytest.raises(PackError) as caught:
        _parse(_broken(index, key, value))
    assert str(caught.value).startswith(f"parties.toml: {message}")


def test_overlapping_fleets_are_rejected() -> None:
    data = _broken(1, "mids", [431, 413])
    data["party"][1]["fleet"]["mmsis"] = [431999150]
    with pytest.raises(PackError, match=r"party\[1\]\.fleet: MMSI 431999150 is also in party\[0\]"):
        _parse(data)


def test_no_parties_is_an_error() -> None:
    with pytest.raises(PackError, match=r"^parties\.toml: party: no parties"):
        _parse({"party": []})
    with pytest.raises(PackError, match=r"^parties\.toml: missing required key 'party'"):
        _parse({})


def test_a_broken_parties_file_on_disk_names_its_path(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    replace_in(root / "parties.toml", 'state = "CN"', 'state = "China"')
    with pytest.raises(PackError) as caught:
        load_parties(load_pack(root))
    assert str(caught.value) == (
        f"{root.resolve() / 'parties.toml'}: party[1].state: 'China' is not an ISO 3166 "
        "alpha-2 code (e.g. JP)"
    )


FLEETS = st.builds(
    Fleet,
    mmsis=st.lists(st.integers(431_000_000, 431_000_300), max_size=8).map(tuple),
    ranges=st.lists(
        st.tuples(st.integers(431_000_000, 431_000_300), st.integers(0, 40)).map(
            lambda start: (start[0], start[0] + start[1])
        ),
        max_size=4,
    ).map(tuple),
)


@given(fleet=FLEETS, mmsis=st.lists(st.integers(430_999_990, 431_000_350), max_size=60))
def test_vectorized_membership_agrees_with_the_scalar_one(fleet: Fleet, mmsis: list[int]) -> None:
    mask = fleet.mask(np.asarray(mmsis, dtype=np.uint32))
    assert mask.dtype == np.bool_
    assert mask.tolist() == [mmsi in fleet for mmsi in mmsis]


def test_party_index_agrees_with_party_for_mmsi() -> None:
    parties = load_parties(load_pack("ecs"))
    mmsis = np.array(
        [431999001, 413999002, 431999004, 431999100, 431999199, 431999200, 413999150, 0],
        dtype=np.uint32,
    )
    index = party_index(parties, mmsis)
    expected = []
    for mmsi in mmsis.tolist():
        party = party_for_mmsi(parties, mmsi)
        expected.append(-1 if party is None else parties.index(party))
    assert index.tolist() == expected == [0, 1, -1, 0, 0, -1, 1, -1]
    jcg = parties[0]
    assert jcg.fleet_mask(mmsis).tolist() == [jcg.in_fleet(m) for m in mmsis.tolist()]
    assert jcg.in_fleet(np.uint32(431999001).item())
    assert not jcg.in_fleet(431999004)
