"""Write the golden evidence and proof files of this release (R12, ``hotline-protocol.md`` §7).

``python tests/hotline/golden/make_golden.py`` rewrites, beside this script:

- ``evidence-v1.json``: jcg's ``ledger export`` (``seabridge-evidence/v1``) of a two-party
  exchange run through the real :class:`~seabridge.hotline.ledger.Ledger` API (pushes handed
  across in process): 25-27 entries per log with notifications, acks, replies, an escalation,
  notes, heartbeats, a log-key rotation (jcg) and a cosigner-key rotation (ccg), an agreement
  proposal and its countersignature, and a ``deadline-missed`` for an unanswered notification.
- ``proof-v1.json``: the ``ledger prove`` proof (``seabridge-proof/v1``) of jcg's agreement
  proposal, signed by the rotated log key and receipted by ccg's rotated cosigner key.
- ``keys-v1.json``: every public key the files use (initial and rotated), for ``--key``.

Keys come from :meth:`SigningKey.from_seed` over fixed seeds, the clock is a
:class:`ManualClock` moved by fixed steps, and every ``msg_id`` (also those the ledger makes for
``key-rotation`` entries) comes from a counter, so the files are the same byte for byte on
every run; ``tests/hotline/test_golden.py`` checks that today's code still writes them.

NEVER regenerate these files for a release that has shipped: they are what that release wrote,
and later releases must keep verifying them. When the format changes, add a new version
(``evidence-v2.json`` ..., a copy of this script writing them) beside the old files, and keep
the old files and their tests unchanged.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

from seabridge.clock import ManualClock
from seabridge.hotline import ledger as ledger_module
from seabridge.hotline.entries import Entry, Ref
from seabridge.hotline.evidence import dumps_evidence, parse_evidence
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.proofs import build_proof_from_evidence

HERE = Path(__file__).resolve().parent
EVIDENCE_FILE = "evidence-v1.json"
PROOF_FILE = "proof-v1.json"
KEYS_FILE = "keys-v1.json"
PARTIES = ("jcg", "ccg")
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DEADLINE_S = 1800
ROUNDS = 12
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def golden_key(name: str, key_type: int, generation: int = 0) -> SigningKey:
    """A golden key: the seed is SHA-256 of a fixed label."""
    seed = hashlib.sha256(f"seabridge-golden/v1/{name}/{key_type}/{generation}".encode()).digest()
    return SigningKey.from_seed(name, key_type, seed)


def log_key(party: str, generation: int = 0) -> SigningKey:
    return golden_key(f"{party}/hotline", KEY_TYPE_NOTE, generation)


def cosigner_key(party: str, generation: int = 0) -> SigningKey:
    return golden_key(f"{party}/hotline/cosigner", KEY_TYPE_COSIGNATURE, generation)


def all_keys() -> list[SigningKey]:
    """Every key the golden files use: the initial four, then the two rotated ones."""
    initial = [make(party) for party in PARTIES for make in (log_key, cosigner_key)]
    return [*initial, log_key("jcg", 1), cosigner_key("ccg", 1)]


def other(party: str) -> str:
    return PARTIES[1] if party == PARTIES[0] else PARTIES[0]


class MsgIds:
    """ULID-shaped ids (48-bit ms + 80 bits, Crockford base32) with counted, not random, bits."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, now_ms: int) -> str:
        self.count += 1
        bits = hashlib.sha256(f"golden msg_id {self.count}".encode()).digest()[:10]
        value = (now_ms & (2**48 - 1)) << 80 | int.from_bytes(bits, "big")
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class Exchange:
    """jcg and ccg on one ManualClock, pushing to each other directly."""

    def __init__(self, root: Path) -> None:
        self.clock = ManualClock(START_MS)
        self.ids = MsgIds()
        self.ledgers = {party: self._open(root, party) for party in PARTIES}

    def _open(self, root: Path, party: str) -> Ledger:
        peer = other(party)
        (root / party).mkdir(parents=True)
        return Ledger(
            root / party / "state.sqlite",
            party,
            log_key(party),
            cosigner_key(party),
            {peer: (log_key(peer).verifier, cosigner_key(peer).verifier)},
            self.clock,
            backoff_cap_s=2.0,
            rng=random.Random(0),
        )

    def send(
        self,
        party: str,
        kind: str,
        body: Mapping[str, object],
        *,
        refs: tuple[Entry, ...] = (),
        deadline: bool = False,
        lang: str = "en",
    ) -> Entry:
        """``party`` sends; ``refs`` are entries (of either log) it refers to."""
        now = self.clock.now_ms()
        return self.ledgers[party].send(
            other(party),
            kind,
            body,
            refs=[Ref(e.log, e.seq, e.leaf_hash()) for e in refs],
            deadline_ms=now + DEADLINE_S * 1000 if deadline else None,
            lang=lang,
            msg_id=self.ids(now),
        )

    def sync(self, first: str = "jcg") -> None:
        """Push ``first``'s log, then the other's, until both are cosigned."""
        self.clock.advance(2)
        for party in (first, other(first)):
            ledger, peer = self.ledgers[party], self.ledgers[other(party)]
            while (body := ledger.push_request(peer.party)) is not None:
                ledger.accept_response(peer.party, peer.receive_push(body))
                self.clock.advance(1)

    def heartbeat(self) -> None:
        """An empty push each way: the peer cosigns the same checkpoint again, later."""
        for party in PARTIES:
            self.clock.advance(1)
            ledger, peer = self.ledgers[party], self.ledgers[other(party)]
            body = ledger.push_request(peer.party, heartbeat=True)
            assert body is not None
            ledger.accept_response(peer.party, peer.receive_push(body))

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()


