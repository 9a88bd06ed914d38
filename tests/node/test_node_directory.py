"""``init_node`` and ``load_node``: the node directory, its 0600 keys and node.toml's checks."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from node_builders import T0_MS, fixed_clock, make_node, make_pair

from seabridge.errors import ConfigError, UnknownPeerError
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE
from seabridge.node import Address, NodeDir, init_node, load_node
from seabridge.node.directory import log_origin, parse_address
from seabridge.units import ms_to_iso


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_the_directory_with_private_keys_0600(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    paths = NodeDir(tmp_path / "jcg")
    assert node.dir == paths
    for secret in (paths.log_key, paths.cosigner_key, paths.tls_ca_key, paths.tls_key):
        assert _mode(secret) == 0o600, secret
    assert _mode(paths.keys) == 0o700
    for public in (paths.tls_ca, paths.tls_cert):
        assert public.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    for folder in (paths.peers, paths.quarantine, paths.reports):
        assert folder.is_dir() and not any(folder.iterdir())
    assert not paths.state.exists()  # the ledger creates it
    assert not paths.tracks.exists()  # the track store creates it


def test_init_writes_a_node_toml_that_loads_back(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    document = tomllib.loads(node.dir.toml.read_text(encoding="utf-8"))
    assert document["node"] == {
        "format": 1,
        "party": "jcg",
        "name": "JCG test node",
        "created": ms_to_iso(T0_MS),
        "packs": ["ecs"],
    }
    assert document["federation"] == {
        "listen": "127.0.0.1:18443",
        "endpoints": ["https://127.0.0.1:18443"],
    }
    assert document["console"] == {"listen": "127.0.0.1:18444"}
    assert load_node(node.dir.root) == node
    assert node.federation_listen == Address("127.0.0.1", 18443)
    assert node.peers == ()


def test_the_keys_carry_the_agreed_names_and_types(tmp_path: Path) -> None:
    node = make_node(tmp_path, "ccg", fixed_clock())
    log, cosigner = node.log_key(), node.cosigner_key()
    assert (log.name, log.key_type) == ("ccg/hotline", KEY_TYPE_NOTE)
    assert (cosigner.name, cosigner.key_type) == ("ccg/hotline/cosigner", KEY_TYPE_COSIGNATURE)
    assert log.verifier.public != cosigner.verifier.public
    assert node.log_origin("jcg") == log_origin("ccg", "jcg") == "ccg/hotline/jcg"


def test_a_key_file_of_the_wrong_role_is_refused(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    log = node.dir.log_key.read_bytes()
    node.dir.log_key.write_bytes(node.dir.cosigner_key.read_bytes())
    node.dir.cosigner_key.write_bytes(log)
    with pytest.raises(ConfigError, match="the log key of jcg is 'jcg/hotline'"):
        node.log_key()


def test_endpoints_and_a_wildcard_listener(tmp_path: Path) -> None:
    node = init_node(
        tmp_path / "n",
        "jcg",
        "JCG",
        "0.0.0.0:8443",
        "127.0.0.1:8080",
        fixed_clock(),
        endpoints=["https://jcg.example:8443", "https://203.0.113.5:9443"],
    )
    assert node.endpoints == ("https://jcg.example:8443", "https://203.0.113.5:9443")
    assert str(node.federation_listen) == "0.0.0.0:8443"
    with pytest.raises(ConfigError, match="--endpoint"):
        init_node(tmp_path / "m", "jcg", "JCG", "0.0.0.0:8443", "127.0.0.1:8080", fixed_clock())


@pytest.mark.parametrize(
    ("party", "federation", "console", "options", "message"),
    [
        ("JCG", "127.0.0.1:1", "127.0.0.1:2", {}, "not a lower-case id"),
        ("jcg", "127.0.0.1", "127.0.0.1:2", {}, "is not HOST:PORT"),
        ("jcg", "127.0.0.1:70000", "127.0.0.1:2", {}, "not in 1-65535"),
        ("jcg", "127.0.0.1:8443", "0.0.0.0:8443", {}, "must differ"),
        ("jcg", "127.0.0.1:1", "127.0.0.1:2", {"endpoints": ["http://a:1"]}, "must be https"),
        ("jcg", "127.0.0.1:1", "127.0.0.1:2", {"packs": ["nosuchpack"]}, "no built-in pack"),
    ],
)
def test_init_refuses_bad_arguments_and_creates_nothing(
    tmp_path: Path,
    party: str,
    federation: str,
    console: str,
    options: dict[str, list[str]],
    message: str,
) -> None:
    with pytest.raises(ConfigError, match=message):
        init_node(tmp_path / "n", party, "N", federation, console, fixed_clock(), **options)
    assert not (tmp_path / "n").exists()


def test_init_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    make_node(tmp_path, "jcg", fixed_clock())
    with pytest.raises(ConfigError, match="not an empty directory"):
        make_node(tmp_path, "jcg", fixed_clock())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="never initialised over existing files"):
        init_node(tmp_path / "other", "ccg", "C", "127.0.0.1:1", "127.0.0.1:2", fixed_clock())
    (tmp_path / "empty").mkdir()
    assert init_node(tmp_path / "empty", "ccg", "C", "[::1]:1", "[::1]:2", fixed_clock()).party


def test_ipv6_addresses() -> None:
    assert parse_address("[::1]:8443") == Address("::1", 8443)
    assert str(Address("::1", 8443)) == "[::1]:8443"
    assert parse_address(":8443").wildcard
    with pytest.raises(ConfigError, match="not an IPv6 address"):
        parse_address("[1:2:3:4:5:6:7:8:9]:1")


def test_a_missing_node_toml_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"node.toml: not found; is .* a node directory"):
        load_node(tmp_path)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("format = 1", "format = 2", r"node\.format: format 2 is not supported"),
        ('party = "jcg"', 'party = "JCG"', r"node\.party: 'JCG' is not a lower-case party id"),
        ('name = "JCG test node"\n', "", r"\[node\]|node: missing required key 'name'"),
        ('listen = "127.0.0.1:18443"', 'listen = "x"', r"federation\.listen: .* not HOST:PORT"),
        ('["https://127.0.0.1:18443"]', "[]", r"federation\.endpoints: list at least one"),
        ('["https://127.0.0.1:18443"]', '["ftp://a"]', r"federation\.endpoints\[0\]: .*https"),
        ("[console]", "[console]\nport = 1", r"console: unknown key 'port'"),
        ("[console]", "[consoles]\n[console]", r"unknown key 'consoles'"),
        ('listen = "127.0.0.1:18444"', 'listen = "127.0.0.1:18443"', "must differ"),
        ("[console]", "[settings]\nnope = 1\n[console]", "unknown setting 'nope'"),
        ("packs = [", "packs = 3\nx = [", r"node\.packs: expected an array"),
        ("[node]", "[node", "not valid TOML"),
    ],
)
def test_load_errors_name_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    _edit(node.dir.toml, old, new)
    with pytest.raises(ConfigError, match=message) as caught:
        load_node(node.dir.root)
    assert "node.toml" in str(caught.value)


def test_settings_are_read_from_node_toml(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    _edit(node.dir.toml, "[console]", "[settings]\ndetect.tick_s = 20\n\n[console]")
    assert load_node(node.dir.root).settings["detect.tick_s"] == 20.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("log_vkey", "jcg/hotline+00000000+AAAA", r"peer\[0\]\.log_vkey: vkey key is 3 bytes"),
        ("party", "jcg", r"peer\[0\]\.party: 'jcg' is this node's own party"),
        ("ca", "../elsewhere.pem", r"peer\[0\]\.ca: .* inside the node directory"),
        ("ca_pin", "AAAA", r"peer\[0\]\.ca_pin: .*does not match the pinned AAAA"),
    ],
)
def test_peer_entries_are_checked(tmp_path: Path, field: str, value: str, message: str) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    peer = jcg.peer("ccg")
    current = {
        "log_vkey": peer.log_vkey,
        "party": "ccg",
        "ca": "peers/ccg/ca.pem",
        "ca_pin": peer.ca_pin,
    }[field]
    _edit(jcg.dir.toml, f'{field} = "{current}"', f'{field} = "{value}"')
    with pytest.raises(ConfigError, match=message):
        load_node(jcg.dir.root)


def test_a_swapped_peer_vkey_is_refused(tmp_path: Path) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    peer = jcg.peer("ccg")
    _edit(jcg.dir.toml, f'log_vkey = "{peer.log_vkey}"', f'log_vkey = "{peer.cosigner_vkey}"')
    with pytest.raises(ConfigError, match=r"log_vkey: is key 'ccg/hotline/cosigner'"):
        load_node(jcg.dir.root)


def test_a_replaced_peer_ca_file_fails_its_pin(tmp_path: Path) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    stranger = make_node(tmp_path, "xcg", fixed_clock())
    jcg.dir.peer_ca("ccg").write_bytes(stranger.dir.tls_ca.read_bytes())
    with pytest.raises(ConfigError, match=r"peer\[0\]\.ca_pin: .*ca\.pem: CA pin .* does not"):
        load_node(jcg.dir.root)


def test_an_unknown_peer(tmp_path: Path) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    assert jcg.peer("ccg").primary == "https://127.0.0.1:19443"
    with pytest.raises(UnknownPeerError, match=r"no peer 'kcg' \(peers: ccg\)"):
        jcg.peer("kcg")
