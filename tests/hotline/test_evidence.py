"""Evidence files (§5.11): parsing, writing, verification; S5 tamper detection at CI size.

The evidence comes from ``evidence_kit`` (both nodes written directly with entries, notes,
Merkle and keys), so every test knows exactly what a clean record is.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from evidence_kit import (
    DEADLINE_S,
    MESSAGE,
    PARTIES,
    Kit,
    b64,
    clean_evidence,
    conversation,
    seeded_key,
)

from seabridge.errors import LedgerError, MalformedError
from seabridge.hotline.entries import format_timestamp
from seabridge.hotline.evidence import (
    EVIDENCE_FORMAT,
    Evidence,
    dumps_evidence,
    load_evidence,
    loads_evidence,
    parse_evidence,
    write_evidence,
)
from seabridge.hotline.keys import KEY_TYPE_NOTE, parse_vkey
from seabridge.hotline.notes import Checkpoint, sign_checkpoint
from seabridge.hotline.verify import Report, verify_evidence

JCG, CCG = "jcg/hotline/ccg", "ccg/hotline/jcg"


def verify(data: dict[str, Any], **kwargs: Any) -> Report:
    return verify_evidence(parse_evidence(data), **kwargs)


def log_of(data: dict[str, Any], origin: str) -> dict[str, Any]:
    return next(log for log in data["logs"] if log["origin"] == origin)


# --- clean evidence ---------------------------------------------------------------------------


def test_the_kit_evidence_verifies_cleanly() -> None:
    kit = conversation(0, 10)
    report = verify(kit.export())
    assert report.ok, report.problems
    assert report.problems == () and report.warnings == ()
    assert report.first_bad is None
    assert report.keys_source == "file"
    for stats in report.logs:
        log = kit.logs[stats.origin.split("/")[0]]
        assert stats.entries == stats.size == log.tree.size
        assert stats.root == b64(log.tree.root())
        # every entry has a receipt (the last checkpoints are cosigned)
        assert all(stats.first_receipt(seq) is not None for seq in range(stats.size))
    lines = report.summary_lines()
    assert any(line.startswith("OK") for line in lines)
    assert any("not who wrote it" in line for line in lines)
    as_json = report.to_json()
    assert as_json["ok"] is True and as_json["first_bad"] is None
    json.dumps(as_json)


def test_the_kit_holds_every_kind_it_promises() -> None:
    kinds = set()
    for seed in range(10):
        for log in conversation(seed, 10).logs.values():
            kinds |= {entry.kind for entry in log.parsed}
    assert kinds >= {
        "notification",
        "ack",
        "reply",
        "escalation",
        "heartbeat",
        "key-rotation",
        "deadline-missed",
        "agreement",
        "note",
    }


def test_one_hundred_clean_bundles_have_no_false_positives() -> None:
    rng = random.Random(5)
    for seed in range(100):
        kit = conversation(seed, rng.randrange(2, 11), rotate=rng.random() < 0.7)
        order = tuple(rng.sample(PARTIES, 2))
        report = verify(kit.export(exported_by=rng.choice(PARTIES), order=order))
        assert report.ok, (seed, report.problems)
        assert report.warnings == (), (seed, report.warnings)


def test_trusted_keys_are_checked() -> None:
    kit = conversation(1, 6)
    data = kit.export()
    keys = [parse_vkey(key["vkey"]) for key in data["keys"]]
    report = verify(data, trusted=keys)
    assert report.ok and report.keys_source == "trusted"
    assert not any("not who wrote it" in line for line in report.summary_lines())

    stranger = seeded_key("jcg/hotline", KEY_TYPE_NOTE, seed=99)
    report = verify(data, trusted=[stranger.verifier, *keys[1:]])
    assert not report.ok
    assert report.problems[0].check == "untrusted key"
    assert report.first_bad == (JCG, None)


# --- file form ----------------------------------------------------------------------------


def test_round_trip_and_stable_bytes(tmp_path: Path) -> None:
    data = clean_evidence(2)
    ev = parse_evidence(data)
    assert parse_evidence(ev.to_json()) == ev
    assert ev.to_json() == data
    path = tmp_path / "evidence.json"
    write_evidence(data, path)
    assert load_evidence(path) == ev
    assert path.read_bytes() == dumps_evidence(ev) == dumps_evidence(data)
    write_evidence(ev, path)  # an Evidence is written the same way, over the old file
    assert path.read_bytes() == dumps_evidence(data)
    assert path.read_bytes().endswith(b"}\n")
    assert "\u2014 jcg/hotline ".encode() in path.read_bytes()  # UTF-8, not \\u escapes
    assert not list(tmp_path.glob(".*partial"))


def test_write_refuses_a_malformed_value_and_load_reports_io_errors(tmp_path: Path) -> None:
    data = clean_evidence(2)
    del data["keys"]
    with pytest.raises(MalformedError, match="missing keys"):
        write_evidence(data, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(LedgerError, match="cannot read"):
        load_evidence(tmp_path / "missing.json")


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


_DELETE = object()

MALFORMED = [
    (("format",), "seabridge-evidence/v2", "format"),
    (("exported",), "2026-13-01T00:00:00Z", "exported"),
    (("exported_by",), "JCG", "exported_by"),
    (("keys", 0, "role"), "witness", r"keys\[0\].role"),
    (("keys", 0, "vkey"), "jcg/hotline+00000000+AAAA", r"keys\[0\].vkey"),
    (("keys", 1, "from_seq"), -1, r"keys\[1\].from_seq"),
    (("keys", 0, "extra"), 1, r"keys\[0\]: unknown field extra"),
    (("logs", 0, "origin"), "jcg hotline", r"logs\[0\].origin"),
    (("logs", 1, "origin"), JCG, r"logs\[1\].origin: .* listed twice"),
    (("logs", 0, "entries", 2, "sig"), "not base64!", r"logs\[0\].entries\[2\].sig"),
    (("logs", 0, "entries", 2, "entry"), "", r"logs\[0\].entries\[2\].entry"),
    (("logs", 0, "entries", 2, "seq"), True, r"logs\[0\].entries\[2\].seq"),
    (("logs", 0, "entries", 2, "seq"), _DELETE, r"logs\[0\].entries\[2\]: missing seq"),
    (("logs", 0, "checkpoints", 0), 7, r"logs\[0\].checkpoints\[0\]"),
    (("logs", 0, "cosignatures", 0, "time"), "now", r"logs\[0\].cosignatures\[0\].time"),
    (("logs", 0, "cosignatures", 0, "cosigner"), "a b", r"cosignatures\[0\].cosigner"),
    (("evidence",), [{"kind": "x", "detail": 1, "blobs": []}], r"evidence\[0\].detail"),
    (("evidence",), [{"kind": "x", "detail": "", "blobs": ["%"]}], r"evidence\[0\].blobs\[0\]"),
]


@pytest.mark.parametrize(("path", "value", "names"), MALFORMED)
def test_malformed_envelopes_name_the_field(path: tuple[Any, ...], value: Any, names: str) -> None:
    data = clean_evidence(3)
    _set(path, value)(data)
    with pytest.raises(MalformedError, match=names):
        parse_evidence(data)


@pytest.mark.parametrize(
    "text",
    [b"", b"[]", b'{"format": 1.5}', b'{"a": 1, "a": 2}', b"\xff", b'{"x": NaN}'],
)
def test_bytes_that_are_not_strict_json_are_malformed(text: bytes) -> None:
    with pytest.raises(MalformedError):
        loads_evidence(text)


# --- S5: random single-byte mutations of the serialized file -----------------------------------


def _spans(value: Any) -> tuple[bytes, list[tuple[int, int, tuple[Any, ...]]]]:
    """Serialize like ``dumps_evidence`` and record the byte span of every scalar by its path."""
    parts: list[bytes] = []
    spans: list[tuple[int, int, tuple[Any, ...]]] = []
    size = 0

    def emit(text: str) -> None:
        nonlocal size
        data = text.encode()
        parts.append(data)
        size += len(data)

    def walk(item: Any, path: tuple[Any, ...], indent: int) -> None:
        pad = " " * (indent + 2)
        if isinstance(item, dict) and item:
            emit("{\n")
            for i, key in enumerate(sorted(item)):
                emit(f"{pad}{json.dumps(key)}: ")
                walk(item[key], (*path, key), indent + 2)
                emit(",\n" if i < len(item) - 1 else "\n")
            emit(" " * indent + "}")
        elif isinstance(item, list) and item:
            emit("[\n")
            for i, element in enumerate(item):
                emit(pad)
                walk(element, (*path, i), indent + 2)
                emit(",\n" if i < len(item) - 1 else "\n")
            emit(" " * indent + "]")
        else:
            start = size
            emit(json.dumps(item, ensure_ascii=False))
            spans.append((start, size, path))

    walk(value, (), 0)
    emit("\n")
    return b"".join(parts), spans


def _category(path: tuple[Any, ...], data: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """(category, origin, seq) of a scalar's path."""
    head = path[0]
    if head == "keys":
        return "keys", data["keys"][path[1]]["origin"], None
    if head == "evidence":
        return "syntax", None, None  # the empty list: its brackets
    if head != "logs":
        return ("unsigned" if head in ("exported", "exported_by") else head), None, None
    origin = data["logs"][path[1]]["origin"]
    if path[2] == "entries":
        return path[4], origin, path[3]  # entry, sig or seq
    if path[2] == "checkpoints":
        return "checkpoint", origin, None
    if path[2] == "cosignatures":
        return "cosignature", origin, None
    return "origin", origin, None