def message(text_en: str, text: str, marker: str) -> dict[str, object]:
    return {"text": text, "text_en": text_en, "marker": marker}


def converse(ex: Exchange) -> Entry:
    """The exchange; returns jcg's agreement proposal (the entry proven)."""
    ex.send(  # never answered: jcg records its deadline-missed at the end
        "jcg",
        "notification",
        message("Unlit vessel at anchor", "無灯火の錨泊船", "WARNING"),
        deadline=True,
        lang="ja",
    )
    ex.sync()
    proposal = None
    for number in range(ROUNDS):
        ex.clock.advance(37 + number)
        if number == ROUNDS // 2:  # rotations: ccg's is pushed before it cosigns with the new key
            with mock.patch.object(ledger_module, "new_msg_id", ex.ids):
                ex.ledgers["ccg"].rotate_key("cosigner", cosigner_key("ccg", 1))
                ex.ledgers["jcg"].rotate_key("log", log_key("jcg", 1))
            ex.sync("ccg")
            proposal = ex.send(
                "jcg",
                "agreement",
                {"role": "proposal", "document": "rulebook ecs 1", "sha256": "ab" * 32},
            )
            ex.sync()
            ex.clock.advance(120)
            ex.send(
                "ccg",
                "agreement",
                {"role": "countersignature", "document": "rulebook ecs 1", "sha256": "ab" * 32},
                refs=(proposal,),
            )
            ex.sync("ccg")
        sender = PARTIES[number % 2]
        receiver = other(sender)
        kind = "escalation" if number == 7 else "notification"
        body = message(f"Vessel approaching, report {number}", f"接近中の船舶 {number}", "WARNING")
        if kind == "escalation":
            body["level"] = 2
        sent = ex.send(sender, kind, body, deadline=True, lang="ja")
        if number % 3 == 0:
            ex.send(sender, "note", message(f"Log note {number}", f"記録 {number}", "INFORMATION"))
        ex.sync(sender)
        ex.clock.advance(60 + 5 * number)
        if number % 4 == 3:
            ex.send(receiver, "reply", message("Under way", "航行中", "ANSWER"), refs=(sent,))
        else:
            ex.send(receiver, "ack", {"text": "受領", "text_en": "Received"}, refs=(sent,))
        ex.send(sender, "note", message(f"Noted {number}", f"了解 {number}", "INFORMATION"))
        ex.sync(receiver)
        if number % 4 == 1:
            ex.clock.advance(30)
            for party in PARTIES:
                ex.send(party, "heartbeat", {"note": "hourly test"})
            ex.sync()
            ex.heartbeat()
    ex.clock.advance(DEADLINE_S)
    for party in PARTIES:
        ex.ledgers[party].check_deadlines(ex.clock.now_ms())
    ex.sync()
    assert proposal is not None
    return proposal


def golden_files() -> dict[str, bytes]:
    """The golden files as this release writes them: file name -> bytes."""
    with tempfile.TemporaryDirectory(prefix="seabridge-golden-") as tmp:
        ex = Exchange(Path(tmp))
        try:
            proposal = converse(ex)
            ex.clock.advance(60)
            exported = ex.ledgers["jcg"].export_evidence()
        finally:
            ex.close()
    proof = build_proof_from_evidence(parse_evidence(exported), proposal.log, proposal.seq)
    keys: dict[str, Any] = {
        "keys": [
            {
                "name": key.name,
                "role": "log" if key.key_type == KEY_TYPE_NOTE else "cosigner",
                "vkey": key.verifier.vkey(),
            }
            for key in all_keys()
        ]
    }
    return {
        EVIDENCE_FILE: dumps_evidence(exported),
        PROOF_FILE: _json(proof),  # as ``ledger prove`` writes it
        KEYS_FILE: _json(keys),
    }


def _json(value: object) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def main() -> None:
    for name, data in golden_files().items():
        (HERE / name).write_bytes(data)
        print(f"wrote {HERE / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
