"""/api/hotline and /api/ledger over a node with its ccg peer configured (no traffic fed):
the rows, templates and ledger summary in the console's shapes, sending from templates and
free text as ``seabridge hotline send`` does, acknowledging the peer's entry, 400s, the hub,
and the record verifying."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_kit import ApiNode, open_api_node
from console_fixture import hotline as fixture_hotline
from console_fixture import templates as fixture_templates

from seabridge.hotline.entries import Entry
from seabridge.node.runtime import open_ledger


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    made = open_api_node(tmp_path_factory.mktemp("hotline"), steps=0)
    yield made
    made.close()


def _peer_sends(api: ApiNode, text: str) -> int:
    """ccg signs a notification and pushes it to our node (mirrored here); returns its seq."""
    with open_ledger(api.peer, api.clock) as ccg:
        entry = ccg.send("jcg", "notification", {"text": text, "text_en": text,
                                                  "marker": "INFORMATION"}, lang="en")  # fmt: skip
        request = ccg.push_request("jcg")
        assert request is not None
        ccg.accept_response("jcg", api.node.ledger.receive_push(request))
    return entry.seq


def test_templates_are_the_composer_shape(api: ApiNode) -> None:
    templates = api.login("viewer").get("/api/hotline/templates").json()
    assert templates == fixture_templates()


def test_send_from_a_template_signs_a_row_with_its_deadline(api: ApiNode) -> None:
    operator = api.login("operator")
    with api.node.hub.subscribe({"hotline"}) as sub:
        response = operator.post(
            "/api/hotline/send",
            json={
                "to": "ccg",
                "kind": "notification",
                "template": "question.intentions",
                "params": {"vessel": "412345678"},
                "marker": "QUESTION",
                "lang": "ja",
                "deadline": "2026-05-01T00:15:00Z",
            },
        )
        published = sub.drain()
    assert response.status_code == 200, response.text
    sent = response.json()
    assert set(sent) == {"seq", "msg_id", "origin"} and sent["origin"] == "jcg/hotline/ccg"
    assert [m["data"]["seq"] for m in published if m["data"]["type"] == "entry"] == [sent["seq"]]
    rows = operator.get("/api/hotline?peer=ccg").json()
    row = next(r for r in rows if r["msg_id"] == sent["msg_id"])
    assert set(fixture_hotline()[0]) <= set(row)
    assert row["deadline"] == "2026-05-01T00:15:00Z" and row["lang"] == "ja"
    assert (
        "412345678" in row["text"]
        and "412345678" in row["text_en"]
        and row["text"] != row["text_en"]
    )
    assert row["receipted"] is False and row["acknowledged"] is False


def test_free_text_and_a_template_with_a_remark(api: ApiNode) -> None:
    operator = api.login("operator")
    free = operator.post(
        "/api/hotline/send",
        json={"to": "ccg", "text": "本船は停止中", "text_en": "Our ship is stopped", "lang": "ja"},
    )
    assert free.status_code == 200, free.text
    remark = operator.post(
        "/api/hotline/send",
        json={"to": "ccg", "template": "question.intentions", "params": {"vessel": "1"},
              "text": "Please answer on ch16.", "lang": "en"},
    )  # fmt: skip
    assert remark.status_code == 200, remark.text
    rows = {r["msg_id"]: r for r in operator.get("/api/hotline").json()}
    assert rows[free.json()["msg_id"]]["text_en"] == "Our ship is stopped"
    assert "deadline" not in rows[free.json()["msg_id"]]
    assert rows[remark.json()["msg_id"]]["text"].endswith("\nPlease answer on ch16.")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"to": "xcg", "text": "hi"}, "xcg"),
        ({"to": "ccg", "template": "no.such"}, "no template 'no.such'"),
        ({"to": "ccg", "text": "你好", "lang": "zh"}, "text_en"),
        ({"to": "ccg"}, "give either template"),
        ({"to": "ccg", "text": "hi", "marker": "SHOUT"}, "marker 'SHOUT'"),
        (
            {
                "to": "ccg",
                "template": "question.intentions",
                "params": {"vessel": "1"},
                "marker": "WARNING",
            },
            "a template has its own marker (QUESTION)",
        ),
        ({"to": "ccg", "text": "hi", "deadline": "2020-01-01T00:00:00Z"}, "not in the future"),
        ({"to": "ccg", "text": "hi", "deadline": "soon"}, "ISO 8601"),
    ],
)
def test_bad_sends_are_400s_that_say_why(api: ApiNode, body: dict[str, object], words: str) -> None:
    response = api.login("operator").post("/api/hotline/send", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]


def test_ack_of_the_peers_entry(api: ApiNode) -> None:
    seq = _peer_sends(api, "Fishing fleet moving north.")
    operator = api.login("operator")
    incoming = next(
        r for r in operator.get("/api/hotline").json() if r["origin"] == "ccg/hotline/jcg"
    )
    assert incoming["seq"] == seq and incoming["acknowledged"] is False
    response = operator.post("/api/hotline/ack", json={"to": "ccg", "seq": seq, "text": "Noted"})
    assert response.status_code == 200, response.text
    again = operator.post("/api/hotline/ack", json={"to": "ccg", "seq": seq, "text": "Noted"})
    assert again.json() == response.json()  # idempotent: the stored ack
    other = operator.post("/api/hotline/ack", json={"to": "ccg", "seq": seq})
    assert other.status_code == 409 and "other content" in other.json()["detail"]
    rows = operator.get("/api/hotline").json()
    assert next(r for r in rows if r["origin"] == "ccg/hotline/jcg")["acknowledged"] is True
    ack = next(r for r in rows if r["msg_id"] == response.json()["msg_id"])
    assert ack["kind"] == "ack" and ack["refs"][0]["seq"] == seq
    missing = operator.post("/api/hotline/ack", json={"to": "ccg", "seq": 99})
    assert missing.status_code == 400
    assert "seq 99: ccg/hotline/jcg has no such entry here" in missing.json()["detail"]


def test_a_viewer_reads_but_cannot_send(api: ApiNode) -> None:
    viewer = api.login("viewer")
    assert viewer.get("/api/hotline").status_code == 200
    assert viewer.post("/api/hotline/send", json={"to": "ccg", "text": "x"}).status_code == 403
    assert viewer.get("/api/hotline?peer=xcg").status_code == 400


def test_the_ledger_summary_and_verify(api: ApiNode) -> None:
    operator = api.login("operator")
    operator.post("/api/hotline/send", json={"to": "ccg", "text": "for the record"})
    summary = operator.get("/api/ledger").json()
    assert set(summary) == {"logs", "delivery", "alarms"}
    logs = {log["origin"]: log for log in summary["logs"]}
    ledger = api.node.ledger
    own = logs["jcg/hotline/ccg"]
    assert own["size"] == ledger.size("jcg/hotline/ccg") > 0
    assert set(own) == {"origin", "size", "root", "last_cosignature"} and own["root"]
    assert "ccg/hotline/jcg" in logs
    (delivery,) = summary["delivery"]
    assert {"peer", "acked_size", "next_attempt", "attempts", "last_error", "delivered_via"} <= set(
        delivery
    )
    assert delivery["peer"] == "ccg" and isinstance(summary["alarms"], list)
    report = operator.post("/api/ledger/verify").json()
    assert report["ok"] is True and report["problems"] == [] and report["keys"] == "trusted"
    assert {log["origin"] for log in report["logs"]} >= {"jcg/hotline/ccg"}
    assert api.login("viewer").post("/api/ledger/verify").status_code == 403


def test_every_own_entry_is_what_the_operator_sent(api: ApiNode) -> None:
    """The ledger's own log holds only messages: no timeline, note or console state."""
    ledger = api.node.ledger
    origin = ledger.own_origin("ccg")
    kinds = {Entry.from_bytes(d).kind for d, _ in ledger.entries(origin, 0, ledger.size(origin))}
    assert kinds <= {"notification", "ack", "note"}