_PLAUSIBLE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= -:"
_ANY_BYTE = bytes(range(256))
SIGNED = ("entry", "sig", "seq", "checkpoint", "cosignature")
OTHER = ("keys", "origin", "format", "unsigned", "syntax")
CHUNKS = 4
PER_CHUNK = 300


@pytest.fixture(scope="module")
def serialized() -> tuple[dict[str, Any], bytes, dict[str, list[tuple[int, int, Any]]]]:
    data = conversation(0, 8).export()
    text, spans = _spans(data)
    assert text == dumps_evidence(data)  # the span map describes the real file
    by_category: dict[str, list[tuple[int, int, Any]]] = {}
    covered = bytearray(len(text))
    for start, end, path in spans:
        category, origin, seq = _category(path, data)
        by_category.setdefault(category, []).append((start, end, (origin, seq)))
        covered[start:end] = b"\x01" * (end - start)
    by_category["syntax"] = [(i, i + 1, (None, None)) for i, c in enumerate(covered) if not c]
    assert set(by_category) == set(SIGNED) | set(OTHER)
    return data, text, by_category


def _without_unsigned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ("exported", "exported_by")}
    return value


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_s5_random_single_byte_mutations(
    chunk: int, serialized: tuple[dict[str, Any], bytes, dict[str, list[Any]]]
) -> None:
    """Each mutation is detected, makes the file malformed, or changes only unsigned fields."""
    data, text, by_category = serialized
    rng = random.Random(1000 + chunk)
    counts = dict.fromkeys(("detected", "malformed", "same value", "unsigned field"), 0)
    weights = [0.15] * len(SIGNED) + [0.05] * len(OTHER)
    for _ in range(PER_CHUNK):
        category = rng.choices([*SIGNED, *OTHER], weights)[0]
        start, end, (origin, seq) = rng.choice(by_category[category])
        at = rng.randrange(start, end)
        mutated = bytearray(text)
        # mostly a plausible character (base64, digits), so the file often still parses
        alphabet = _PLAUSIBLE if rng.random() < 0.75 else _ANY_BYTE
        mutated[at] = rng.choice([b for b in alphabet if b != text[at]])
        where = f"{category} byte {at} ({text[at]:#04x} -> {mutated[at]:#04x})"
        try:
            ev = loads_evidence(bytes(mutated))
        except MalformedError:
            counts["malformed"] += 1
            continue
        report = verify_evidence(ev)
        if report.ok:
            value = json.loads(bytes(mutated))
            if value == data:
                counts["same value"] += 1  # whitespace for whitespace
            else:
                assert _without_unsigned(value) == _without_unsigned(data), where
                assert category == "unsigned", where
                counts["unsigned field"] += 1
            continue
        counts["detected"] += 1
        first = report.first_bad
        assert first is not None, where
        if category == "origin":
            assert first[0] in {log.origin for log in ev.logs} - {JCG, CCG}, where
        elif origin is not None:
            assert first[0] == origin, (where, report.problems)
            if category in ("entry", "sig", "seq"):
                assert first == (origin, seq), (where, report.problems)
    print(f"chunk {chunk}: {counts}")
    assert sum(counts.values()) == PER_CHUNK
    assert counts["detected"] >= PER_CHUNK // 3, counts
    assert counts["malformed"] >= PER_CHUNK // 10, counts


