"""/api/incidents over a node whose pipeline opened incidents from the ecs-mini scenario: the
shapes the console reads, the operators' actions with their actor in the timeline, 404 and
409 with the manager's message, and internal notes that never reach the peer's record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_kit import ApiNode, open_api_node
from console_fixture import incident_full, incident_summary

from seabridge.hotline.entries import Entry


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    made = open_api_node(tmp_path_factory.mktemp("incidents"))
    yield made
    made.close()


def _own_entries(api: ApiNode) -> list[Entry]:
    ledger = api.node.ledger
    origin = ledger.own_origin("ccg")
    return [Entry.from_bytes(data) for data, _ in ledger.entries(origin, 0, ledger.size(origin))]


def _with_peer(incidents: list[dict[str, Any]]) -> dict[str, Any]:
    return next(i for i in incidents if i["peers"] == ["ccg"])


def test_list_and_detail_have_the_fields_the_console_reads(api: ApiNode) -> None:
    viewer = api.login("viewer")
    incidents = viewer.get("/api/incidents").json()
    assert incidents
    assert all(set(i) == set(incident_summary()) for i in incidents)
    one = viewer.get(f"/api/incidents/{incidents[0]['id']}").json()
    assert set(one) >= set(incident_full())
    assert one["timeline"] and set(one["timeline"][0]) == set(incident_full()["timeline"][0])
    status = incidents[0]["status"]
    assert [i["id"] for i in viewer.get(f"/api/incidents?status={status}").json()] == [
        i["id"] for i in incidents if i["status"] == status
    ]
    bad = viewer.get("/api/incidents?status=sleeping")
    assert bad.status_code == 400 and "one of open" in bad.json()["detail"]


def test_an_unknown_incident_is_404_for_reads_and_actions(api: ApiNode) -> None:
    operator = api.login("operator")
    response = operator.get("/api/incidents/jcg-999999")
    assert response.status_code == 404 and "jcg-999999" in response.json()["detail"]
    for action in ("ack", "note", "resolve"):
        posted = operator.post(f"/api/incidents/jcg-999999/{action}", json={"text": "x"})
        assert posted.status_code == 404


def test_resolve_is_in_the_timeline_with_the_operator_as_actor_and_409s_say_why(
    api: ApiNode,
) -> None:
    operator = api.login("operator")
    incident = next(i for i in operator.get("/api/incidents").json() if i["status"] == "open")
    url = f"/api/incidents/{incident['id']}"
    early = operator.post(f"{url}/ack", json={"text": "confirmed by VHF ch16"})
    assert early.status_code == 409
    assert "in state 'open' cannot take the action 'acknowledge'" in early.json()["detail"]
    resolved = operator.post(f"{url}/resolve", json={"text": "vessels parted"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    step = resolved.json()["timeline"][-1]
    assert (step["action"], step["actor"], step["to"]) == ("resolve", "operator", "resolved")
    assert step["detail"]["text"] == "vessels parted"
    again = operator.post(f"{url}/resolve", json={"text": ""})
    assert again.status_code == 409 and "resolved" in again.json()["detail"]


def test_a_viewer_cannot_act(api: ApiNode) -> None:
    viewer = api.login("viewer")
    incident = viewer.get("/api/incidents").json()[0]
    response = viewer.post(f"/api/incidents/{incident['id']}/ack", json={"text": ""})
    assert response.status_code == 403


def test_an_internal_note_stays_on_this_node(api: ApiNode) -> None:
    admin = api.login("admin")
    incident = _with_peer(admin.get("/api/incidents").json())
    before = _own_entries(api)
    secret = "internal: skipper is the cousin of our liaison officer"
    response = admin.post(
        f"/api/incidents/{incident['id']}/note", json={"text": secret, "internal": True}
    )
    assert response.status_code == 200, response.text
    step = response.json()["timeline"][-1]
    assert (step["action"], step["actor"]) == ("note", "admin")
    assert step["detail"] == {"text": secret, "internal": True}
    after = _own_entries(api)
    assert after == before  # nothing signed for the peer
    assert all(secret not in str(entry.body) for entry in after)
    assert all(secret not in (row["text"] or "") for row in admin.get("/api/hotline").json())


def test_a_shared_note_goes_to_the_incident_peers_as_a_hotline_note(api: ApiNode) -> None:
    operator = api.login("operator")
    incident = _with_peer(operator.get("/api/incidents").json())
    text = "Our patrol vessel is standing by."
    response = operator.post(
        f"/api/incidents/{incident['id']}/note", json={"text": text, "internal": False}
    )
    assert response.status_code == 200, response.text
    entry = _own_entries(api)[-1]
    assert entry.kind == "note" and entry.body["text"] == text
    assert entry.body["incident"] == incident["id"]
    step = response.json()["timeline"][-1]
    assert step["actor"] == "operator" and step["detail"]["internal"] is False
    assert step["detail"]["sent"] == [{"peer": "ccg", "origin": entry.log, "seq": entry.seq}]
    foreign = operator.post(
        f"/api/incidents/{incident['id']}/note",
        json={"text": "我方巡逻船待命。", "internal": False, "lang": "zh"},
    )
    assert foreign.status_code == 400 and "text_en" in foreign.json()["detail"]
    empty = operator.post(f"/api/incidents/{incident['id']}/note", json={"text": "  "})
    assert empty.status_code == 400


def test_actions_are_published_to_the_hub(api: ApiNode) -> None:
    operator = api.login("operator")
    incident = _with_peer(operator.get("/api/incidents").json())
    with api.node.hub.subscribe({"incidents"}) as sub:
        operator.post(f"/api/incidents/{incident['id']}/note", json={"text": "seen"})
        published = sub.drain()
    assert [m["data"]["kind"] for m in published] == ["noted"]
    assert published[0]["data"]["incident"] == incident["id"]
