"""A small builder of valid two-party evidence, straight from entries, notes, Merkle and keys.

No ledger, no database: :class:`Kit` plays both nodes. Every append is delivered at once, so an
entry's ``peers`` holds the other log as it is; a checkpoint is signed after each batch and the
peer cosigns it a few seconds later (the receipt). Keys come from seeds
(:meth:`SigningKey.from_seed`), so a seed gives the same evidence, byte for byte.

:func:`conversation` writes a varied exchange: notifications with and without deadlines, acks
and replies with refs, escalations, heartbeats, notes, an agreement proposal and its
countersignature, a deadline-missed for an unanswered notification, a log-key rotation (jcg)
and a cosigner-key rotation (ccg).
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from seabridge.hotline.entries import Entry, Ref, format_timestamp, parse_timestamp, sign_entry
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.merkle import MerkleTree
from seabridge.hotline.notes import Checkpoint, cosign, sign_checkpoint

PARTIES = ("jcg", "ccg")
START_MS = 1_795_000_000_000  # 2026-11-18T08:26:40Z
DEADLINE_S = 1800
MESSAGE = {"text": "接近中の船舶あり", "text_en": "Vessel approaching", "marker": "WARNING"}


def origin_of(party: str, peer: str) -> str:
    """Party ``party``'s log to ``peer``."""
    return f"{party}/hotline/{peer}"


def other(party: str) -> str:
    return PARTIES[1] if party == PARTIES[0] else PARTIES[0]


def seeded_key(name: str, key_type: int, seed: int, generation: int = 0) -> SigningKey:
    material = f"kit/{seed}/{name}/{key_type}/{generation}".encode()
    return SigningKey.from_seed(name, key_type, hashlib.sha256(material).digest())


@dataclass
class KitLog:
    """One author's log as the kit builds it."""

    party: str
    origin: str
    key: SigningKey
    tree: MerkleTree = field(default_factory=MerkleTree)
    entries: list[tuple[bytes, bytes]] = field(default_factory=list)
    parsed: list[Entry] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)
    cosignatures: list[dict[str, Any]] = field(default_factory=list)
    pending: tuple[int, SigningKey] | None = None
    generation: int = 0


class Kit:
    """Both nodes of a bilateral hotline, writing their logs directly."""

    def __init__(self, seed: int = 0, start_ms: int = START_MS) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.now_ms = start_ms
        self.cosigners = {
            p: seeded_key(f"{p}/hotline/cosigner", KEY_TYPE_COSIGNATURE, seed) for p in PARTIES
        }
        self.cosigner_generation = dict.fromkeys(PARTIES, 0)
        self.logs = {
            p: KitLog(p, origin_of(p, other(p)), seeded_key(f"{p}/hotline", KEY_TYPE_NOTE, seed))
            for p in PARTIES
        }
        self.initial_keys: list[dict[str, Any]] = []
        for p in PARTIES:
            log_origin = self.logs[p].origin
            self.initial_keys.append(
                {"origin": log_origin, "role": "log", "vkey": self.logs[p].key.verifier.vkey()}
            )
            self.initial_keys.append(
                {
                    "origin": log_origin,
                    "role": "cosigner",
                    "vkey": self.cosigners[other(p)].verifier.vkey(),
                }
            )

    def tick(self, seconds: int) -> None:
        self.now_ms += seconds * 1000 + self.rng.randrange(1000)

    def append(
        self,
        party: str,
        kind: str,
        body: dict[str, Any],
        *,
        refs: tuple[Ref, ...] = (),
        deadline: str | None = None,
        lang: str = "en",
        sign_with: SigningKey | None = None,
        seq: int | None = None,
    ) -> Entry:
        """Append one signed entry (``sign_with``/``seq`` let tests write bad ones)."""
        log = self.logs[party]
        at = log.tree.size
        if log.pending is not None and at >= log.pending[0]:
            log.key, log.pending = log.pending[1], None
        peer = self.logs[other(party)]
        peers = {peer.origin: (peer.tree.size, peer.tree.root())} if peer.tree.size else {}
        entry = Entry(
            log=log.origin,
            seq=at if seq is None else seq,
            prev_root=log.tree.root(),
            peers=peers,
            msg_id=f"{party}-{at:05d}-{self.rng.randrange(16**6):06x}",
            kind=kind,
            refs=refs,
            deadline=deadline,
            created=format_timestamp(self.now_ms),
            lang=lang,
            body=body,
        )
        data = entry.to_bytes()
        log.tree.append(entry.leaf_hash())
        log.entries.append((data, sign_entry(data, sign_with or log.key)))
        log.parsed.append(entry)
        return entry

    def checkpoint(self, party: str, *, cosigned: bool = True, delay_s: int = 2) -> str:
        """Sign a checkpoint of the whole log; the peer cosigns it ``delay_s`` later."""
        log = self.logs[party]
        checkpoint = Checkpoint(log.origin, log.tree.size, log.tree.root())
        note = sign_checkpoint(checkpoint, log.key)
        log.checkpoints.append(note)
        if cosigned:
            cosigner = self.cosigners[other(party)]
            time_s = self.now_ms // 1000 + delay_s
            log.cosignatures.append(
                {
                    "size": checkpoint.size,
                    "cosigner": cosigner.name,
                    "time": time_s,
                    "line": cosign(checkpoint, cosigner, time_s),
                }
            )
        return note

    def ref(self, party: str, seq: int) -> Ref:
        log = self.logs[party]
        return Ref(log.origin, seq, log.tree.leaf(seq))

    def rotate_log_key(self, party: str) -> Entry:
        """Announce a new log key from the next seq (signed by the current one)."""
        log = self.logs[party]
        log.generation += 1
        new = seeded_key(log.key.name, KEY_TYPE_NOTE, self.seed, log.generation)
        from_seq = log.tree.size + 1
        entry = self.append(
            party,
            "key-rotation",
            {"role": "log", "vkey": new.verifier.vkey(), "from_seq": from_seq},
        )
        log.pending = (from_seq, new)
        return entry

    def rotate_cosigner(self, party: str) -> Entry:
        """Announce a new cosigner key; the party's next receipts use it."""
        self.cosigner_generation[party] += 1
        old = self.cosigners[party]
        new = seeded_key(old.name, KEY_TYPE_COSIGNATURE, self.seed, self.cosigner_generation[party])
        from_seq = self.logs[party].tree.size + 1
        entry = self.append(
            party,
            "key-rotation",
            {"role": "cosigner", "vkey": new.verifier.vkey(), "from_seq": from_seq},
        )
        self.cosigners[party] = new
        return entry

    def export(self, exported_by: str = "jcg", order: tuple[str, ...] = PARTIES) -> dict[str, Any]:
        """The evidence file's JSON value, in the format ``Ledger.export_evidence()`` writes."""
        return {
            "format": "seabridge-evidence/v1",
            "exported": format_timestamp(self.now_ms),
            "exported_by": exported_by,
            "keys": [{**key, "from_seq": 0} for key in self.initial_keys],
            "logs": [
                {
                    "origin": self.logs[p].origin,
                    "entries": [
                        {"seq": seq, "entry": b64(data), "sig": b64(sig)}
                        for seq, (data, sig) in enumerate(self.logs[p].entries)
                    ],
                    "checkpoints": list(self.logs[p].checkpoints),
                    "cosignatures": [dict(c) for c in self.logs[p].cosignatures],
                }
                for p in order
            ],
            "evidence": [],
        }