def test_s5_every_signed_field_mutation_is_caught(
    serialized: tuple[dict[str, Any], bytes, dict[str, list[Any]]],
) -> None:
    """Forty bytes each inside an entry, a signature, a checkpoint and a cosignature line."""
    _, text, by_category = serialized
    rng = random.Random(7)
    for category in ("entry", "sig", "checkpoint", "cosignature"):
        start, end, (origin, seq) = rng.choice(by_category[category])
        inside = range(start + 1, end - 1)  # within the quotes
        for at in rng.sample(inside, min(40, len(inside))):
            mutated = bytearray(text)
            mutated[at] = ord("A") if text[at] != ord("A") else ord("B")
            try:
                report = verify_evidence(loads_evidence(bytes(mutated)))
            except MalformedError:
                continue
            assert not report.ok, (category, at)
            assert report.first_bad is not None and report.first_bad[0] == origin
            if seq is not None:
                assert report.first_bad == (origin, seq)


STRUCTURAL = ["delete", "swap", "duplicate", "truncate"]


@pytest.mark.parametrize("change", STRUCTURAL)
def test_s5_structural_changes_name_the_first_bad_entry(change: str) -> None:
    data = conversation(0, 8).export()
    tried = 0
    for index, log in enumerate(data["logs"]):
        n = len(log["entries"])
        for k in range(n - (change == "swap")):
            changed = copy.deepcopy(data)
            entries = changed["logs"][index]["entries"]
            if change == "delete":
                del entries[k]
                expected = k
            elif change == "swap":
                entries[k], entries[k + 1] = entries[k + 1], entries[k]
                expected = k
            elif change == "duplicate":
                entries.insert(k + 1, dict(entries[k]))
                expected = k + 1
            else:
                del entries[k:]
                expected = k
            report = verify(changed)
            assert not report.ok, (change, log["origin"], k)
            assert report.first_bad == (log["origin"], expected), (k, report.problems[:3])
            tried += 1
    assert tried >= 10


