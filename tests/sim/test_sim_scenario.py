"""Scenario files: bad ones fail with the file, the line and the field path, and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from seabridge.errors import InputError
from seabridge.sim import ScenarioError, Simulation, load_scenario
from seabridge.sim.plan import build_plan

HEAD = """\
scenario: t
title: a test scenario
start: 2010-09-07T00:00:00Z
duration: 10m
"""
PATROL = """\
  - mmsi: 431999101
    name: KAIYO PATROL 101
    ship_type: 55
    position: {lat: 25.9, lon: 123.4}
    behaviours:
      - transit: {route: [{lat: 25.9, lon: 123.8}], speed_kn: 10}
"""


def _write(tmp_path: Path, body: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _error(tmp_path: Path, body: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        Simulation(load_scenario(_write(tmp_path, body)))
    return str(caught.value)


def test_scenario_errors_are_input_errors() -> None:
    assert issubclass(ScenarioError, InputError)  # the CLI exits 2


def test_a_bad_value_names_file_line_and_field(tmp_path: Path) -> None:
    body = "vessels:\n" + PATROL.replace("speed_kn: 10", "speed_kn: -3")
    message = _error(tmp_path, body)
    assert message.startswith(f"{tmp_path / 't.yaml'}:11: ")
    assert "vessels[0].behaviours[0].transit.speed_kn" in message


def test_unknown_and_missing_fields(tmp_path: Path) -> None:
    message = _error(tmp_path, "vessels:\n" + PATROL.replace("ship_type: 55", "shiptype: 55"))
    assert ":8: vessels[0].shiptype: unknown field" in message
    assert "vessels[0].ship_type: missing required field" in message


def test_a_behaviour_needs_exactly_one_key(tmp_path: Path) -> None:
    body = "vessels:\n" + PATROL + "      - {}\n"
    assert "behaviours[1]: a behaviour needs exactly one of transit, fishing" in _error(
        tmp_path, body
    )


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    assert ":7: invalid YAML" in _error(tmp_path, "vessels:\n  - mmsi: [1,\n")


def test_unknown_builtin_lists_the_builtins() -> None:
    with pytest.raises(ScenarioError, match=r"no built-in scenario 'nope' \(built-in: .*ecs-mini"):
        load_scenario("nope")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            PATROL.replace("{lat: 25.9, lon: 123.8}", "somewhere"),
            "vessels[0].behaviours[0].transit.route[0]: unknown point 'somewhere'",
        ),
        (
            PATROL + "      - zone_entry: {zone: nowhere, at: 1m, enter_at: 5m}\n",
            "vessels[0].behaviours[1].zone_entry.zone: unknown zone 'nowhere'",
        ),
        (
            PATROL + "      - shadow: {target: 412000001, at: 1m, until: 5m, range_nm: 1}\n",
            "behaviours[1].shadow.target: no vessel with MMSI 412000001",
        ),
        (
            PATROL.replace("ship_type: 55", "ship_type: 55\n    flag: CN"),
            "vessels[0].flag: MMSI 431999101 has MID 431 (JP), not CN",
        ),
        (
            PATROL + "      - approach: {target: 431999101, at: 1m, cpa_at: 5m, cpa_nm: 1}\n",
            "cannot be its own target",
        ),
        (
            PATROL
            + "      - go_dark: {at: 1m, duration: 5m}\n"
            + "      - speed_run: {toward: {lat: 26, lon: 124}, at: 2m, until: 4m, speed_kn: 20}\n"
            + "      - speed_run: {toward: {lat: 26, lon: 124}, at: 3m, until: 6m, speed_kn: 20}\n",
            "vessels[0].behaviours[3].speed_run: overlaps the speed_run of 431999101",
        ),
    ],
)
def test_names_that_resolve_to_nothing(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in _error(tmp_path, "vessels:\n" + body)


def test_government_vessels_must_be_in_their_party_fleet(tmp_path: Path) -> None:
    body = "pack: ecs\nvessels:\n" + PATROL.replace(
        "ship_type: 55", "ship_type: 55\n    party: jcg"
    ).replace("431999101", "431000001")
    assert "vessels[0].mmsi: 431000001 is not in the fleet of party 'jcg'" in _error(tmp_path, body)
    assert "unknown party 'jcgx'" in _error(tmp_path, body.replace("party: jcg", "party: jcgx"))


def test_a_fleet_larger_than_its_area(tmp_path: Path) -> None:
    body = """\
fleets:
  - id: boats
    count: 10
    mids: [412]
    ship_type: 30
    fishing: {area: {box: {west: 123.0, south: 26.0, east: 123.1, north: 26.1}}, cell_nm: 2}
"""
    message = _error(tmp_path, body)
    assert "fleets[0].count: 10 vessels but the area holds 4 cells of 2.0 nm" in message


def test_a_lane_shorter_than_the_run(tmp_path: Path) -> None:
    body = """\
lanes:
  - id: short
    route: [{lat: 26.0, lon: 123.0}, {lat: 26.0, lon: 123.1}]
fleets:
  - id: ships
    count: 2
    mids: [477]
    max_speed_kn: 40
    transit: {lane: short, speed_kn: 30}
"""
    message = _error(tmp_path, body)
    assert "fleets[0].transit.lane: short: the lane is 5 nm long but a vessel at 30.0 kn" in message


def test_an_impossible_situation_is_reported_after_the_run(tmp_path: Path) -> None:
    body = (
        "duration: 20m\nvessels:\n"
        + PATROL
        + """\
  - mmsi: 412998001
    name: FAR AWAY
    ship_type: 30
    position: {lat: 27.5, lon: 123.6}
    behaviours:
      - approach: {target: 431999101, at: 1m, cpa_at: 10m, cpa_nm: 0.2}
"""
    )
    path = tmp_path / "t.yaml"
    path.write_text(HEAD.replace("duration: 10m\n", "") + body, encoding="utf-8")
    simulation = Simulation(load_scenario(path))
    with pytest.raises(
        ScenarioError, match=r"vessels\[1\]\.behaviours\[0\]\.approach: not realized"
    ):
        for _ in simulation.transmissions():
            pass


@pytest.mark.parametrize(
    ("name", "fewest", "most"), [("ecs-mini", 1, 300), ("ecs-demo", 1500, 2000)]
)
def test_the_builtin_scenarios_validate_and_plan(name: str, fewest: int, most: int) -> None:
    """Schema, names, party fleets and quiet lane placement, without simulating."""
    scenario = load_scenario(name)
    assert scenario.pack is not None and scenario.pack.id == "ecs"
    plan = build_plan(scenario)
    assert fewest <= len(plan.vessels) <= most
    assert plan.lane_conflicts == 0
    assert plan.watched[:2] == ("senkaku-diaoyu-12nm", "senkaku-diaoyu-12-24nm")
