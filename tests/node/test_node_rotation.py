"""Key rotation of the files: a new current key, every old key kept 0600 as <role>-<n>.key."""

from __future__ import annotations

import stat
from pathlib import Path

from node_builders import fixed_clock, make_node

from seabridge.node import load_node, rotate_key


def test_rotation_keeps_every_old_key(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    first = node.log_key()
    old, second = rotate_key(node, "log")
    assert old.verifier == first.verifier
    assert (second.name, second.key_type) == (first.name, first.key_type)
    assert second.verifier.key_id != first.verifier.key_id
    assert node.log_key().verifier == second.verifier
    old_again, third = rotate_key(load_node(node.dir.root), "log")
    assert old_again.verifier == second.verifier
    retired = [node.dir.retired_key("log", n) for n in (1, 2)]
    for path in retired:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [key.verifier for key in node.retired_keys("log")] == [
        first.verifier,
        second.verifier,
    ]
    assert node.log_key().verifier == third.verifier
    assert not node.dir.retired_key("log", 3).exists()
    assert node.retired_keys("cosigner") == ()


def test_an_old_key_still_verifies_what_it_signed(tmp_path: Path) -> None:
    node = make_node(tmp_path, "ccg", fixed_clock())
    signature = node.cosigner_key().sign(b"receipt")
    old, new = rotate_key(node, "cosigner")
    (kept,) = node.retired_keys("cosigner")
    kept.verifier.verify(b"receipt", signature)
    assert kept.verifier == old.verifier != new.verifier
    assert node.log_key().name == "ccg/hotline"  # the other role is untouched


def test_a_key_left_by_an_interrupted_rotation_is_discarded(tmp_path: Path) -> None:
    node = make_node(tmp_path, "jcg", fixed_clock())
    stale = node.dir.log_key.with_name("log.key.new")
    stale.write_bytes(b"half-written")
    _, new = rotate_key(node, "log")
    assert not stale.exists()
    assert node.log_key().verifier == new.verifier