def test_checkpoints_and_cosignatures_may_be_dropped_or_reordered() -> None:
    """They are receipts and tree heads: fewer of them is less evidence, not a contradiction."""
    data = conversation(0, 8).export()
    for log in data["logs"]:
        log["checkpoints"] = log["checkpoints"][::-1][:-1]
        log["cosignatures"] = log["cosignatures"][::-1][:-1]
    assert verify(data).ok


# --- equivocation, rollback, keys ---------------------------------------------------------


def test_two_checkpoints_of_one_size_with_different_roots_are_equivocation() -> None:
    kit = conversation(4, 6)
    log = kit.logs["ccg"]
    forged = sign_checkpoint(Checkpoint(log.origin, 2, b"\x07" * 32), log.key)
    data = kit.export()
    log_of(data, CCG)["checkpoints"].append(forged)
    report = verify(data)
    assert {p.check for p in report.problems} == {"equivocation", "inconsistent checkpoint"}
    assert report.first_bad == (CCG, None)


def test_two_entries_with_one_seq_are_equivocation() -> None:
    kit = conversation(5, 6)
    data = kit.export()
    n = kit.logs["jcg"].tree.size
    kit.append("jcg", "note", {**MESSAGE, "marker": "INFORMATION"}, seq=n)  # fine, new seq n
    twin = kit.export()
    # the same seq n twice: the real one (appended above) and another one signed for seq n
    other_kit = conversation(5, 6)
    other_kit.append("jcg", "heartbeat", {}, seq=n)
    fork = other_kit.export()
    entries = log_of(data, JCG)["entries"]
    entries.append(log_of(twin, JCG)["entries"][n])
    entries.append(log_of(fork, JCG)["entries"][n] | {"seq": n})
    report = verify(data)
    assert not report.ok
    assert report.first_bad == (JCG, n)
    assert any(p.check == "equivocation" and p.seq == n for p in report.problems)