def conversation(seed: int = 0, rounds: int = 8, *, rotate: bool = True) -> Kit:
    """A varied, valid exchange of ``rounds`` rounds between jcg and ccg."""
    kit = Kit(seed)
    rng = kit.rng
    waiting: list[tuple[str, int, str]] = []  # (party, seq, deadline) with no answer
    for number in range(rounds):
        if rotate and number == rounds // 2:
            kit.rotate_log_key("jcg")
            kit.checkpoint("jcg")
            kit.tick(5)
            kit.rotate_cosigner("ccg")
            kit.checkpoint("ccg")
        sender = rng.choice(PARTIES)
        receiver = other(sender)
        kit.tick(rng.randrange(5, 400))
        _deadlines_missed(kit, waiting)
        choice = rng.random()
        if choice < 0.12:
            kit.append(sender, "heartbeat", rng.choice([{}, {"note": "hourly test"}]))
            kit.checkpoint(sender)
            continue
        if choice < 0.2:
            proposal = kit.append(
                sender,
                "agreement",
                {"role": "proposal", "document": "rulebook ecs 1", "sha256": "ab" * 32},
            )
            kit.checkpoint(sender)
            kit.tick(rng.randrange(30, 300))
            kit.append(
                receiver,
                "agreement",
                {"role": "countersignature", "document": "rulebook ecs 1", "sha256": "ab" * 32},
                refs=(kit.ref(sender, proposal.seq),),
            )
            kit.checkpoint(receiver)
            continue
        kind = "escalation" if choice > 0.85 and kit.logs[sender].tree.size else "notification"
        body: dict[str, Any] = dict(MESSAGE)
        refs: tuple[Ref, ...] = ()
        if kind == "escalation":
            body["level"] = rng.randint(2, 4)
            refs = (kit.ref(sender, rng.randrange(kit.logs[sender].tree.size)),)
        deadline = None
        if rng.random() < 0.7:
            deadline = format_timestamp(kit.now_ms + DEADLINE_S * 1000)
        message = kit.append(sender, kind, body, refs=refs, deadline=deadline, lang="ja")
        if rng.random() < 0.3:  # a batch of two before the checkpoint
            kit.append(sender, "note", {**MESSAGE, "marker": "INFORMATION"})
        kit.checkpoint(sender)
        if deadline is not None and rng.random() < 0.25:
            waiting.append((sender, message.seq, deadline))
            continue
        kit.tick(rng.randrange(10, 600))
        answer_refs = (kit.ref(sender, message.seq),)
        if rng.random() < 0.7:
            ack = rng.choice([{}, {"text": "受領", "text_en": "Received"}])
            kit.append(receiver, "ack", ack, refs=answer_refs)
        else:
            kit.append(receiver, "reply", {**MESSAGE, "marker": "ANSWER"}, refs=answer_refs)
        kit.checkpoint(receiver)
    kit.tick(DEADLINE_S + 60)
    _deadlines_missed(kit, waiting)
    for party in PARTIES:  # the last checkpoints are always cosigned
        kit.tick(1)
        kit.checkpoint(party)
    return kit


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _deadlines_missed(kit: Kit, waiting: list[tuple[str, int, str]]) -> None:
    for item in list(waiting):
        party, seq, deadline = item
        if parse_timestamp(deadline) < kit.now_ms:
            kit.append(
                party, "deadline-missed", {"deadline": deadline}, refs=(kit.ref(party, seq),)
            )
            kit.checkpoint(party)
            waiting.remove(item)


def clean_evidence(seed: int = 0, rounds: int = 8) -> dict[str, Any]:
    """The evidence file of :func:`conversation`, exported by jcg."""
    return conversation(seed, rounds).export()
