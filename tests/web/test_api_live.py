"""The live websocket /api/ws (auth by cookie with the console's own Origin or by token,
refusals with 4401/4403, the hub's topics, per-connection bbox filtering of positions) and
GET /metrics, over a node without sources (the tests publish to its hub)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_kit import ApiNode, open_api_node
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

ORIGIN = "http://testserver"
RULEBOOK = {"id": "ecs-standard", "version": 1, "sha256": "ab" * 32}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    made = open_api_node(tmp_path_factory.mktemp("live"), steps=0)
    yield made
    made.close()


def _client(api: ApiNode, role: str | None = "viewer") -> TestClient:
    client = TestClient(api.app)
    if role is not None:
        client.cookies.set("sb_session", api.node.users.create_session(role).token)
    return client


def _refusal(client: TestClient, headers: dict[str, str]) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/api/ws", headers=headers),
    ):
        pass  # pragma: no cover - the handshake is refused
    return refused.value.code


def _row(mmsi: int, lon: float, lat: float) -> dict[str, Any]:
    """A position row as the pipeline offers it to the hub."""
    return {
        "mmsi": mmsi, "ts": "2010-09-07T00:00:00Z", "ts_ms": 1283817600000, "lat": lat,
        "lon": lon, "sog_kn": 5.0, "cog_deg": 90.0, "heading_deg": None, "nav_status": 0,
    }  # fmt: skip


def test_no_cookie_or_a_dead_one_is_refused_4401(api: ApiNode) -> None:
    assert _refusal(_client(api, None), {"Origin": ORIGIN}) == 4401
    dead = TestClient(api.app)
    dead.cookies.set("sb_session", "not-a-session")
    assert _refusal(dead, {"Origin": ORIGIN}) == 4401
    assert _refusal(_client(api, None), {"Authorization": "Bearer sbt_nope"}) == 4401


def test_a_foreign_or_missing_origin_is_refused_4403(api: ApiNode) -> None:
    assert _refusal(_client(api), {"Origin": "https://evil.example"}) == 4403
    assert _refusal(_client(api), {"Origin": "http://testserver.evil.example"}) == 4403
    assert _refusal(_client(api), {}) == 4403


def test_events_incidents_and_hotline_messages_are_streamed(api: ApiNode) -> None:
    with _client(api).websocket_connect("/api/ws", headers={"Origin": ORIGIN}) as ws:
        event = {"id": "ev-1", "kind": "zone_entry", "level": 2, "status": "open",
                 "rulebook": RULEBOOK, "vessels": [1], "lat": 25.9, "lon": 123.5}  # fmt: skip
        api.node.hub.publish("events", event)
        api.node.hub.publish("incidents", {"kind": "opened", "incident": "jcg-000001"})
        api.node.hub.publish("hotline", {"type": "receipt", "peer": "ccg", "size": 3})
        got = [ws.receive_json() for _ in range(3)]
    assert [m["topic"] for m in got] == ["events", "incidents", "hotline"]
    assert got[0]["data"]["id"] == "ev-1" and "not jointly agreed" in got[0]["data"]["warning"]
    assert got[1]["data"] == {"kind": "opened", "incident": "jcg-000001"}
    assert got[2]["data"]["size"] == 3
    assert got[1]["seq"] == got[0]["seq"] + 1


def test_positions_are_filtered_by_each_connections_bbox(api: ApiNode) -> None:
    inside, outside = _row(412000001, 123.5, 25.9), _row(412000002, 130.0, 33.0)
    viewer = _client(api)
    with (
        viewer.websocket_connect(
            "/api/ws?bbox=123,25,124.5,26.5", headers={"Origin": ORIGIN}
        ) as near,
        viewer.websocket_connect("/api/ws", headers={"Origin": ORIGIN}) as everywhere,
    ):
        api.node.hub.offer_positions([inside, outside])
        api.node.hub.flush_positions(force=True)
        seen_near, seen_all = near.receive_json(), everywhere.receive_json()
        near.send_json({"bbox": [129, 32, 131, 34]})
        assert near.receive_json() == {
            "topic": "bbox",
            "data": {"bbox": [129.0, 32.0, 131.0, 34.0]},
        }
        api.node.hub.offer_positions([inside, outside])
        api.node.hub.flush_positions(force=True)
        moved = near.receive_json()
        near.send_json({"bbox": [1, 2]})
        error = near.receive_json()
    assert seen_near["topic"] == "positions" and seen_near["data"]["type"] == "FeatureCollection"
    assert [f["properties"]["mmsi"] for f in seen_near["data"]["features"]] == [412000001]
    assert [f["properties"]["mmsi"] for f in seen_all["data"]["features"]] == [412000001, 412000002]
    feature = seen_near["data"]["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [123.5, 25.9]}
    assert {"mmsi", "sog_kn", "cog_deg", "heading_deg", "nav_status", "ts"} <= set(
        feature["properties"]
    )
    assert [f["properties"]["mmsi"] for f in moved["data"]["features"]] == [412000002]
    assert error["topic"] == "error" and "minLon,minLat,maxLon,maxLat" in error["data"]["detail"]


def test_an_api_token_may_connect_without_origin(api: ApiNode) -> None:
    token = api.node.users.create_token("viewer", "script").token
    client = TestClient(api.app)
    with client.websocket_connect("/api/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        api.node.hub.publish("incidents", {"kind": "noted", "incident": "jcg-000002"})
        assert ws.receive_json()["data"]["kind"] == "noted"


def test_a_slow_client_loses_its_oldest_messages_not_the_hubs_time(api: ApiNode) -> None:
    with api.node.hub.subscribe({"incidents"}, maxsize=2) as slow:
        for n in range(5):
            api.node.hub.publish("incidents", {"kind": "noted", "n": n})
        assert [m["data"]["n"] for m in slow.drain()] == [3, 4] and slow.dropped == 3


def test_metrics_are_prometheus_text_for_admins(api: ApiNode) -> None:
    admin = api.login("admin")
    response = admin.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE seabridge_messages_total counter\nseabridge_messages_total 0\n" in response.text
    assert "seabridge_hotline_receipt_latency_seconds_count 0" in response.text
    assert api.login("operator").get("/metrics").status_code == 403
    assert api.client().get("/metrics").status_code == 401
    scraper = api.client()
    scraper.bearer = api.node.users.create_token("admin", "prometheus").token
    assert scraper.get("/metrics").status_code == 200


def test_live_positions_have_the_properties_of_api_vessels(tmp_path: Path) -> None:
    fed = open_api_node(tmp_path, steps=3)
    wall = [0.0]
    fed.node.hub.monotonic = lambda: wall[0]  # the step's positions wait for the flush below
    try:
        viewer = _client(fed)
        with viewer.websocket_connect("/api/ws", headers={"Origin": ORIGIN}) as ws:
            for _ in range(2):  # the first flush goes at once, the second waits for wall time
                fed.clock.advance(1)
                fed.node.step()  # (its events may overflow the queue: the positions come after)
            wall[0] = 1e12
            assert fed.node.hub.flush_positions()
            fed.node.hub.publish("incidents", {"kind": "end of test"})
            message: dict[str, Any] = {}
            got = ws.receive_json()
            while got["data"] != {"kind": "end of test"}:
                message = got if got["topic"] == "positions" else message
                got = ws.receive_json()
        vessels = viewer.get("/api/vessels").json()["features"]
    finally:
        fed.close()
    stored = {f["properties"]["mmsi"]: f for f in vessels}
    live = message["data"]["features"]
    assert len(live) > 10
    for feature in live:
        assert feature == stored[feature["properties"]["mmsi"]]
    assert any(f["properties"]["name"] and f["properties"]["party"] for f in live)