def test_rollback_a_smaller_inconsistent_checkpoint_is_flagged() -> None:
    kit = conversation(6, 8)
    log = kit.logs["jcg"]
    older = conversation(60, 8).logs["jcg"]  # another history of the same log name
    size = min(older.tree.size, log.tree.size) - 1
    rolled_back = sign_checkpoint(Checkpoint(log.origin, size, older.tree.root(size)), log.key)
    data = kit.export()
    log_of(data, JCG)["checkpoints"].append(rolled_back)
    report = verify(data)
    assert not report.ok
    assert report.problems[0].check == "inconsistent checkpoint"
    assert report.first_bad == (JCG, None)


def test_entries_after_a_rotation_use_the_new_key_and_the_old_key_is_refused() -> None:
    kit = Kit(8)
    kit.append("jcg", "heartbeat", {})
    old = kit.logs["jcg"].key
    rotation = kit.rotate_log_key("jcg")
    kit.checkpoint("jcg")
    kit.append("jcg", "heartbeat", {})
    kit.checkpoint("jcg")
    assert kit.logs["jcg"].key != old
    good = verify(kit.export())
    assert good.ok, good.problems
    kit.append("jcg", "heartbeat", {}, sign_with=old)
    kit.checkpoint("jcg")
    report = verify(kit.export())
    bad_seq = rotation.seq + 2
    assert report.first_bad == (JCG, bad_seq)
    assert [p.check for p in report.problems] == ["signature"]


def test_a_forged_rotation_does_not_take_effect() -> None:
    kit = Kit(9)
    kit.append("jcg", "heartbeat", {})
    impostor = seeded_key("jcg/hotline", KEY_TYPE_NOTE, seed=9, generation=7)
    kit.rotate_log_key("jcg")
    kit.logs["jcg"].entries[-1] = (kit.logs["jcg"].entries[-1][0], impostor.sign(b"x" * 64))
    kit.append("jcg", "heartbeat", {})
    report = verify(kit.export())
    assert report.first_bad == (JCG, 1)
    assert [(p.seq, p.check) for p in report.problems if p.seq is not None][:2] == [
        (1, "signature"),
        (2, "signature"),
    ]


def test_a_rotated_key_listed_in_the_file_must_be_announced() -> None:
    kit = Kit(10)
    kit.append("jcg", "heartbeat", {})
    kit.rotate_log_key("jcg")
    kit.append("jcg", "heartbeat", {})
    kit.checkpoint("jcg")
    data = kit.export()
    new = kit.logs["jcg"].key.verifier.vkey()
    data["keys"].append({"origin": JCG, "role": "log", "vkey": new, "from_seq": 2})
    assert verify(data).ok
    data["keys"][-1]["from_seq"] = 3
    report = verify(data)
    assert [p.check for p in report.problems] == ["key"]


