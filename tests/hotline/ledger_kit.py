"""Test helpers: two ledgers (jcg, ccg) in temporary directories, one ManualClock, push bodies
handed across directly (no HTTP). Import with ``from ledger_kit import ...``.

Keys are deterministic (seeded from their names), so two runs produce the same entries.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seabridge.clock import ManualClock
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import Ledger

__all__ = [
    "PARTIES",
    "START_MS",
    "LedgerPair",
    "key_for",
    "ledger_pair",
    "message",
    "open_ledger",
]

PARTIES = ("jcg", "ccg")
START_MS = 1_790_000_000_000  # 2026-09-21T...Z: a fixed, whole-second start
BACKOFF_CAP_S = 2.0  # §5.7: 1-2 s in tests


def key_for(name: str, key_type: int) -> SigningKey:
    """A deterministic key: the seed is SHA-256 of the name and type."""
    seed = hashlib.sha256(f"{name}/{key_type}".encode()).digest()
    return SigningKey.from_seed(name, key_type, seed)


def log_key(party: str) -> SigningKey:
    return key_for(f"{party}/hotline", KEY_TYPE_NOTE)


def cosigner_key(party: str) -> SigningKey:
    return key_for(f"{party}/hotline/cosigner", KEY_TYPE_COSIGNATURE)


def message(text: str = "Vessel sighted", marker: str = "INFORMATION") -> dict[str, object]:
    """A notification/reply/note body."""
    return {"text": text, "text_en": text, "marker": marker}


def open_ledger(
    directory: Path,
    party: str,
    clock: ManualClock,
    *,
    log: SigningKey | None = None,
    cosigner: SigningKey | None = None,
    seed: int = 0,
) -> Ledger:
    """The ledger of ``party`` in ``directory/state.sqlite``, peered with the other party."""
    directory.mkdir(parents=True, exist_ok=True)
    peers = {
        other: (log_key(other).verifier, cosigner_key(other).verifier)
        for other in PARTIES
        if other != party
    }
    return Ledger(
        directory / "state.sqlite",
        party,
        log or log_key(party),
        cosigner or cosigner_key(party),
        peers,
        clock,
        backoff_cap_s=BACKOFF_CAP_S,
        rng=random.Random(seed),
    )


@dataclass
class LedgerPair:
    """Two ledgers sharing one clock; ``ledgers["jcg"]`` pushes to ``ledgers["ccg"]``."""

    root: Path
    clock: ManualClock
    ledgers: dict[str, Ledger] = field(default_factory=dict)

    @property
    def jcg(self) -> Ledger:
        return self.ledgers["jcg"]

    @property
    def ccg(self) -> Ledger:
        return self.ledgers["ccg"]

    def path(self, party: str) -> Path:
        return self.root / party / "state.sqlite"

    def reopen(
        self, party: str, *, log: SigningKey | None = None, cosigner: SigningKey | None = None
    ) -> Ledger:
        """Close and open ``party``'s ledger again (a restart), optionally with other keys."""
        self.ledgers[party].close()
        self.ledgers[party] = open_ledger(
            self.root / party, party, self.clock, log=log, cosigner=cosigner
        )
        return self.ledgers[party]

    def push(self, sender: str, *, heartbeat: bool = False) -> dict[str, Any] | None:
        """One push from ``sender`` to the other party; the answer is accepted. Returns it."""
        receiver = "ccg" if sender == "jcg" else "jcg"
        body = self.ledgers[sender].push_request(receiver, heartbeat=heartbeat)
        if body is None:
            return None
        answer = self.ledgers[receiver].receive_push(body)
        self.ledgers[sender].accept_response(receiver, answer)
        return answer

    def sync(self) -> None:
        """Push both ways until nothing is left (bounded)."""
        for _ in range(1000):
            moved = [self.push(party) for party in PARTIES]
            if not any(moved):
                return
        raise AssertionError("the ledgers did not converge in 1000 rounds")

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()


@contextmanager
def ledger_pair(root: Path, start_ms: int = START_MS) -> Iterator[LedgerPair]:
    """Two fresh ledgers under ``root``; closed at the end."""
    clock = ManualClock(start_ms)
    pair = LedgerPair(root, clock)
    for party in PARTIES:
        pair.ledgers[party] = open_ledger(root / party, party, clock)
    try:
        yield pair
    finally:
        pair.close()
