"""Proofs for an arbiter: build/verify round trips, every single-bit mutation, trusted keys."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from evidence_kit import MESSAGE, Kit, conversation, seeded_key

from seabridge.errors import LedgerError, MalformedError, VerificationError
from seabridge.hotline.evidence import parse_evidence
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, parse_vkey
from seabridge.hotline.notes import Checkpoint, split_note
from seabridge.hotline.proofs import (
    PROOF_FORMAT,
    build_proof,
    build_proof_from_evidence,
    verify_proof,
)
from seabridge.hotline.verify import known_keys

JCG, CCG = "jcg/hotline/ccg", "ccg/hotline/jcg"


@pytest.fixture(scope="module")
def kit() -> Kit:
    return conversation(3, 8)


def test_every_seq_of_both_logs_round_trips(kit: Kit) -> None:
    ev = parse_evidence(kit.export())
    for log in ev.logs:
        keys = [k.vkey() for k in known_keys(ev, log.origin)]
        for seq in range(len(log.entries)):
            proof = build_proof_from_evidence(ev, log.origin, seq)
            assert proof["format"] == PROOF_FORMAT
            json.dumps(proof)
            result = verify_proof(proof)
            assert (result.origin, result.seq, result.size) == (log.origin, seq, proof["size"])
            assert result.cosigned and proof["cosigned"] is True
            assert result.keys_source == "proof"
            assert {k["vkey"] for k in proof["keys"]} <= set(keys)
            trusted = [parse_vkey(v) for v in keys]
            assert verify_proof(proof, trusted=trusted).keys_source == "trusted"


def test_a_proof_across_a_key_rotation_lists_both_log_keys() -> None:
    kit = Kit(7)
    kit.append("jcg", "notification", MESSAGE)
    old = kit.logs["jcg"].key.verifier
    rotation = kit.rotate_log_key("jcg")
    kit.checkpoint("jcg", cosigned=False)  # size 2, by the old key, not receipted
    kit.append("jcg", "heartbeat", {})
    kit.checkpoint("jcg")  # size 3, by the new key, receipted
    new = kit.logs["jcg"].key.verifier
    proof = build_proof_from_evidence(parse_evidence(kit.export()), JCG, rotation.seq)
    assert proof["size"] == 3
    assert proof["keys"][:2] == [
        {"role": "log", "vkey": old.vkey()},
        {"role": "log", "vkey": new.vkey()},
    ]
    cosigners = [key.verifier for key in kit.cosigners.values()]
    result = verify_proof(proof, trusted=[old, new, *cosigners])
    assert result.sent_by == old and result.cosigned


def test_the_smallest_cosigned_checkpoint_above_seq_is_chosen(kit: Kit) -> None:
    log = kit.logs["ccg"]
    proof = build_proof(
        log.origin, 0, log.entries, log.checkpoints, log.cosignatures, _keys(kit, "ccg")
    )
    sizes = sorted(c["size"] for c in log.cosignatures)
    assert proof["size"] == sizes[0]
    result = verify_proof(proof)
    assert result.receipts == (("jcg/hotline/cosigner", log.cosignatures[0]["time"]),)
    lines = result.summary_lines()
    assert any(line.startswith("receipted by jcg/hotline/cosigner at ") for line in lines)
    assert result.to_json()["cosigned"] is True


def _keys(kit: Kit, party: str) -> list[Any]:
    ev = parse_evidence(kit.export())
    return known_keys(ev, kit.logs[party].origin)


def test_without_a_cosignature_the_latest_checkpoint_is_used_and_flagged() -> None:
    kit = Kit(4)
    kit.append("jcg", "notification", MESSAGE)
    kit.checkpoint("jcg", cosigned=False)
    kit.append("jcg", "heartbeat", {})
    kit.checkpoint("jcg", cosigned=False)
    log = kit.logs["jcg"]
    proof = build_proof(JCG, 0, log.entries, log.checkpoints, [], _keys(kit, "jcg"))
    assert proof["cosigned"] is False and proof["size"] == 2 and proof["cosignatures"] == []
    result = verify_proof(proof)
    assert not result.cosigned
    assert "receipt is not" in " ".join(result.summary_lines())


def test_build_refuses_what_it_cannot_prove() -> None:
    kit = Kit(5)
    kit.append("jcg", "notification", MESSAGE)
    log = kit.logs["jcg"]
    keys = _keys(kit, "jcg")
    with pytest.raises(LedgerError, match="no signed checkpoint"):
        build_proof(JCG, 0, log.entries, [], [], keys)
    with pytest.raises(LedgerError, match="no entry 1"):
        build_proof(JCG, 1, log.entries, [], [], keys)
    stranger = seeded_key("jcg/hotline", KEY_TYPE_NOTE, seed=77)
    kit.checkpoint("jcg")
    with pytest.raises(VerificationError):
        build_proof(JCG, 0, log.entries, log.checkpoints, [], [stranger.verifier])
    with pytest.raises(LedgerError, match="no log"):
        build_proof_from_evidence(parse_evidence(kit.export()), "nobody/hotline/x", 0)


# --- mutations ------------------------------------------------------------------------------


def _flips(data: bytes, rng: random.Random, limit: int) -> Iterator[bytes]:
    bits = range(len(data) * 8)
    for bit in rng.sample(bits, min(limit, len(bits))):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield bytes(flipped)


def _mutations(
    proof: dict[str, Any], rng: random.Random, limit: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every field, one bit at a time (bytes fields decoded; strings as UTF-8; ints): every bit
    of every int, ``limit`` random bits of each other field."""
    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    def with_value(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        changed = copy.deepcopy(proof)
        target = changed
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return changed

    paths: list[tuple[tuple[Any, ...], str]] = [
        (("entry",), "b64"),
        (("sig",), "b64"),
        (("checkpoint",), "text"),
        (("origin",), "text"),
        (("format",), "text"),
        (("seq",), "int"),
        (("size",), "int"),
    ]
    paths += [(("inclusion", i), "b64") for i in range(len(proof["inclusion"]))]
    for i in range(len(proof["cosignatures"])):
        paths += [
            (("cosignatures", i, f), kind)
            for f, kind in (("cosigner", "text"), ("time", "int"), ("line", "text"))
        ]
    for i in range(len(proof["keys"])):
        paths += [(("keys", i, "role"), "text"), (("keys", i, "vkey"), "text")]
    for path, kind in paths:
        value: Any = proof
        for step in path:
            value = value[step]
        name = "/".join(map(str, path))
        if kind == "int":
            for bit in range(63):
                yield name, with_value(path, value ^ (1 << bit))
        elif kind == "b64":
            for flipped in _flips(base64.b64decode(value), rng, limit):
                yield name, with_value(path, b64(flipped))
        else:
            for flipped in _flips(value.encode(), rng, limit):
                try:
                    yield name, with_value(path, flipped.decode("utf-8"))
                except UnicodeDecodeError:
                    continue
    yield "cosigned", with_value(("cosigned",), not proof["cosigned"])


@pytest.mark.parametrize(
    ("party", "seq", "limit"), [("jcg", 0, 10**6), ("jcg", -1, 200), ("ccg", 1, 200)]
)
def test_every_single_bit_mutation_is_rejected(kit: Kit, party: str, seq: int, limit: int) -> None:
    """The first case flips every bit of every field; the others sample 200 per field."""
    ev = parse_evidence(kit.export())
    origin = kit.logs[party].origin
    seq = seq % kit.logs[party].tree.size
    proof = build_proof_from_evidence(ev, origin, seq)
    verify_proof(proof)
    rng = random.Random(seq)
    counts = {"malformed": 0, "verification": 0}
    for name, mutated in _mutations(proof, rng, limit):
        try:
            verify_proof(mutated)
        except MalformedError:
            counts["malformed"] += 1
        except VerificationError:
            counts["verification"] += 1
        else:
            raise AssertionError(f"mutation of {name} accepted")
    assert counts["malformed"] > 100 and counts["verification"] > 100, counts


def test_a_proof_needs_all_its_fields() -> None:
    kit = Kit(6)
    kit.append("jcg", "notification", MESSAGE)
    kit.checkpoint("jcg")
    proof = build_proof_from_evidence(parse_evidence(kit.export()), JCG, 0)
    for name in proof:
        partial = {k: v for k, v in proof.items() if k != name}
        with pytest.raises(MalformedError):
            verify_proof(partial)
    with pytest.raises(MalformedError):
        verify_proof({**proof, "extra": 1})


def test_a_wrong_trusted_key_is_rejected(kit: Kit) -> None:
    ev = parse_evidence(kit.export())
    proof = build_proof_from_evidence(ev, CCG, 0)
    keys = [parse_vkey(k["vkey"]) for k in proof["keys"]]
    assert verify_proof(proof, trusted=keys).cosigned
    stranger_log = seeded_key("ccg/hotline", KEY_TYPE_NOTE, seed=55).verifier
    stranger_cosigner = seeded_key("jcg/hotline/cosigner", KEY_TYPE_COSIGNATURE, seed=55).verifier
    for wrong in (
        [stranger_log, *[k for k in keys if k.key_type == KEY_TYPE_COSIGNATURE]],
        [stranger_cosigner, *[k for k in keys if k.key_type == KEY_TYPE_NOTE]],
        [],
    ):
        with pytest.raises(VerificationError, match="not among the configured keys"):
            verify_proof(proof, trusted=wrong)


def test_a_substituted_key_in_the_proof_does_not_verify(kit: Kit) -> None:
    """Swapping in another key (re-listing it) cannot make the old signatures verify."""
    ev = parse_evidence(kit.export())
    proof = build_proof_from_evidence(ev, JCG, 0)
    stranger = seeded_key("jcg/hotline", KEY_TYPE_NOTE, seed=56).verifier
    forged = copy.deepcopy(proof)
    forged["keys"] = [{"role": "log", "vkey": stranger.vkey()}] + [
        k for k in proof["keys"] if k["role"] == "cosigner"
    ]
    with pytest.raises(VerificationError):
        verify_proof(forged)


def test_the_checkpoint_in_a_proof_is_a_plain_c2sp_checkpoint(kit: Kit) -> None:
    ev = parse_evidence(kit.export())
    proof = build_proof_from_evidence(ev, JCG, 1)
    body, signatures = split_note(str(proof["checkpoint"]))
    assert Checkpoint.parse(body).size == proof["size"]
    assert [name for name, _ in signatures] == ["jcg/hotline"]