# --- cross-log references -------------------------------------------------------------------


def _rewritten(seed: int) -> tuple[dict[str, Any], int]:
    """jcg rewrites an acked entry of its own log with its own key (re-signing everything)."""
    kit = Kit(seed)
    kit.append("jcg", "notification", MESSAGE)
    kit.checkpoint("jcg")
    kit.append("ccg", "ack", {}, refs=(kit.ref("jcg", 0),))
    kit.checkpoint("ccg")
    data = kit.export()
    rewrite = Kit(seed)
    rewrite.append("jcg", "notification", {**MESSAGE, "text_en": "Nothing to report"})
    rewrite.checkpoint("jcg", cosigned=False)
    forged = rewrite.export()
    log_of(data, JCG)["entries"] = log_of(forged, JCG)["entries"]
    log_of(data, JCG)["checkpoints"] = log_of(forged, JCG)["checkpoints"]
    return data, 0


def test_a_rewritten_entry_is_caught_by_the_peer_refs_and_receipts() -> None:
    data, seq = _rewritten(11)
    report = verify(data)
    assert not report.ok
    assert report.first_bad == (JCG, seq)
    checks = {p.check for p in report.problems}
    assert {"ref", "peers", "cosignature"} <= checks
    assert all(p.origin == JCG for p in report.problems)


def test_refs_into_a_log_the_file_lacks_are_unresolved_not_tampering() -> None:
    data = conversation(12, 6).export()
    data["logs"] = [log_of(data, CCG)]
    data["keys"] = [k for k in data["keys"] if k["origin"] == CCG]
    report = verify(data)
    assert report.ok, report.problems
    assert any(w.check == "unresolved" for w in report.warnings)


def test_a_ref_beyond_a_truncated_mirror_is_a_problem() -> None:
    kit = Kit(13)
    kit.append("jcg", "notification", MESSAGE)
    kit.append("jcg", "notification", MESSAGE)
    kit.append("ccg", "ack", {}, refs=(kit.ref("jcg", 1),))
    data = kit.export()
    del log_of(data, JCG)["entries"][1:]
    report = verify(data)
    assert report.first_bad == (JCG, 1)
    assert {p.check for p in report.problems} == {"truncated"}


# --- deadlines and clocks -----------------------------------------------------------------


def _notification(kit: Kit, deadline_s: int = DEADLINE_S) -> int:
    deadline = format_timestamp(kit.now_ms + deadline_s * 1000)
    entry = kit.append("jcg", "notification", MESSAGE, deadline=deadline)
    kit.checkpoint("jcg")
    return entry.seq


def test_deadline_missed_for_an_entry_without_deadline_is_a_problem() -> None:
    kit = Kit(14)
    kit.append("jcg", "notification", MESSAGE)
    kit.tick(60)
    missed = kit.append(
        "jcg", "deadline-missed", {"deadline": "2026-11-18T09:00:00Z"}, refs=(kit.ref("jcg", 0),)
    )
    kit.checkpoint("jcg")
    report = verify(kit.export())
    assert report.first_bad == (JCG, missed.seq)
    assert [p.check for p in report.problems] == ["deadline"]


def test_deadline_missed_before_the_deadline_is_a_problem() -> None:
    kit = Kit(15)
    seq = _notification(kit)
    kit.tick(60)
    deadline = kit.logs["jcg"].parsed[seq].deadline
    kit.append("jcg", "deadline-missed", {"deadline": deadline}, refs=(kit.ref("jcg", seq),))
    kit.checkpoint("jcg")
    report = verify(kit.export())
    assert [(p.seq, p.check) for p in report.problems] == [(1, "deadline")]


