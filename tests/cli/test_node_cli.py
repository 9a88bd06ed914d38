"""``seabridge node init|show|export-bundle`` and ``seabridge peer add|list`` end to end: two
nodes in temporary directories exchange bundles through files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.node import load_node

runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _init(root: Path, party: str, port: int) -> Path:
    directory = root / party
    text = _run(
        "node",
        "init",
        str(directory),
        "--party",
        party,
        "--name",
        f"{party.upper()} node",
        "--federation-listen",
        f"127.0.0.1:{port}",
        "--console-listen",
        f"127.0.0.1:{port + 1}",
    )
    assert f"created node {party}" in text
    return directory


def test_init_show_export_and_add_peers(tmp_path: Path) -> None:
    jcg = _init(tmp_path, "jcg", 18443)
    ccg = _init(tmp_path, "ccg", 19443)
    assert stat.S_IMODE((jcg / "keys" / "log.key").stat().st_mode) == 0o600
    jcg_bundle, ccg_bundle = tmp_path / "jcg.json", tmp_path / "ccg.json"
    assert "CA pin" in _run("node", "export-bundle", str(jcg), "--out", str(jcg_bundle))
    _run("node", "export-bundle", str(ccg), "--out", str(ccg_bundle))
    assert json.loads(jcg_bundle.read_text())["party"] == "jcg"
    assert "added: peer ccg (CCG node)" in _run("peer", "add", str(jcg), str(ccg_bundle))
    assert "added: peer jcg" in _run("peer", "add", str(ccg), str(jcg_bundle))
    assert "unchanged: peer ccg" in _run("peer", "add", str(jcg), str(ccg_bundle))

    shown = json.loads(_run("node", "show", str(jcg), "--json"))
    node = load_node(jcg)
    assert shown["party"] == "jcg"
    assert shown["federation_listen"] == "127.0.0.1:18443"
    assert shown["log_vkey"] == node.log_key().verifier.vkey()
    assert [peer["party"] for peer in shown["peers"]] == ["ccg"]
    text = _run("node", "show", str(jcg))
    assert "party: jcg" in text and "peers: ccg" in text

    peers = json.loads(_run("peer", "list", str(jcg), "--json"))
    assert peers[0]["ca_pin"] == load_node(ccg).ca_pin()
    assert "ccg" in _run("peer", "list", str(jcg))


def test_export_to_standard_output(tmp_path: Path) -> None:
    jcg = _init(tmp_path, "jcg", 18443)
    bundle = json.loads(_run("node", "export-bundle", str(jcg), "--out", "-"))
    assert bundle["format"] == "seabridge-peer-bundle/v1"
    assert "PRIVATE" not in json.dumps(bundle)


def test_refusals_exit_2_with_one_line(tmp_path: Path) -> None:
    jcg = _init(tmp_path, "jcg", 18443)
    own = tmp_path / "own.json"
    _run("node", "export-bundle", str(jcg), "--out", str(own))

    again = runner.invoke(app, ["node", "init", str(jcg), "--party", "jcg", "--name", "J"])
    assert again.exit_code == 2
    assert "not an empty directory" in again.stderr

    result = runner.invoke(app, ["peer", "add", str(jcg), str(own)])
    assert result.exit_code == 2
    assert "own party" in result.stderr

    first = _init(tmp_path / "a", "ccg", 19443)
    second = _init(tmp_path / "b", "ccg", 19443)
    for directory, name in ((first, "first.json"), (second, "second.json")):
        _run("node", "export-bundle", str(directory), "--out", str(tmp_path / name))
    _run("peer", "add", str(jcg), str(tmp_path / "first.json"))
    result = runner.invoke(app, ["peer", "add", str(jcg), str(tmp_path / "second.json")])
    assert result.exit_code == 2
    assert "--replace" in result.stderr
    replaced = _run("peer", "add", str(jcg), str(tmp_path / "second.json"), "--replace")
    assert "replaced: peer ccg" in replaced
    assert load_node(jcg).peer("ccg").ca_pin == load_node(second).ca_pin()

    (tmp_path / "bad.json").write_text('{"format": "x"}')
    result = runner.invoke(app, ["peer", "add", str(jcg), str(tmp_path / "bad.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "format" in result.stderr

    result = runner.invoke(app, ["node", "show", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "node.toml: not found" in result.stderr


def test_init_with_endpoints_and_a_bad_listen_address(tmp_path: Path) -> None:
    directory = tmp_path / "n"
    _run(
        "node",
        "init",
        str(directory),
        "--party",
        "jcg",
        "--name",
        "J",
        "--federation-listen",
        "0.0.0.0:8443",
        "--endpoint",
        "https://jcg.example:8443",
        "--endpoint",
        "https://backup.jcg.example:8443",
    )
    assert load_node(directory).endpoints == (
        "https://jcg.example:8443",
        "https://backup.jcg.example:8443",
    )
    result = runner.invoke(
        app,
        ["node", "init", str(tmp_path / "m"), "--party", "jcg", "--name", "J",
         "--console-listen", "nope"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "console listen address 'nope' is not HOST:PORT" in result.stderr
