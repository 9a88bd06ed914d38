"""S10 of ``domain/hotline-protocol.md`` §7: the hotline's parsers under mutational fuzzing.

Every target runs the seeded fuzzer of ``fuzzing.py`` for ``SEABRIDGE_FUZZ_SECONDS`` (10 s by
default: "10 s of fuzzing per parser"; ``make fuzz`` gives 60) on valid artefacts built with
``evidence_kit`` and ``ledger_kit``. A target may return or refuse with the errors its docstring
names; any other exception, or a call over 1 s of CPU time, fails the test with the reproducing
input in hex and the seed (``SEABRIDGE_FUZZ_SEED``).

Inputs reach each parser the way the program feeds it: push bodies through ``json.loads`` as
``POST /v1/push`` does, proofs and evidence files through ``loads_json`` as the CLI does,
notes and vkeys as text (invalid UTF-8 becomes lone surrogates, as a JSON ``\\udcxx`` escape
would make them). ``Ledger.receive_push`` runs end to end against a receiver in a temporary
directory: besides never raising anything but a ``LedgerError``, a refused body must leave
every ledger table as it was, and an accepted one must add exactly the entries up to the size
it cosigns, with a cosignature that verifies.

Known bugs (:data:`KNOWN`, found by this fuzzer, to be fixed in their modules) are counted and
shown in the summary instead of failing every run; each has a strict-xfail reproducer at the
end of this file, which starts to XPASS (and fail) once the bug is fixed: then delete both.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from evidence_kit import Kit, conversation
from fuzzing import FuzzStats, fuzz
from ledger_kit import START_MS, cosigner_key, ledger_pair, message, open_ledger

from seabridge.clock import ManualClock
from seabridge.errors import LedgerError, MalformedError, VerificationError
from seabridge.hotline.canonical import parse_canonical
from seabridge.hotline.entries import Entry
from seabridge.hotline.evidence import loads_evidence, loads_json, parse_evidence, verify_evidence
from seabridge.hotline.keys import KEY_TYPE_NOTE, SigningKey, Verifier, parse_vkey
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.notes import Checkpoint, open_checkpoint, split_note, verify_cosignature
from seabridge.hotline.proofs import build_proof_from_evidence, verify_proof
from seabridge.hotline.push import parse_push

SECONDS = float(os.environ.get("SEABRIDGE_FUZZ_SECONDS", "10"))
SEED = int(os.environ.get("SEABRIDGE_FUZZ_SEED", "20260505"))
CALL_LIMIT_S = (
    1.0  # CPU time: a robustness bound (the slowest seed call is ~10 ms), not a speed test
)
KNOWN: dict[str, str] = {}
PARSE_ERRORS = (MalformedError,)
CHECK_ERRORS = (MalformedError, VerificationError)
TABLES = ("log", "tree", "checkpoints", "cosigs", "keys", "refs")
OWN = "jcg/hotline/ccg"


class NotJsonError(Exception):
    """The input is not JSON at all: refused before any Seabridge parser (HTTP 400)."""


def _json(data: bytes) -> object:
    """What the federation route does first: ``json.loads``, 400 on ValueError/RecursionError."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise NotJsonError from None


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Corpus:
    """Valid artefacts of one kit conversation, and the keys that verify them."""

    kit: Kit
    entries: list[bytes]
    notes: list[bytes]
    cosigned: list[bytes]  # checkpoint text + cosignature line
    vkeys: list[bytes]
    log_keys: list[Verifier]
    cosigner_keys: list[Verifier]
    evidence: list[bytes]
    proofs: list[bytes]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    kit = conversation(5, 8)  # both key rotations, acks, replies, deadlines, agreements
    export = kit.export()
    ev = parse_evidence(export)
    entries, notes, cosigned = [], [], []
    for log in kit.logs.values():
        entries += [data for data, _ in log.entries]
        notes += [note.encode() for note in log.checkpoints]
        by_size = {Checkpoint.parse(split_note(n)[0]).size: n for n in log.checkpoints}
        for item in log.cosignatures:
            body = split_note(by_size[item["size"]])[0]
            cosigned.append((body + item["line"]).encode())
    keys = {record.verifier for record in ev.keys}
    for data in entries:
        parsed = Entry.from_bytes(data)
        if parsed.kind == "key-rotation":
            keys.add(parse_vkey(str(parsed.body["vkey"])))
    proofs = [
        json.dumps(build_proof_from_evidence(ev, log.origin, seq)).encode()
        for log in ev.logs
        for seq in range(0, len(log.entries), 3)
    ]
    return Corpus(
        kit,
        entries,
        notes,
        cosigned,
        sorted(key.vkey().encode() for key in keys),
        [key for key in keys if key.key_type == KEY_TYPE_NOTE],
        [key for key in keys if key.key_type != KEY_TYPE_NOTE],
        # Small files besides the full one: more executions per second, same code paths.
        [json.dumps(c.export()).encode() for c in (kit, conversation(6, 3), conversation(7, 2))],
        proofs,
    )


