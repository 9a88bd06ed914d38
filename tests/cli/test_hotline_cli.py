"""``seabridge hotline send|log|ack|reply``, ``seabridge ledger verify|export`` and
``seabridge node rotate-key`` end to end over two node directories (jcg, ccg) that imported
each other's bundle. Push bodies are handed from one ledger to the other directly (no HTTP):
delivery is the running node's job, not the CLI's."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import seabridge.cli.hotline as hotline_cli
from seabridge.cli import app
from seabridge.clock import ManualClock
from seabridge.hotline.ledger import Ledger
from seabridge.node import export_bundle, import_bundle, init_node, load_node
from seabridge.node.runtime import open_ledger

T0_MS = 1_777_593_600_000  # 2026-05-01T00:00:00Z
LOG_KEYS = {
    "origin",
    "seq",
    "msg_id",
    "kind",
    "created",
    "lang",
    "text",
    "text_en",
    "refs",
    "receipted",
    "receipt_time",
    "acknowledged",
}
ZONE_ENTRY = [
    "--template",
    "incident.zone_entry",
    "--param",
    "incident=INC-7",
    "--param",
    "vessel=412345678",
    "--param",
    "zone=Test zone (declared by JP)",
    "--param",
    "time=2026-05-01T00:00Z",
    "--param",
    "position=25.74N 123.47E",
    "--param",
    "rule=zone_entry.1",
    "--param",
    "rulebook=ecs-2026.1",
]

OWN = "jcg/hotline/ccg"
MIRROR = "ccg/hotline/jcg"

runner = CliRunner()


@dataclass
class Pair:
    """Two node directories and the clock every command and ledger reads."""

    root: Path
    clock: ManualClock

    def dir(self, party: str) -> Path:
        return self.root / party

    def ledger(self, party: str) -> Ledger:
        return open_ledger(load_node(self.dir(party)), self.clock)

    def deliver(self, sender: str) -> None:
        """Push everything ``sender`` has to the other node (what ``seabridge serve`` does)."""
        receiver = "ccg" if sender == "jcg" else "jcg"
        with self.ledger(sender) as out, self.ledger(receiver) as into:
            while (body := out.push_request(receiver)) is not None:
                out.accept_response(receiver, into.receive_push(body))


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    clock = ManualClock(T0_MS)
    monkeypatch.setattr(hotline_cli, "CLOCK", clock)
    nodes = []
    for party, port in (("jcg", 18443), ("ccg", 19443)):
        nodes.append(
            init_node(
                tmp_path / party,
                party,
                f"{party.upper()} node",
                f"127.0.0.1:{port}",
                f"127.0.0.1:{port + 1}",
                clock,
            )
        )
    jcg, ccg = nodes
    import_bundle(jcg, export_bundle(ccg, clock), clock)
    import_bundle(ccg, export_bundle(jcg, clock), clock)
    yield Pair(tmp_path, clock)


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def send(pair: Pair, party: str, *args: str, code: int = 0) -> Any:
    to = "ccg" if party == "jcg" else "jcg"
    text = run(
        "hotline", "send", "--node", str(pair.dir(party)), "--to", to, *args, "--json", code=code
    )
    return json.loads(text) if code == 0 else text


def log(pair: Pair, party: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        run("hotline", "log", "--node", str(pair.dir(party)), "--json")
    )
    return rows


# --- send --------------------------------------------------------------------------------


def test_template_in_japanese_stores_both_languages_and_a_relative_deadline(pair: Pair) -> None:
    sent = send(pair, "jcg", *ZONE_ENTRY, "--lang", "ja", "--deadline", "+15m")
    assert (sent["seq"], sent["origin"], sent["lang"]) == (0, "jcg/hotline/ccg", "ja")
    assert sent["deadline"] == "2026-05-01T00:15:00Z"
    assert sent["created"] == "2026-05-01T00:00:00Z"
    (row,) = log(pair, "jcg")
    assert set(row) == LOG_KEYS | {"deadline"} and row["deadline"] == sent["deadline"]
    assert row["msg_id"] == sent["msg_id"] and row["lang"] == "ja"
    assert "区域「Test zone (declared by JP)」に入りました" in row["text"]
    assert row["text_en"].startswith("INFORMATION. Vessel 412345678 entered the zone")
    assert (row["receipted"], row["receipt_time"], row["acknowledged"]) == (False, None, False)


def test_free_text_absolute_deadline_and_msg_id_idempotency(pair: Pair) -> None:
    args = ("--text", "Vessel sighted", "--deadline", "2026-05-01T06:00:00Z", "--msg-id", "m-1")
    first = send(pair, "jcg", *args)
    again = send(pair, "jcg", *args)
    assert first == again and first["seq"] == 0 and first["msg_id"] == "m-1"
    assert first["deadline"] == "2026-05-01T06:00:00Z"
    second = send(pair, "jcg", "--text", "Ship stopped", "--marker", "WARNING", "--kind", "note")
    assert second["seq"] == 1 and second["kind"] == "note"
    rows = log(pair, "jcg")
    assert [(r["seq"], r["text"], r["text_en"]) for r in rows] == [
        (0, "Vessel sighted", "Vessel sighted"),
        (1, "Ship stopped", "Ship stopped"),
    ]
    text = run("hotline", "send", "--node", str(pair.dir("jcg")), "--to", "ccg", "--text", "x")
    assert "stored notification seq 2" in text


def test_free_text_in_another_language_needs_the_english(pair: Pair) -> None:
    err = send(pair, "ccg", "--text", "发现船只", "--lang", "zh", code=2)
    assert "--text-en" in err
    sent = send(pair, "ccg", "--text", "发现船只", "--lang", "zh", "--text-en", "Vessel sighted")
    (row,) = log(pair, "ccg")
    assert (row["text"], row["text_en"], row["lang"], sent["seq"]) == (
        "发现船只",
        "Vessel sighted",
        "zh",
        0,
    )


def test_escalation_carries_its_level(pair: Pair) -> None:
    send(pair, "jcg", "--kind", "escalation", "--level", "2", "--text", "No answer")
    with pair.ledger("jcg") as ledger:
        ((data, _),) = ledger.entries("jcg/hotline/ccg", 0, 1)
    assert json.loads(data)["body"]["level"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--text", "x", "--deadline", "tomorrow"), "--deadline 'tomorrow'"),
        (("--text", "x", "--deadline", "2026-04-30T00:00:00Z"), "not in the future"),
        (("--text", "x", "--kind", "ack"), "--kind 'ack'"),
        (("--text", "x", "--marker", "SHOUT"), "--marker 'SHOUT'"),
        (("--template", "no.such.template"), "no template 'no.such.template'"),
        (("--template", "question.intentions"), "missing vessel"),
        (("--template", "question.intentions", "--param", "vessel"), "NAME=VALUE"),
        (("--template", "question.intentions", "--text", "x"), "either --template"),
        ((), "either --template"),
        (("--text", "x", "--kind", "note", "--deadline", "+1h"), "deadline"),
    ],
)
def test_usage_errors_exit_2_with_one_line(pair: Pair, args: tuple[str, ...], message: str) -> None:
    err = send(pair, "jcg", *args, code=2)
    assert message in err and err.count("\n") == 1, err
    assert log(pair, "jcg") == []


def test_unknown_peer_and_missing_node_exit_2(pair: Pair, tmp_path: Path) -> None:
    err = run(
        "hotline", "send", "--node", str(pair.dir("jcg")), "--to", "xcg", "--text", "x", code=2
    )
    assert "peer 'xcg' is neither configured nor a party of this node's pack" in err
    run("hotline", "log", "--node", str(pair.dir("jcg")), "--peer", "xcg", code=2)
    run("hotline", "log", "--node", str(tmp_path / "nowhere"), code=2)


def test_send_before_peer_add_is_signed_at_once_and_delivered_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0_MS)
    monkeypatch.setattr(hotline_cli, "CLOCK", clock)
    jcg = init_node(tmp_path / "jcg", "jcg", "JCG", "127.0.0.1:18443", "127.0.0.1:18444", clock)
    node = str(tmp_path / "jcg")
    text = run("hotline", "send", "--node", node, "--to", "ccg", "--text", "Vessel sighted")
    assert "stored notification seq 0" in text and "ccg is not configured yet" in text
    (row,) = json.loads(run("hotline", "log", "--node", node, "--json"))
    assert (row["origin"], row["receipted"]) == (OWN, False)
    err = run("hotline", "send", "--node", node, "--to", "xcg", "--text", "x", code=2)
    assert "channels: ccg" in err
    err = run("hotline", "ack", "--node", node, "--to", "ccg", "--seq", "0", code=2)
    assert "no peer 'ccg'" in err

    ccg = init_node(tmp_path / "ccg", "ccg", "CCG", "127.0.0.1:19443", "127.0.0.1:19444", clock)
    import_bundle(jcg, export_bundle(ccg, clock), clock)
    import_bundle(ccg, export_bundle(jcg, clock), clock)
    Pair(tmp_path, clock).deliver("jcg")
    (row,) = json.loads(run("hotline", "log", "--node", node, "--json"))
    assert row["receipted"] is True
    (row,) = json.loads(run("hotline", "log", "--node", str(tmp_path / "ccg"), "--json"))
    assert (row["origin"], row["text"]) == (OWN, "Vessel sighted")


# --- both directions, receipts and acks ---------------------------------------------------


def test_delivered_messages_are_receipted_and_acknowledged(pair: Pair) -> None:
    sent = send(pair, "jcg", *ZONE_ENTRY, "--lang", "ja", "--deadline", "+15m")
    pair.clock.advance(5)
    pair.deliver("jcg")
    pair.clock.advance(60)
    err = run("hotline", "ack", "--node", str(pair.dir("ccg")), "--to", "jcg", "--seq", "9", code=2)
    assert "no such entry" in err
    acked = json.loads(
        run(
            "hotline",
            "ack",
            "--node",
            str(pair.dir("ccg")),
            "--to",
            "jcg",
            "--seq",
            "0",
            "--text",
            "Received",
            "--json",
        )
    )
    again = json.loads(
        run(
            "hotline",
            "ack",
            "--node",
            str(pair.dir("ccg")),
            "--to",
            "jcg",
            "--seq",
            "0",
            "--text",
            "Received",
            "--json",
        )
    )
    assert acked == again and acked["kind"] == "ack" and acked["seq"] == 0
    replied = json.loads(
        run(
            "hotline",
            "reply",
            "--node",
            str(pair.dir("ccg")),
            "--to",
            "jcg",
            "--seq",
            "0",
            "--template",
            "answer.no_information",
            "--param",
            "vessel=412345678",
            "--lang",
            "zh",
            "--json",
        )
    )
    assert replied["kind"] == "reply" and replied["seq"] == 1
    pair.deliver("ccg")

    rows = log(pair, "jcg")
    assert [(r["origin"], r["seq"], r["kind"]) for r in rows] == [
        ("jcg/hotline/ccg", 0, "notification"),
        ("ccg/hotline/jcg", 0, "ack"),
        ("ccg/hotline/jcg", 1, "reply"),
    ]
    mine = rows[0]
    assert mine["msg_id"] == sent["msg_id"]
    assert mine["receipted"] and mine["receipt_time"] == "2026-05-01T00:00:05Z"
    assert mine["acknowledged"]
    ack_row = rows[1]
    assert ack_row["refs"][0]["log"] == "jcg/hotline/ccg" and ack_row["refs"][0]["seq"] == 0
    assert ack_row["receipted"]  # jcg cosigned the mirror it received
    assert rows[2]["lang"] == "zh" and rows[2]["text"] != rows[2]["text_en"]

    # The receiver's view: the same messages, from its side.
    theirs = log(pair, "ccg")
    assert {(r["origin"], r["seq"]) for r in theirs} == {(r["origin"], r["seq"]) for r in rows}
    assert [r["acknowledged"] for r in theirs if r["origin"] == "jcg/hotline/ccg"] == [True]

    table = run("hotline", "log", "--node", str(pair.dir("jcg")), "--peer", "ccg")
    assert "[ja]" in table and "[en] INFORMATION. Vessel 412345678" in table
    assert "区域" in table and "ack -> jcg#0" in table


def test_empty_log(pair: Pair) -> None:
    assert "no messages" in run("hotline", "log", "--node", str(pair.dir("jcg")))
    assert log(pair, "jcg") == []


# --- the record: export and verify --------------------------------------------------------


def _conversation(pair: Pair) -> None:
    send(pair, "jcg", "--text", "Vessel sighted", "--deadline", "+15m")
    send(pair, "jcg", "--text", "Second", "--kind", "note")
    pair.clock.advance(2)
    pair.deliver("jcg")
    run("hotline", "ack", "--node", str(pair.dir("ccg")), "--to", "jcg", "--seq", "0")
    pair.clock.advance(2)
    pair.deliver("ccg")


def test_export_and_verify(pair: Pair, tmp_path: Path) -> None:
    _conversation(pair)
    out = tmp_path / "jcg.evidence.json"
    assert "wrote" in run("ledger", "export", "--node", str(pair.dir("jcg")), "--out", str(out))
    exported = json.loads(out.read_text())
    assert exported["format"] == "seabridge-evidence/v1"
    assert "PRIVATE" not in out.read_text()
    stdout = run("ledger", "export", "--node", str(pair.dir("jcg")), "--out", "-")
    assert json.loads(stdout) == exported  # same clock: the same export
    text = run("ledger", "verify", "--evidence", str(out))
    assert "OK: no tampering or equivocation found" in text
    report = json.loads(run("ledger", "verify", "--evidence", str(out), "--json"))
    assert report["ok"] is True and report["first_bad"] is None
    assert report["keys"] == "file"
    for party in ("jcg", "ccg"):
        report = json.loads(run("ledger", "verify", "--node", str(pair.dir(party)), "--json"))
        assert report["ok"] is True and report["keys"] == "trusted"

    # An arbiter holding the parties' published keys.
    keys = []
    for party in ("jcg", "ccg"):
        node = load_node(pair.dir(party))
        keys += ["--key", node.log_key().verifier.vkey()]
        keys += ["--key", node.cosigner_key().verifier.vkey()]
    text = run("ledger", "verify", "--evidence", str(out), *keys)
    assert "keys: checked against the configured keys" in text
    result = runner.invoke(app, ["ledger", "verify", "--evidence", str(out), *keys[:4]])
    assert result.exit_code == 1 and "FAILED" in result.stdout


def test_tampered_evidence_exits_1_naming_origin_and_seq(pair: Pair, tmp_path: Path) -> None:
    _conversation(pair)
    good = tmp_path / "good.json"
    run("ledger", "export", "--node", str(pair.dir("jcg")), "--out", str(good))
    evidence = json.loads(good.read_text())
    log_record = next(r for r in evidence["logs"] if r["origin"] == "jcg/hotline/ccg")
    entry = base64.b64decode(log_record["entries"][1]["entry"])
    log_record["entries"][1]["entry"] = base64.b64encode(
        entry.replace(b"Second", b"Secund")
    ).decode()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(evidence))
    result = runner.invoke(app, ["ledger", "verify", "--evidence", str(bad)])
    assert result.exit_code == 1
    text = result.stdout
    assert "FAILED" in text and "first bad: jcg/hotline/ccg#1" in text
    result = runner.invoke(app, ["ledger", "verify", "--evidence", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["first_bad"] == {"origin": "jcg/hotline/ccg", "seq": 1}


def test_verify_usage_and_io_errors_exit_2(pair: Pair, tmp_path: Path) -> None:
    assert "cannot read" in run("ledger", "verify", "--evidence", str(tmp_path / "no.json"), code=2)
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    run("ledger", "verify", "--evidence", str(junk), code=2)
    junk.write_text("not json")
    run("ledger", "verify", "--evidence", str(junk), code=2)
    assert "give --node DIR, or --evidence FILE" in run("ledger", "verify", code=2)
    run("ledger", "verify", "--node", str(pair.dir("jcg")), "--key", "x", code=2)
    run("ledger", "verify", "--evidence", str(junk), "--key", "not-a-vkey", code=2)
    run("ledger", "verify", "--node", str(pair.dir("jcg")), "--evidence", str(junk), code=2)
    run("ledger", "verify", "--node", str(tmp_path / "nowhere"), code=2)
    run(
        "ledger",
        "export",
        "--node",
        str(pair.dir("jcg")),
        "--out",
        str(tmp_path / "no" / "dir" / "x.json"),
        code=2,
    )


# --- proofs for a third party ------------------------------------------------------------


def test_prove_and_verify_proof(pair: Pair, tmp_path: Path) -> None:
    _conversation(pair)
    send(pair, "jcg", "--text", "Not delivered yet")
    jcg, proof = str(pair.dir("jcg")), tmp_path / "proof.json"
    text = run("ledger", "prove", "--node", jcg, "--origin", OWN, "--seq", "0", "--out", str(proof))
    assert f"wrote {proof}: {OWN}#0, checkpoint cosigned" in text
    text = run("ledger", "verify-proof", str(proof))
    assert "receipted by ccg/hotline/cosigner at 2026-05-01T00:00:02Z" in text
    assert "OK: the proof verifies" in text
    result = json.loads(run("ledger", "verify-proof", str(proof), "--json"))
    assert result["ok"] is True and result["cosigned"] is True
    assert (result["origin"], result["seq"], result["kind"]) == (OWN, 0, "notification")

    # With the parties' published keys: only they may sign.
    jcg_log = load_node(pair.dir("jcg")).log_key().verifier.vkey()
    ccg_cosigner = load_node(pair.dir("ccg")).cosigner_key().verifier.vkey()
    run("ledger", "verify-proof", str(proof), "--key", jcg_log, "--key", ccg_cosigner)
    run("ledger", "verify-proof", str(proof), "--key", jcg_log, code=1)

    # The mirror of the peer's log is provable too; an undelivered entry proves sending only.
    mirrored = json.loads(run("ledger", "prove", "--node", jcg, "--origin", MIRROR, "--seq", "0"))
    assert mirrored["cosigned"] is True and mirrored["origin"] == MIRROR
    late = tmp_path / "late.json"
    text = run("ledger", "prove", "--node", jcg, "--origin", OWN, "--seq", "2", "--out", str(late))
    assert "NOT cosigned yet" in text
    assert "sending is proven, receipt is not" in run("ledger", "verify-proof", str(late))


def test_tampered_proof_exits_1_and_bad_files_exit_2(pair: Pair, tmp_path: Path) -> None:
    _conversation(pair)
    jcg, proof = str(pair.dir("jcg")), tmp_path / "proof.json"
    run("ledger", "prove", "--node", jcg, "--origin", OWN, "--seq", "0", "--out", str(proof))
    value = json.loads(proof.read_text())
    entry = base64.b64decode(value["entry"]).replace(b"Vessel sighted", b"Vessel sighteD")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**value, "entry": base64.b64encode(entry).decode()}))
    result = runner.invoke(app, ["ledger", "verify-proof", str(tampered)])
    assert result.exit_code == 1 and "FAILED" in result.stdout
    result = runner.invoke(app, ["ledger", "verify-proof", str(tampered), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["ok"] is False
    later = json.dumps({**value, "cosignatures": value["cosignatures"][:0]})
    tampered.write_text(later)  # receipts removed, still claimed cosigned
    run("ledger", "verify-proof", str(tampered), code=1)

    assert "cannot read" in run("ledger", "verify-proof", str(tmp_path / "none.json"), code=2)
    tampered.write_text("[]")
    run("ledger", "verify-proof", str(tampered), code=2)
    tampered.write_text(json.dumps({**value, "format": "other"}))
    assert "format" in run("ledger", "verify-proof", str(tampered), code=2)
    run("ledger", "verify-proof", str(proof), "--key", "not-a-vkey", code=2)
    assert "no entry 9" in run(
        "ledger", "prove", "--node", jcg, "--origin", OWN, "--seq", "9", code=2
    )
    run("ledger", "prove", "--node", jcg, "--origin", "xcg/hotline/jcg", "--seq", "0", code=2)


# --- key rotation -------------------------------------------------------------------------


def test_rotate_key_announces_on_every_channel_and_the_record_still_verifies(
    pair: Pair,
) -> None:
    _conversation(pair)
    old = load_node(pair.dir("jcg")).log_key().verifier.vkey()
    text = run("node", "rotate-key", str(pair.dir("jcg")), "--role", "log")
    node = load_node(pair.dir("jcg"))
    new = node.log_key().verifier.vkey()
    assert new != old and f"new log key: {new}" in text
    assert "announced in jcg/hotline/ccg seq 2" in text
    assert [k.verifier.vkey() for k in node.retired_keys("log")] == [old]
    sent = send(pair, "jcg", "--text", "After rotation")
    assert sent["seq"] == 3
    run("node", "rotate-key", str(pair.dir("ccg")), "--role", "cosigner")
    # jcg accepts receipts by ccg's new cosigner key once ccg's announcement has arrived.
    pair.deliver("ccg")
    pair.deliver("jcg")
    for party in ("jcg", "ccg"):
        report = json.loads(run("ledger", "verify", "--node", str(pair.dir(party)), "--json"))
        assert report["ok"] is True, report["problems"]
    assert "--role 'tls'" in run(
        "node", "rotate-key", str(pair.dir("jcg")), "--role", "tls", code=2
    )
