"""Evidence verification across logs (§5.11 steps 5-6) and the file's evidence rows.

Step 5: references (``refs``) and peer vectors (``peers``) between the logs must match the
entries present. Step 6: deadlines, ``deadline-missed`` entries and the answers to them. Evidence
rows are problems when their blobs prove an equivocation by themselves, warnings otherwise.

Functions over the :class:`~seabridge.hotline.verify.Verification` in progress: they read its
verified logs and add findings to it; :meth:`Verification.run` calls them in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from seabridge.errors import MalformedError, VerificationError
from seabridge.hotline.entries import DEADLINE_KINDS, Entry, parse_timestamp, verify_entry
from seabridge.hotline.evidence import EvidenceRow, b64, b64decode_strict, loads_json
from seabridge.hotline.notes import Checkpoint, open_checkpoint, split_note

if TYPE_CHECKING:  # verify imports this module
    from seabridge.hotline.verify import LogState, Verification

__all__ = ["cross_log", "deadlines", "evidence_rows"]

_ANSWER_KINDS = frozenset({"ack", "reply"})
_BLOB_FIELDS = frozenset({"entry", "sig", "seq"})


# step 5: cross-log references ---------------------------------------------------------------


def cross_log(v: Verification, state: LogState) -> None:
    unresolved: dict[str, int] = defaultdict(int)
    mismatches: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for seq, entry in state.verified.items():
        for ref in entry.refs:
            target = v.states.get(ref.log)
            if target is None:
                unresolved[ref.log] += 1
                continue
            if ref.log == state.origin and ref.seq >= seq:
                v.problem(state.origin, seq, "ref", f"refs its own later entry #{ref.seq}")
            elif ref.seq >= target.size:
                v.problem(
                    ref.log,
                    target.size,
                    "truncated",
                    f"{state.origin}#{seq} refs #{ref.seq}; the file holds {target.size} entries",
                )
            elif target.tree.leaf(ref.seq) != ref.leaf:
                v.problem(
                    ref.log,
                    ref.seq,
                    "ref",
                    f"{state.origin}#{seq} refs this entry with leaf {b64(ref.leaf)}; the "
                    f"entry present hashes to {b64(target.tree.leaf(ref.seq))}",
                )
        for origin, (size, root) in entry.peers.items():
            target = v.states.get(origin)
            if target is None:
                unresolved[origin] += 1
            elif size > target.size:
                v.problem(
                    origin,
                    target.size,
                    "truncated",
                    f"{state.origin}#{seq} had verified {size} entries of this log; the file "
                    f"holds {target.size}",
                )
            elif target.tree.root(size) != root:
                detail = (
                    f"{state.origin}#{seq} had verified root {b64(root)} for size {size}; "
                    f"the entries give {b64(target.tree.root(size))}"
                )
                mismatches[origin].append((size, detail))
    for origin, found in mismatches.items():
        # one problem per (author, peer log): every later vector repeats the first one
        size, detail = min(found)
        more = f" (and {len(found) - 1} more peers vectors)" if len(found) > 1 else ""
        v.problem(origin, None, "peers", detail + more, size - 1)
    for origin, count in unresolved.items():
        v.warn(
            state.origin,
            None,
            "unresolved",
            f"{count} refs/peers point into {origin}, which this file does not hold",
        )


# step 6: deadlines --------------------------------------------------------------------------


def deadlines(v: Verification) -> None:
    answers: dict[tuple[str, int], list[tuple[str, int, Entry]]] = defaultdict(list)
    follow_ups: dict[tuple[str, int], list[tuple[str, int, Entry]]] = defaultdict(list)
    for state in v.states.values():
        for seq, entry in state.verified.items():
            for ref in entry.refs:
                if entry.kind in _ANSWER_KINDS and ref.log != state.origin:
                    answers[ref.log, ref.seq].append((state.origin, seq, entry))
                if entry.kind in ("deadline-missed", "escalation"):
                    follow_ups[ref.log, ref.seq].append((state.origin, seq, entry))
    for state in v.states.values():
        for seq, entry in state.verified.items():
            if entry.kind == "deadline-missed":
                _deadline_missed(v, state, seq, entry, answers)
        _open_deadlines(v, state, answers, follow_ups)


def _deadline_missed(
    v: Verification,
    state: LogState,
    seq: int,
    entry: Entry,
    answers: Mapping[tuple[str, int], list[tuple[str, int, Entry]]],
) -> None:
    ref = entry.refs[0]
    target_state = v.states.get(ref.log)
    target = None if target_state is None else target_state.verified.get(ref.seq)
    if target is None:
        return  # unresolved (warned) or a bad target (reported at the target)
    where = f"deadline-missed for {ref.log}#{ref.seq}"
    if target.deadline is None or target.kind not in DEADLINE_KINDS:
        v.problem(state.origin, seq, "deadline", f"{where}, a {target.kind} without deadline")
        return
    if entry.body.get("deadline") != target.deadline:
        v.problem(
            state.origin,
            seq,
            "deadline",
            f"{where} records deadline {entry.body.get('deadline')}, the entry says "
            f"{target.deadline}",
        )
    deadline_ms = parse_timestamp(target.deadline)
    if ref.log != state.origin:
        v.warn(state.origin, seq, "deadline", f"{where}: not the author's own entry")
    elif parse_timestamp(entry.created) < deadline_ms:
        v.problem(
            state.origin,
            seq,
            "deadline",
            f"{where} was written at {entry.created}, before the deadline {target.deadline}",
        )
    for origin, answer_seq, answer in answers.get((ref.log, ref.seq), []):
        if parse_timestamp(answer.created) <= deadline_ms:
            v.warn(
                state.origin,
                seq,
                "deadline",
                f"{where}: {origin}#{answer_seq} ({answer.kind}) is dated {answer.created}, "
                f"before the deadline {target.deadline} (late delivery or clock skew?)",
            )


def _open_deadlines(
    v: Verification,
    state: LogState,
    answers: Mapping[tuple[str, int], list[tuple[str, int, Entry]]],
    follow_ups: Mapping[tuple[str, int], list[tuple[str, int, Entry]]],
) -> None:
    if not state.verified:
        return
    last_ms = max(parse_timestamp(e.created) for e in state.verified.values())
    for seq, entry in state.verified.items():
        if entry.deadline is None:
            continue
        key = (state.origin, seq)
        missed = [f for f in follow_ups.get(key, []) if f[2].kind == "deadline-missed"]
        if len(missed) > 1:
            seqs = ", ".join(f"{o}#{s}" for o, s, _ in missed)
            v.warn(state.origin, seq, "deadline", f"deadline-missed recorded twice: {seqs}")
        if key in answers or key in follow_ups:
            continue
        if last_ms > parse_timestamp(entry.deadline):
            v.warn(
                state.origin,
                seq,
                "deadline",
                f"deadline {entry.deadline} passed with no ack or reply and no "
                "deadline-missed recorded",
            )


# evidence rows --------------------------------------------------------------------------


def evidence_rows(v: Verification) -> None:
    for i, row in enumerate(v.ev.evidence):
        proven = _prove(v, row)
        if proven is None:
            v.warn(
                v.ev.exported_by,
                None,
                "evidence",
                f"evidence[{i}] {row.kind}: {row.detail} (not proven by its blobs)",
            )
            continue
        origin, seq, what = proven
        v.problem(origin, seq, "equivocation", f"evidence[{i}] {row.kind}: {what}; {row.detail}")


def _prove(v: Verification, row: EvidenceRow) -> tuple[str, int | None, str] | None:
    """Two validly signed, different artefacts for one size or seq of one log, if any."""
    notes: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    entries: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    for blob in row.blobs:
        checkpoint = _signed_checkpoint(v, blob)
        if checkpoint is not None:
            notes[checkpoint.origin, checkpoint.size].add(checkpoint.root)
            continue
        entry = _signed_entry(v, blob)
        if entry is not None:
            entries[entry.log, entry.seq].add(entry.to_bytes())
    for (origin, seq), variants in entries.items():
        if len(variants) > 1:
            return origin, seq, f"two entries for seq {seq}, both signed by the log key"
    for (origin, size), variants in notes.items():
        if len(variants) > 1:
            return origin, None, f"two checkpoints of size {size} with different roots"
    return None


def _signed_checkpoint(v: Verification, blob: bytes) -> Checkpoint | None:
    try:
        checkpoint = Checkpoint.parse(split_note(blob.decode("utf-8"))[0])
        state = v.states.get(checkpoint.origin)
        if state is None:
            return None
        keys = {state.key_at(checkpoint.size - 1), state.key_at(checkpoint.size)} - {None}
        open_checkpoint(blob.decode("utf-8"), [k for k in keys if k is not None])
    except (UnicodeDecodeError, MalformedError, VerificationError):
        return None
    return checkpoint


def _signed_entry(v: Verification, blob: bytes) -> Entry | None:
    try:
        value = loads_json(blob, "blob")
        if not isinstance(value, dict) or not {"entry", "sig"} <= value.keys() <= _BLOB_FIELDS:
            return None
        data = b64decode_strict(value["entry"], "blob.entry")
        entry = Entry.from_bytes(data)
        state = v.states.get(entry.log)
        key = None if state is None else state.key_at(entry.seq)
        if key is None:
            return None
        verify_entry(data, b64decode_strict(value["sig"], "blob.sig"), key)
    except (MalformedError, VerificationError):
        return None
    return entry