def _check(stats: FuzzStats, seeds: int) -> None:
    print(stats.summary())
    assert not stats.failures, stats.report()
    assert stats.executions > seeds, "the time budget ran out before any mutated input"
    assert sum(stats.refused.values()) > 0, "no mutated input was refused: is the target checking?"


def _run(
    name: str, target: Callable[[bytes], object], seeds: list[bytes], **options: Any
) -> FuzzStats:
    for data in seeds:  # the seeds are valid: the fuzzer starts from the right place
        target(data)
    stats = fuzz(
        target, seeds, SECONDS, SEED, name=name, call_limit_s=CALL_LIMIT_S, known=KNOWN, **options
    )
    _check(stats, len(seeds))
    return stats


# --- parsers ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_entry_from_bytes(corpus: Corpus) -> None:
    _run("Entry.from_bytes", Entry.from_bytes, corpus.entries, allowed=PARSE_ERRORS)


@pytest.mark.slow
def test_parse_canonical(corpus: Corpus) -> None:
    seeds = [*corpus.entries, b'{"a":[1,-2,"\xc3\xa9",null,true,{"b":{}}]}']
    _run("parse_canonical", parse_canonical, seeds, allowed=PARSE_ERRORS)


@pytest.mark.slow
def test_open_checkpoint(corpus: Corpus) -> None:
    def target(data: bytes) -> None:
        open_checkpoint(_text(data), corpus.log_keys)

    _run("notes.open_checkpoint", target, corpus.notes, allowed=CHECK_ERRORS)


@pytest.mark.slow
def test_verify_cosignature(corpus: Corpus) -> None:
    def target(data: bytes) -> None:
        text = _text(data)
        cut = -1
        for _ in range(3):  # the checkpoint is the first three lines
            cut = text.find("\n", cut + 1)
            if cut < 0:
                raise MalformedError("no checkpoint text")
        checkpoint = Checkpoint.parse(text[: cut + 1])
        results = []
        for key in corpus.cosigner_keys:
            try:
                results.append(verify_cosignature(checkpoint, text[cut + 1 :], key))
            except VerificationError:
                continue
        if not results:
            raise VerificationError("no cosigner key verifies the line")

    _run("notes.verify_cosignature", target, corpus.cosigned, allowed=CHECK_ERRORS)


@pytest.mark.slow
def test_parse_vkey(corpus: Corpus) -> None:
    def target(data: bytes) -> None:
        parse_vkey(_text(data))

    _run("keys.parse_vkey", target, corpus.vkeys, allowed=PARSE_ERRORS)


@pytest.mark.slow
def test_verify_proof(corpus: Corpus) -> None:
    def target(data: bytes) -> None:
        value = loads_json(data, "proof")  # as `seabridge hotline verify-proof` reads a file
        if not isinstance(value, dict):
            raise MalformedError("a proof is a JSON object")
        verify_proof(value)

    _run("proofs.verify_proof", target, corpus.proofs, allowed=CHECK_ERRORS, structured=True)


@pytest.mark.slow
def test_parse_and_verify_evidence(corpus: Corpus) -> None:
    def target(data: bytes) -> None:
        ev = loads_evidence(data)  # MalformedError: the envelope is refused
        try:
            verify_evidence(ev)  # reports problems; never raises
        except Exception as exc:
            raise AssertionError(f"verify_evidence raised {type(exc).__name__}: {exc}") from exc

    _run("evidence.verify_evidence", target, corpus.evidence, allowed=PARSE_ERRORS, structured=True)


# --- push bodies ------------------------------------------------------------------------------


ROTATED = SigningKey.from_seed("jcg/hotline", KEY_TYPE_NOTE, hashlib.sha256(b"rotated").digest())