def test_an_ack_in_time_and_a_deadline_missed_is_a_warning() -> None:
    kit = Kit(16)
    seq = _notification(kit)
    kit.tick(60)
    kit.append("ccg", "ack", {}, refs=(kit.ref("jcg", seq),))
    kit.checkpoint("ccg")
    kit.tick(DEADLINE_S)
    deadline = kit.logs["jcg"].parsed[seq].deadline
    kit.append("jcg", "deadline-missed", {"deadline": deadline}, refs=(kit.ref("jcg", seq),))
    kit.checkpoint("jcg")
    report = verify(kit.export())
    assert report.ok
    assert [w.check for w in report.warnings] == ["deadline"]
    assert "before the deadline" in report.warnings[0].detail


def test_a_deadline_that_passed_unanswered_and_unrecorded_is_a_warning() -> None:
    kit = Kit(17)
    seq = _notification(kit)
    kit.tick(DEADLINE_S + 10)
    kit.append("jcg", "heartbeat", {})
    kit.checkpoint("jcg")
    report = verify(kit.export())
    assert report.ok
    assert [(w.origin, w.seq, w.check) for w in report.warnings] == [(JCG, seq, "deadline")]


def test_clock_skew_beyond_the_threshold_is_a_warning() -> None:
    kit = Kit(18)
    kit.append("jcg", "notification", MESSAGE)
    kit.checkpoint("jcg", delay_s=900)  # the receipt 15 min after created
    report = verify(kit.export())
    assert report.ok
    assert [(w.seq, w.check) for w in report.warnings] == [(0, "clock skew")]
    assert verify(kit.export(), skew_threshold_s=1000).warnings == ()


def test_first_receipts_come_from_the_earliest_covering_cosignature() -> None:
    kit = Kit(19)
    kit.append("jcg", "notification", MESSAGE)
    kit.append("jcg", "note", {**MESSAGE, "marker": "INFORMATION"})
    kit.checkpoint("jcg", cosigned=False)
    kit.tick(30)
    kit.append("jcg", "heartbeat", {})
    kit.checkpoint("jcg", delay_s=3)
    report = verify(kit.export())
    stats = report.logs[0]
    receipt = stats.first_receipt(0)
    assert receipt is not None and receipt.last_seq == 2
    assert receipt.cosigner == "ccg/hotline/cosigner"
    assert receipt.time == kit.now_ms // 1000 + 3
    assert stats.first_receipt(3) is None


# --- evidence rows ------------------------------------------------------------------------


def test_an_evidence_row_with_two_signed_checkpoints_proves_equivocation() -> None:
    kit = conversation(20, 4)
    log = kit.logs["ccg"]
    real = log.checkpoints[0]
    size = Checkpoint.parse(real.split("\n\n")[0] + "\n").size
    forged = sign_checkpoint(Checkpoint(log.origin, size, b"\x01" * 32), log.key)
    data = kit.export()
    data["evidence"] = [
        {
            "kind": "equivocation",
            "detail": "push 409",
            "blobs": [b64(real.encode()), b64(forged.encode())],
        },
        {"kind": "bad-signature", "detail": "a push with a bad signature", "blobs": []},
    ]
    report = verify(data)
    assert [(p.origin, p.check) for p in report.problems] == [(CCG, "equivocation")]
    assert [w.check for w in report.warnings] == ["evidence"]


def test_an_evidence_row_with_two_signed_entries_proves_equivocation() -> None:
    kit = conversation(21, 4)
    data = kit.export()
    first = log_of(data, JCG)["entries"][0]
    twin = Kit(21)
    twin.append("jcg", "heartbeat", {"note": "another history"})
    second = log_of(twin.export(), JCG)["entries"][0]
    blobs = [json.dumps(e).encode() for e in (first, second)]
    data["evidence"] = [{"kind": "equivocation", "detail": "", "blobs": [b64(b) for b in blobs]}]
    report = verify(data)
    assert [(p.origin, p.seq, p.check) for p in report.problems] == [(JCG, 0, "equivocation")]


def test_the_format_constant() -> None:
    assert clean_evidence(0)["format"] == EVIDENCE_FORMAT
    assert isinstance(parse_evidence(clean_evidence(0)), Evidence)
