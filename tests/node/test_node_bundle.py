"""Peer bundles: a round trip between a jcg and a ccg node, nothing secret in them, refusals."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from node_builders import T0_MS, fixed_clock, make_node, make_pair

from seabridge.errors import ConfigError, InputError
from seabridge.node import BUNDLE_FORMAT, export_bundle, import_bundle, load_node, read_bundle
from seabridge.node.bundle import parse_bundle
from seabridge.units import ms_to_iso


def test_two_nodes_exchange_bundles(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, ccg = make_pair(tmp_path, clock)
    peer = jcg.peer("ccg")
    assert peer.name == "CCG test node"
    assert peer.endpoints == ccg.endpoints
    assert peer.log_vkey == ccg.log_key().verifier.vkey()
    assert peer.cosigner_vkey == ccg.cosigner_key().verifier.vkey()
    assert peer.ca_pin == ccg.ca_pin()
    assert peer.ca_path == jcg.dir.peer_ca("ccg")
    assert peer.ca_path.read_bytes() == ccg.dir.tls_ca.read_bytes()
    assert ccg.peer("jcg").log_vkey == jcg.log_key().verifier.vkey()
    assert load_node(jcg.dir.root) == jcg


def test_the_bundle_file_round_trips_and_holds_nothing_secret(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg = make_node(tmp_path, "jcg", clock)
    bundle = export_bundle(jcg, clock)
    path = tmp_path / "jcg.bundle.json"
    path.write_text(bundle.to_json(), encoding="utf-8")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert list(document) == [
        "format",
        "party",
        "name",
        "endpoints",
        "log_vkey",
        "cosigner_vkey",
        "ca_pem",
        "ca_pin",
        "created",
    ]
    assert document["format"] == BUNDLE_FORMAT
    assert document["created"] == ms_to_iso(T0_MS)
    assert read_bundle(path) == bundle
    text = path.read_text(encoding="utf-8")
    assert "PRIVATE" not in text
    for secret in (jcg.dir.log_key, jcg.dir.cosigner_key, jcg.dir.tls_key, jcg.dir.tls_ca_key):
        body = b"".join(secret.read_bytes().splitlines()[2:-1]).decode()
        assert body[:40] not in text.replace("\\n", "")


def test_peer_add_refuses_our_own_party(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg = make_node(tmp_path, "jcg", clock)
    with pytest.raises(ConfigError, match="own party"):
        import_bundle(jcg, export_bundle(jcg, clock), clock)


def test_a_second_different_bundle_needs_replace(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg, ccg = make_pair(tmp_path, clock)
    again = import_bundle(jcg, export_bundle(ccg, clock), clock)  # the same: a no-op
    assert again == jcg
    impostor = make_node(tmp_path / "other", "ccg", clock)
    other = export_bundle(impostor, clock)
    before = jcg.dir.toml.read_bytes()
    with pytest.raises(ConfigError, match=r"a different peer 'ccg' is configured.*--replace"):
        import_bundle(jcg, other, clock)
    assert jcg.dir.toml.read_bytes() == before
    replaced = import_bundle(jcg, other, clock, replace=True)
    assert replaced.peer("ccg").ca_pin == impostor.ca_pin()
    assert replaced.dir.peer_ca("ccg").read_bytes() == impostor.dir.tls_ca.read_bytes()
    assert [peer.party for peer in replaced.peers] == ["ccg"]


def test_peer_add_keeps_the_rest_of_node_toml(tmp_path: Path) -> None:
    clock = fixed_clock()
    jcg = make_node(tmp_path, "jcg", clock)
    ccg = make_node(tmp_path, "ccg", clock)
    xcg = make_node(tmp_path, "xcg", clock)
    with jcg.dir.toml.open("a", encoding="utf-8") as handle:
        handle.write('\n[settings.detect]\ntick_s = 20\n\n[settings]\n"ingest.batch_rows" = 2048\n')
    jcg = load_node(jcg.dir.root)
    jcg = import_bundle(jcg, export_bundle(ccg, clock), clock)
    jcg = import_bundle(jcg, export_bundle(xcg, clock), clock)
    assert [peer.party for peer in jcg.peers] == ["ccg", "xcg"]
    assert jcg.settings["detect.tick_s"] == 20.0
    assert jcg.settings["ingest.batch_rows"] == 2048.0
    assert tomllib.loads(jcg.dir.toml.read_text(encoding="utf-8"))["node"]["party"] == "jcg"


def _broken(document: dict[str, object], key: str, value: object) -> str:
    changed = dict(document)
    if value is None:
        del changed[key]
    else:
        changed[key] = value
    return json.dumps(changed)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("format", "seabridge-peer-bundle/v2", "format: is not seabridge-peer-bundle/v1"),
        ("party", "CCG", "party: 'CCG' is not a lower-case party id"),
        ("name", "", "name: expected a non-empty string"),
        ("name", None, "missing field 'name'"),
        ("endpoints", [], "endpoints: expected a list"),
        ("endpoints", ["http://127.0.0.1:1"], r"endpoints\[0\]: .*must be https"),
        ("endpoints", ["https://a:1", "https://a:1"], "endpoints: lists a URL twice"),
        ("log_vkey", "nope", "log_vkey: a vkey is name"),
        ("ca_pin", "AAAA", "ca_pin: is not the pin of ca_pem"),
        ("ca_pem", "-----BEGIN CERTIFICATE-----\nAAAA\n", "ca_pem: not a PEM certificate"),
        ("created", "yesterday", "created: 'yesterday' is not an ISO 8601 time"),
        ("secret", "x", "unknown field 'secret'"),
    ],
)
def test_a_bad_bundle_is_refused_naming_the_field(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    clock = fixed_clock()
    document = json.loads(export_bundle(make_node(tmp_path, "ccg", clock), clock).to_json())
    with pytest.raises(InputError, match=message):
        parse_bundle(_broken(document, key, value), "ccg.json")


def test_vkeys_of_the_wrong_role_or_party_are_refused(tmp_path: Path) -> None:
    clock = fixed_clock()
    document = json.loads(export_bundle(make_node(tmp_path, "ccg", clock), clock).to_json())
    swapped = _broken(document, "log_vkey", document["cosigner_vkey"])
    with pytest.raises(InputError, match="log_vkey: is key 'ccg/hotline/cosigner'"):
        parse_bundle(swapped, "ccg.json")
    with pytest.raises(InputError, match="expected 'jcg/hotline'"):
        parse_bundle(_broken(document, "party", "jcg"), "ccg.json")


def test_a_leaf_certificate_is_not_a_ca(tmp_path: Path) -> None:
    clock = fixed_clock()
    node = make_node(tmp_path, "ccg", clock)
    document = json.loads(export_bundle(node, clock).to_json())
    leaf = node.dir.tls_cert.read_text().split("-----END CERTIFICATE-----")[0]
    leaf += "-----END CERTIFICATE-----\n"
    with pytest.raises(InputError, match="not a CA"):
        parse_bundle(_broken(document, "ca_pem", leaf), "ccg.json")


def test_unreadable_and_non_json_bundles(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the bundle"):
        read_bundle(tmp_path / "missing.json")
    (tmp_path / "b.json").write_text("[1]")
    with pytest.raises(InputError, match="a bundle is a JSON object"):
        read_bundle(tmp_path / "b.json")
    (tmp_path / "c.json").write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        read_bundle(tmp_path / "c.json")