@pytest.fixture(scope="module")
def pushes(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Push bodies jcg sent ccg: 0->3, 3->5 (with a proof), a log-key rotation, a heartbeat.

    Keys, clock and msg_ids are fixed, so the bodies (and the fuzzed inputs) are the same in
    every run.
    """
    bodies = []
    with ledger_pair(tmp_path_factory.mktemp("pushes")) as pair:

        def push() -> None:
            body = pair.jcg.push_request("ccg", heartbeat=True)
            assert body is not None
            bodies.append(json.dumps(body).encode())
            pair.jcg.accept_response("ccg", pair.ccg.receive_push(body))
            pair.clock.advance(1)

        for first, until in ((0, 3), (3, 5)):
            for i in range(first, until):
                text = message(f"Message {i}")
                pair.jcg.send("ccg", "notification", text, msg_id=f"m{i}", deadline_ms=START_MS)
                pair.clock.advance(1)
            push()
        pair.jcg.rotate_key("log", ROTATED)
        push()
        push()  # a heartbeat: the same checkpoint again, cosigned afresh
    return bodies


@pytest.mark.slow
def test_parse_push(pushes: list[bytes]) -> None:
    def target(data: bytes) -> None:
        parse_push(_json(data))

    _run("push.parse_push", target, pushes, allowed=(*PARSE_ERRORS, NotJsonError), structured=True)


class Receiver:
    """ccg's ledger receiving fuzzed pushes, with the oracle on what it stores.

    Before each body the receiver is put in the state the body claims to follow on from, when
    that is a state the real pushes went through (snapshots by size), so mutated bodies reach
    the entry, root and proof checks instead of stopping at 409.
    """

    def __init__(self, directory: Path, snapshots: dict[int, Path]) -> None:
        self.directory, self.snapshots = directory, snapshots
        self.path = directory / "state.sqlite"
        self.ledger = self._open()

    def _open(self) -> Ledger:
        return open_ledger(self.directory, "ccg", ManualClock(START_MS + 600_000))

    def rows(self) -> dict[str, int]:
        with closing(sqlite3.connect(self.path)) as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
            counts["own"] = conn.execute(
                "SELECT count(*) FROM log WHERE origin = ?", (OWN,)
            ).fetchone()[0]
        return counts

    def restore(self, size: int) -> None:
        self.ledger.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.snapshots[size], self.path)
        self.ledger = self._open()

    def snapshot(self) -> None:
        target = self.directory.parent / f"snapshot-{self.rows()['own']}.sqlite"
        with closing(sqlite3.connect(self.path)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        self.snapshots[self.rows()["own"]] = target

    def __call__(self, data: bytes) -> None:
        body = _json(data)
        claimed = body.get("old_size") if isinstance(body, dict) else None
        before = self.rows()
        if type(claimed) is int and claimed in self.snapshots and claimed != before["own"]:
            self.restore(claimed)
            before = self.rows()
        try:
            answer = self.ledger.receive_push(body)
        except LedgerError:
            after = self.rows()
            if after != before:
                message = f"a refused body changed the tables: {before} -> {after}"
                raise AssertionError(message) from None
            raise
        self._accepted(answer, before)

    def _accepted(self, answer: dict[str, Any], before: dict[str, int]) -> None:
        after = self.rows()
        size, line = answer["size"], answer["cosignature"]
        if after["own"] != max(before["own"], size):
            raise AssertionError(f"cosigned size {size}, but {before} -> {after} entries stored")
        with closing(sqlite3.connect(self.path)) as conn:
            (root,) = conn.execute(
                "SELECT root FROM checkpoints WHERE origin = ? AND size = ?", (OWN, size)
            ).fetchone()
        verify_cosignature(Checkpoint(OWN, size, root), line, cosigner_key("ccg").verifier)


@pytest.mark.slow
def test_receive_push_end_to_end(pushes: list[bytes], tmp_path: Path) -> None:
    receiver = Receiver(tmp_path / "ccg", {})
    receiver.snapshot()
    for body in pushes:  # the real pushes, in order: each state is kept
        receiver(body)
        receiver.snapshot()
    assert sorted(receiver.snapshots) == [0, 3, 5, 6]
    try:
        _run(
            "Ledger.receive_push",
            receiver,
            pushes,
            allowed=(LedgerError, NotJsonError),
            structured=True,
        )
    finally:
        receiver.ledger.close()


# --- bugs the fuzzer found: minimal reproducers (the fixed ones are regression tests) -------------

_VKEY = cosigner_key("ccg").verifier.vkey()


def test_k1_a_vkey_name_with_a_lone_surrogate_is_malformed() -> None:
    # JSON text can carry "\udc80" (evidence files, proofs, --key): the name passes
    # check_key_name, then Verifier.key_id cannot encode it.
    with pytest.raises(MalformedError):
        parse_vkey("\udc80" + _VKEY)


def test_k1_an_evidence_file_with_such_a_vkey_is_malformed() -> None:
    # `seabridge ledger verify --evidence FILE` prints a traceback and exits 1 ("tampering").
    export = conversation(0, 2).export()
    export["keys"][0]["vkey"] = "\udc80" + export["keys"][0]["vkey"]
    with pytest.raises(MalformedError):
        loads_evidence(json.dumps(export).encode())


def test_p1_a_proof_key_role_that_is_an_object_is_malformed(corpus: Corpus) -> None:
    # `seabridge ledger verify-proof FILE` prints a traceback and exits 1 (not 2).
    proof = json.loads(corpus.proofs[0])
    proof["keys"][0]["role"] = {}
    with pytest.raises(MalformedError):
        verify_proof(proof)


def test_e1_an_evidence_key_role_that_is_an_object_is_malformed() -> None:
    # `seabridge ledger verify --evidence FILE` prints a traceback and exits 1 ("tampering").
    export = conversation(0, 2).export()
    export["keys"][0]["role"] = {}
    with pytest.raises(MalformedError):
        loads_evidence(json.dumps(export).encode())
