"""GET /api/vessels, /api/tracks, /api/zones and /api/events over a node fed five minutes of
the ecs-mini scenario: the shapes the console's map reads, and 400s that say what was wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_kit import ApiNode, open_api_node
from console_fixture import events as fixture_events
from console_fixture import vessels as fixture_vessels
from console_kit import Client

BBOX = "123.0,25.0,124.5,26.5"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    made = open_api_node(tmp_path_factory.mktemp("vessels"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def viewer(api: ApiNode) -> Client:
    return api.login("viewer")


def test_vessels_are_points_with_the_fields_the_map_reads(viewer: Client) -> None:
    body = viewer.get(f"/api/vessels?bbox={BBOX}").json()
    assert body["type"] == "FeatureCollection" and body["features"]
    expected = set(fixture_vessels()["features"][0]["properties"])
    for feature in body["features"]:
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 123.0 <= lon <= 124.5 and 25.0 <= lat <= 26.5
        assert set(feature["properties"]) == expected
    patrol = next(f for f in body["features"] if f["properties"]["mmsi"] == 413999101)
    props = patrol["properties"]
    assert (props["party"], props["flag"], props["name"]) == ("ccg", "CN", "HAIAN PATROL 101")
    assert props["ts"].startswith("2010-09-07T00:0")


def test_a_time_gives_the_positions_then(viewer: Client) -> None:
    now = viewer.get(f"/api/vessels?bbox={BBOX}").json()["features"]
    then = viewer.get(f"/api/vessels?bbox={BBOX}&t=2010-09-07T00:01:00Z").json()["features"]
    assert then and all(f["properties"]["ts"] <= "2010-09-07T00:01:00Z" for f in then)
    assert max(f["properties"]["ts"] for f in now) > "2010-09-07T00:01:00Z"
    before = viewer.get("/api/vessels?t=2000-01-01T00:00:00Z").json()
    assert before == {"type": "FeatureCollection", "features": []}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("bbox=1,2,3", "minLon,minLat,maxLon,maxLat"),
        ("bbox=a,b,c,d", "minLon,minLat,maxLon,maxLat"),
        ("bbox=123,27,124,26", "south <= north"),
        ("bbox=190,25,124,26", "within [-180, 180]"),
        ("t=yesterday", "t='yesterday' is not an ISO 8601 time"),
    ],
)
def test_a_bad_bbox_or_time_is_a_400_that_says_why(viewer: Client, query: str, words: str) -> None:
    response = viewer.get(f"/api/vessels?{query}")
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_a_track_is_one_line_per_vessel_with_its_times(viewer: Client) -> None:
    query = "mmsi=413999101&mmsi=431999101&start=2010-09-07T00:00:00Z&end=2010-09-07T06:00:00Z"
    body = viewer.get(f"/api/tracks?{query}").json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["mmsi"] for f in body["features"]] == [413999101, 431999101]
    for feature in body["features"]:
        coords, times = feature["geometry"]["coordinates"], feature["properties"]["times"]
        assert feature["geometry"]["type"] == "LineString"
        assert len(coords) == len(times) > 2 and times == sorted(times)
    short = "mmsi=413999101&start=2010-09-07T00:01:00Z&end=2010-09-07T00:02:00Z"
    times = viewer.get(f"/api/tracks?{short}").json()["features"][0]["properties"]["times"]
    assert times and all("00:01:00Z" <= t[11:] < "00:02:00Z" for t in times)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("mmsi=1&start=2010-09-01T00:00:00Z&end=2010-09-07T00:00:00Z", "longer than 48 h"),
        ("mmsi=1&start=2010-09-07T01:00:00Z&end=2010-09-07T00:00:00Z", "is not after start"),
        ("mmsi=abc", "an MMSI is a number"),
        ("start=2010-09-07T00:00:00Z", "mmsi: give 1 to 20 vessels"),
        ("mmsi=1&end=soon", "end='soon' is not an ISO 8601 time"),
    ],
)
def test_a_bad_track_query_is_a_400(viewer: Client, query: str, words: str) -> None:
    response = viewer.get(f"/api/tracks?{query}")
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_zones_carry_the_console_keys_and_every_name_of_a_disputed_feature(
    viewer: Client,
) -> None:
    body = viewer.get("/api/zones?lang=ja").json()
    zones = [f for f in body["features"] if f["properties"]["kind"] == "zone"]
    features = [f for f in body["features"] if f["properties"]["kind"] == "feature"]
    assert zones and features and len(zones) + len(features) == len(body["features"])
    assert {z["properties"]["zone_kind"] for z in zones} >= {"area_of_interest", "baseline"}
    assert all(z["properties"]["declared_by"] for z in zones)
    uotsuri = next(f["properties"] for f in features if f["properties"]["id"] == "uotsuri")
    assert uotsuri["disputed"] is True and uotsuri["name"] == "魚釣島"
    assert all(name in uotsuri["all_names"] for name in ("Uotsuri-shima", "钓鱼岛", "魚釣島"))
    response = viewer.get("/api/zones?lang=fr")
    assert response.status_code == 400 and "en, ja, zh" in response.json()["detail"]


def test_events_have_the_fixture_fields_and_a_warning_while_not_agreed(viewer: Client) -> None:
    events = viewer.get("/api/events?since=2010-09-07T00:00:00Z").json()
    assert events
    keys = set(fixture_events()[0])
    for event in events:
        assert keys <= set(event)
        assert "is not jointly agreed" in event["warning"]
    zone = viewer.get("/api/events?kind=zone_entry&limit=2").json()
    assert 0 < len(zone) <= 2 and {e["kind"] for e in zone} == {"zone_entry"}
    assert viewer.get("/api/events?min_level=9").json() == []
    assert viewer.get("/api/events?until=2000-01-01T00:00:00Z").json() == []
    bad = viewer.get("/api/events?since=last%20week")
    assert bad.status_code == 400 and "since='last week'" in bad.json()["detail"]
