"""R12 (``domain/hotline-protocol.md`` §7): files written by a release verify with later ones.

``tests/hotline/golden/`` holds an evidence file, a proof and their public keys as this release
wrote them (``make_golden.py`` explains how, and why they are never regenerated once shipped).
Here they must verify with today's code, in the API and through the CLI, against the golden
keys and against their own.

The last test checks that today's code still writes the v1 files byte for byte, so a format
change cannot slip in unnoticed. When it fails on purpose (a new format version), add the new
files beside the old ones and point that test at them; the verification tests of the old files
stay as they are.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.hotline.entries import Entry
from seabridge.hotline.evidence import load_evidence
from seabridge.hotline.keys import Verifier, parse_vkey
from seabridge.hotline.proofs import verify_proof
from seabridge.hotline.verify import verify_evidence

GOLDEN = Path(__file__).resolve().parent / "golden"
EVIDENCE = GOLDEN / "evidence-v1.json"
PROOF = GOLDEN / "proof-v1.json"
KEYS = GOLDEN / "keys-v1.json"
runner = CliRunner()


def golden_vkeys() -> list[str]:
    return [str(key["vkey"]) for key in json.loads(KEYS.read_text(encoding="utf-8"))["keys"]]


def golden_keys() -> list[Verifier]:
    return [parse_vkey(vkey) for vkey in golden_vkeys()]


def test_the_golden_evidence_verifies() -> None:
    evidence = load_evidence(EVIDENCE)
    assert evidence.exported_by == "jcg"
    for trusted in (golden_keys(), None):
        report = verify_evidence(evidence, trusted)
        assert report.ok, report.problems
        assert report.warnings == ()
        assert report.keys_source == ("file" if trusted is None else "trusted")
    sizes = {log.origin: (log.size, log.cosignatures) for log in report.logs}
    assert sizes == {"ccg/hotline/jcg": (25, 26), "jcg/hotline/ccg": (27, 28)}
    assert all(log.receipts for log in report.logs)


def test_the_golden_evidence_uses_every_feature() -> None:
    """The file still holds what it is meant to exercise (a sanity check of the fixture)."""
    text = EVIDENCE.read_text(encoding="utf-8")
    report = verify_evidence(load_evidence(EVIDENCE), golden_keys())
    assert report.ok
    cosigners = {r.cosigner for log in report.logs for r in log.receipts}
    assert cosigners == {"ccg/hotline/cosigner", "jcg/hotline/cosigner"}
    kinds = {
        Entry.from_bytes(base64.b64decode(item["entry"])).kind
        for log in json.loads(text)["logs"]
        for item in log["entries"]
    }
    assert {"ack", "reply", "key-rotation", "deadline-missed", "agreement", "escalation"} <= kinds


def test_the_golden_proof_verifies() -> None:
    proof = json.loads(PROOF.read_text(encoding="utf-8"))
    for trusted in (golden_keys(), None):
        result = verify_proof(proof, trusted)
        assert (result.origin, result.kind, result.cosigned) == (
            "jcg/hotline/ccg",
            "agreement",
            True,
        )
        assert result.receipts[0][0] == "ccg/hotline/cosigner"
    rotated = golden_keys()[4:]  # the proof is signed and receipted with the rotated keys
    assert {key["vkey"] for key in proof["keys"]} == {key.vkey() for key in rotated}


@pytest.mark.parametrize("with_keys", [True, False], ids=["golden-keys", "own-keys"])
def test_the_cli_verifies_the_golden_files(with_keys: bool) -> None:
    keys = [arg for vkey in golden_vkeys() for arg in ("--key", vkey)] if with_keys else []
    result = runner.invoke(app, ["ledger", "verify", "--evidence", str(EVIDENCE), *keys])
    assert result.exit_code == 0, result.output
    assert "OK: no tampering or equivocation found" in result.output
    result = runner.invoke(app, ["ledger", "verify-proof", str(PROOF), *keys])
    assert result.exit_code == 0, result.output
    assert "OK: the proof verifies" in result.output


def _load_generator() -> Callable[[], dict[str, bytes]]:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[[], dict[str, bytes]] = module.golden_files
    return generate


def test_todays_code_writes_the_golden_files_byte_for_byte() -> None:
    written = _load_generator()()
    assert sorted(written) == sorted(p.name for p in GOLDEN.glob("*.json"))
    for name, data in written.items():
        assert data == (GOLDEN / name).read_bytes(), (
            f"{name}: today's code writes it differently: a format change? Never regenerate a "
            "shipped golden file; add a new version beside it (see make_golden.py)"
        )
