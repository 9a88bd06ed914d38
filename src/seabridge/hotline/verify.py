"""Evidence verification (§5.11): re-derive a record from its bytes and public keys.

:func:`verify_evidence` checks a parsed :class:`~seabridge.hotline.evidence.Evidence` and
returns a :class:`~seabridge.hotline.findings.Report` locating each problem at the entry where
the record goes wrong, instead of refusing the file. Steps 0-4 and 7 (keys, entries, signatures,
checkpoints, cosignatures, receipts) are here; steps 5-6 and the evidence rows are in
:mod:`~seabridge.hotline.verify_links`. Nothing here trusts the unsigned ``exported`` fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from seabridge.errors import MalformedError, VerificationError
from seabridge.hotline.entries import Entry, parse_timestamp, verify_entry
from seabridge.hotline.evidence import (
    DEFAULT_SKEW_S,
    EntryRecord,
    Evidence,
    KeyRecord,
    LogRecord,
    b64,
)
from seabridge.hotline.findings import Finding, LogStats, Receipt, Report
from seabridge.hotline.keys import Verifier, parse_vkey
from seabridge.hotline.merkle import MerkleTree, leaf_hash
from seabridge.hotline.notes import Checkpoint, open_checkpoint, split_note, verify_cosignature
from seabridge.hotline.verify_links import cross_log, deadlines, evidence_rows

__all__ = [
    "Finding",
    "LogStats",
    "Receipt",
    "Report",
    "known_keys",
    "verify_evidence",
]


def verify_evidence(
    ev: Evidence,
    trusted: Sequence[Verifier] | None = None,
    *,
    skew_threshold_s: int = DEFAULT_SKEW_S,
) -> Report:
    """Re-derive everything in ``ev`` from its bytes and keys (§5.11 steps 1-7).

    Args:
        ev: the parsed file.
        trusted: the configured keys; every key listed in the file must be among them
            ("untrusted key" problem otherwise). None: the file's own keys are used, and the
            report says so.
        skew_threshold_s: warn when an entry's ``created`` and its first receipt differ more.
    """
    return Verification(ev, trusted, skew_threshold_s).run()


def known_keys(ev: Evidence, origin: str) -> list[Verifier]:
    """The keys of ``origin``'s log: its log keys (the listed one, then those announced by
    rotation entries whose signatures verify) and the cosigner keys of its checkpoints."""
    verification = Verification(ev, None, DEFAULT_SKEW_S)
    verification._keys()
    for state in verification.states.values():
        verification._entries(state)
    found = verification.states.get(origin)
    log_keys = [] if found is None else [key for _, key in found.timeline]
    return log_keys + verification._cosigners(origin)


class LogState:
    """One log while it is verified."""

    def __init__(self, rank: int, record: LogRecord) -> None:
        self.rank = rank
        self.record = record
        self.origin = record.origin
        self.tree = MerkleTree()
        self.verified: dict[int, Entry] = {}
        self.timeline: list[tuple[int, Verifier]] = []  # log keys by from_seq, ascending
        self.receipts: list[tuple[int, int, str]] = []  # (size, time, cosigner)
        self.signed_sizes: list[int] = []

    @property
    def size(self) -> int:
        return self.tree.size

    def key_at(self, seq: int) -> Verifier | None:
        found = None
        for from_seq, verifier in self.timeline:
            if from_seq <= seq:
                found = verifier
        return found


class Verification:
    def __init__(self, ev: Evidence, trusted: Sequence[Verifier] | None, skew_s: int) -> None:
        self.ev = ev
        self.trusted = None if trusted is None else set(trusted)
        self.skew_ms = skew_s * 1000
        self.states = {log.origin: LogState(i, log) for i, log in enumerate(ev.logs)}
        self.found: list[tuple[int, int, int, Finding]] = []
        self.warned: list[tuple[int, int, int, Finding]] = []
        self.initial_cosigners: dict[str, list[Verifier]] = defaultdict(list)
        self.announced_cosigners: list[Verifier] = []
        self.listed_later: list[KeyRecord] = []

    # findings, kept with a sort key: (log rank, position, arrival)
    def _at(self, origin: str, seq: int | None, pos: int | None) -> tuple[int, int]:
        state = self.states.get(origin)
        rank = state.rank if state is not None else len(self.states)
        position = seq if pos is None else pos
        return rank, -1 if position is None else position

    def problem(
        self, origin: str, seq: int | None, check: str, detail: str, pos: int | None = None
    ) -> None:
        rank, position = self._at(origin, seq, pos)
        self.found.append((rank, position, len(self.found), Finding(origin, seq, check, detail)))

    def warn(
        self, origin: str, seq: int | None, check: str, detail: str, pos: int | None = None
    ) -> None:
        rank, position = self._at(origin, seq, pos)
        self.warned.append((rank, position, len(self.warned), Finding(origin, seq, check, detail)))

    def run(self) -> Report:
        self._keys()
        for state in self.states.values():
            self._entries(state)
        self._later_keys()
        for state in self.states.values():
            self._checkpoints(state)
            self._cosignatures(state)
        for state in self.states.values():
            cross_log(self, state)
        deadlines(self)
        stats = tuple(self._stats(state) for state in self.states.values())
        evidence_rows(self)
        return Report(
            problems=tuple(f for *_, f in sorted(self.found, key=lambda x: x[:3])),
            warnings=tuple(f for *_, f in sorted(self.warned, key=lambda x: x[:3])),
            logs=stats,
            keys_source="file" if self.trusted is None else "trusted",
            exported=self.ev.exported,
            exported_by=self.ev.exported_by,
        )

    # step 0: keys ---------------------------------------------------------------------------

    def _keys(self) -> None:
        for key in self.ev.keys:
            if self.trusted is not None and key.verifier not in self.trusted:
                self.problem(
                    key.origin,
                    None,
                    "untrusted key",
                    f"{key.role} key {key.verifier.vkey()} is not among the configured keys",
                )
            state = self.states.get(key.origin)
            if state is None:
                self.warn(key.origin, None, "key", f"{key.role} key for a log the file lacks")
            if key.from_seq > 0:
                self.listed_later.append(key)
            elif key.role == "cosigner":
                self.initial_cosigners[key.origin].append(key.verifier)
            elif state is not None and state.timeline:
                self.problem(key.origin, None, "key", "two log keys are listed from seq 0")
            elif state is not None:
                state.timeline.append((0, key.verifier))
        for state in self.states.values():
            if not state.timeline:
                self.problem(state.origin, None, "key", "no log key from seq 0 for this log")

    def _later_keys(self) -> None:
        """Keys listed from a later seq must be the ones the log's rotations announced."""
        for key in self.listed_later:
            state = self.states.get(key.origin)
            if key.role == "log":
                announced = state is not None and (key.from_seq, key.verifier) in state.timeline
            else:
                announced = key.verifier in self.announced_cosigners
            if not announced:
                self.problem(
                    key.origin,
                    None,
                    "key",
                    f"{key.role} key {key.verifier.vkey()} listed from seq {key.from_seq} is "
                    "not announced by a verified key-rotation entry",
                )

    def _cosigners(self, origin: str) -> list[Verifier]:
        initial = self.initial_cosigners.get(origin, [])
        names = {v.name for v in initial}
        return initial + [v for v in self.announced_cosigners if v.name in names]

    # steps 1-2: entries -----------------------------------------------------------------------

    def _entries(self, state: LogState) -> None:
        msg_ids: dict[str, int] = {}
        by_seq: dict[int, tuple[bytes, bool]] = {}
        for i, record in enumerate(state.record.entries):
            leaf = leaf_hash(record.entry)
            try:
                entry = Entry.from_bytes(record.entry)
            except MalformedError as exc:
                self.problem(state.origin, i, "entry", f"entry bytes do not parse: {exc}")
                state.tree.append(leaf)
                continue
            if record.seq != i or entry.seq != i:
                self.problem(
                    state.origin,
                    i,
                    "seq",
                    f"position {i} holds an entry labelled seq {record.seq} and signed as seq "
                    f"{entry.seq}; seq must run 0, 1, 2, ... without gaps",
                )
            if entry.log != state.origin:
                self.problem(state.origin, i, "log", f"the entry is signed for log {entry.log}")
            signed = self._signature(state, i, entry, record)
            earlier = by_seq.get(entry.seq)
            if earlier is None:
                by_seq[entry.seq] = (record.entry, signed)
            elif earlier[0] != record.entry and earlier[1] and signed:
                self.problem(
                    state.origin,
                    entry.seq,
                    "equivocation",
                    f"two different entries for seq {entry.seq}, both signed by the log key",
                )
            if entry.prev_root != state.tree.root():
                self.problem(
                    state.origin, i, "prev_root", "prev_root is not the root of the entries before"
                )
            if entry.msg_id in msg_ids:
                self.problem(
                    state.origin,
                    i,
                    "msg_id",
                    f"msg_id {entry.msg_id!r} is used already by seq {msg_ids[entry.msg_id]}",
                )
            else:
                msg_ids[entry.msg_id] = i
            state.tree.append(leaf)
            if signed and entry.seq == i and entry.log == state.origin:
                state.verified[i] = entry
                if entry.kind == "key-rotation":
                    self._rotation(state, entry)

    def _signature(self, state: LogState, i: int, entry: Entry, record: EntryRecord) -> bool:
        key = state.key_at(entry.seq)
        if key is None:
            self.problem(state.origin, i, "signature", "no log key is known for this seq")
            return False
        try:
            verify_entry(record.entry, record.sig, key)
        except VerificationError as exc:
            self.problem(
                state.origin,
                i,
                "signature",
                f"{exc} (the log key valid at seq {entry.seq} is {key.key_id.hex()})",
            )
            return False
        return True

    def _rotation(self, state: LogState, entry: Entry) -> None:
        role, vkey, from_seq = (entry.body[name] for name in ("role", "vkey", "from_seq"))
        verifier = parse_vkey(str(vkey))  # Entry validated it
        assert isinstance(from_seq, int)
        if role == "cosigner":
            self.announced_cosigners.append(verifier)
        elif from_seq <= state.timeline[-1][0]:
            self.problem(
                state.origin,
                entry.seq,
                "key rotation",
                f"new log key from seq {from_seq}, not after the current key's seq "
                f"{state.timeline[-1][0]}",
            )
        else:
            state.timeline.append((from_seq, verifier))

    # steps 3-4, 7: checkpoints and cosignatures ---------------------------------------------

    def _checkpoints(self, state: LogState) -> None:
        n = state.size
        roots: dict[int, set[bytes]] = defaultdict(set)
        for j, note in enumerate(state.record.checkpoints):
            where = f"checkpoints[{j}]"
            try:
                checkpoint = Checkpoint.parse(split_note(note)[0])
            except MalformedError as exc:
                self.problem(state.origin, None, "checkpoint", f"{where}: {exc}", pos=n)
                continue
            size, pos = checkpoint.size, checkpoint.size - 1
            if checkpoint.origin != state.origin:
                self.problem(
                    state.origin, None, "checkpoint", f"{where} is for {checkpoint.origin}", pos
                )
                continue
            keys = {state.key_at(size - 1), state.key_at(size)} - {None}
            try:
                open_checkpoint(note, [k for k in keys if k is not None])
            except (MalformedError, VerificationError) as exc:
                self.problem(state.origin, None, "checkpoint", f"{where} (size {size}): {exc}", pos)
                continue
            roots[size].add(checkpoint.root)
            state.signed_sizes.append(size)
            if size > n:
                self.problem(
                    state.origin,
                    n,
                    "truncated",
                    f"{where} is signed for size {size}, but the file holds {n} entries",
                )
            elif checkpoint.root != state.tree.root(size):
                self.problem(
                    state.origin,
                    None,
                    "inconsistent checkpoint",
                    f"{where}: the log key signed root {b64(checkpoint.root)} for size {size}; "
                    f"the entries give {b64(state.tree.root(size))} (fork, rollback or "
                    "rewritten entries)",
                    pos,
                )
        for size, found in sorted(roots.items()):
            if len(found) > 1:
                self.problem(
                    state.origin,
                    None,
                    "equivocation",
                    f"{len(found)} checkpoints of size {size} signed with different roots",
                    size - 1,
                )
        covered = max(state.signed_sizes, default=0)
        if covered < n:
            self.warn(
                state.origin,
                covered,
                "checkpoint",
                f"entries {covered}..{n - 1} have no checkpoint",
            )

    def _cosignatures(self, state: LogState) -> None:
        n = state.size
        keys = self._cosigners(state.origin)
        for k, cosig in enumerate(state.record.cosignatures):
            where = f"cosignatures[{k}] by {cosig.cosigner} for size {cosig.size}"
            pos = cosig.size - 1
            candidates = [v for v in keys if v.name == cosig.cosigner]
            if not candidates:
                self.problem(
                    state.origin, None, "cosignature", f"{where}: no such cosigner key", pos
                )
                continue
            if cosig.size > n:
                self.problem(state.origin, n, "truncated", f"{where}: the file holds {n} entries")
                continue
            checkpoint = Checkpoint(state.origin, cosig.size, state.tree.root(cosig.size))
            errors: list[str] = []
            time_s = None
            for verifier in candidates:
                try:
                    time_s = verify_cosignature(checkpoint, cosig.line, verifier)
                    break
                except (MalformedError, VerificationError) as exc:
                    errors.append(str(exc))
            if time_s is None:
                self.problem(
                    state.origin,
                    None,
                    "cosignature",
                    f"{where} does not verify over the log's root at that size: {errors[0]}",
                    pos,
                )
            elif time_s != cosig.time:
                self.problem(
                    state.origin,
                    None,
                    "cosignature",
                    f"{where}: time field {cosig.time} is not the signed time {time_s}",
                    pos,
                )
            else:
                state.receipts.append((cosig.size, time_s, cosig.cosigner))

    # receipts, skew, stats ------------------------------------------------------------------

    def _stats(self, state: LogState) -> LogStats:
        first = _first_receipts(state.receipts, state.size)
        late = [
            (abs(first_at[0] * 1000 - parse_timestamp(entry.created)), seq)
            for seq, entry in state.verified.items()
            if (first_at := first[seq]) is not None
        ]
        skewed = [(gap, seq) for gap, seq in late if gap > self.skew_ms]
        if skewed:
            gap, seq = max(skewed)
            self.warn(
                state.origin,
                min(s for _, s in skewed),
                "clock skew",
                f"{len(skewed)} entries are created more than {self.skew_ms // 1000} s from "
                f"their first receipt (largest {gap // 1000} s, at seq {seq}): skewed clocks "
                "or late delivery",
            )
        receipts: list[Receipt] = []
        for seq, item in enumerate(first):
            if item is None:
                continue
            if (
                receipts
                and receipts[-1].last_seq == seq - 1
                and (
                    receipts[-1].time,
                    receipts[-1].cosigner,
                )
                == item
            ):
                last = receipts[-1]
                receipts[-1] = Receipt(last.first_seq, seq, last.time, last.cosigner)
            else:
                receipts.append(Receipt(seq, seq, item[0], item[1]))
        record = state.record
        return LogStats(
            origin=state.origin,
            entries=len(record.entries),
            checkpoints=len(record.checkpoints),
            cosignatures=len(record.cosignatures),
            size=state.size,
            root=b64(state.tree.root()),
            receipts=tuple(receipts),
        )


def _first_receipts(
    receipts: Sequence[tuple[int, int, str]], size: int
) -> list[tuple[int, str] | None]:
    """Per seq, the earliest (time, cosigner) among cosignatures of a size above it."""
    ordered = sorted(receipts)
    first: list[tuple[int, str] | None] = [None] * size
    best: tuple[int, str] | None = None
    index = len(ordered) - 1
    for seq in range(size - 1, -1, -1):
        while index >= 0 and ordered[index][0] > seq:
            _, time_s, cosigner = ordered[index]
            if best is None or time_s < best[0]:
                best = (time_s, cosigner)
            index -= 1
        first[seq] = best
    return first
