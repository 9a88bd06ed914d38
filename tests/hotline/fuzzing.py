"""A small seeded mutational fuzzer for the hotline's parsers (S10 of ``hotline-protocol.md`` §7).

:func:`fuzz` feeds a target mutated copies of valid seeds for a time budget. The target takes
bytes and either returns or raises one of the ``allowed`` exceptions (a clean refusal); any
other exception is a failure, kept with the reproducing input and the fuzzer's seed. So is a
call that takes more than ``call_limit_s`` of CPU time (a hang guard: CPU time, so a loaded CI
machine or a slow fsync never trips it), and a call still running after ``alarm_s`` of wall time
is interrupted and reported instead of hanging the run.

Mutations, stacked one to four deep: bit flips, byte sets, inserts and deletes (single bytes and
ranges), interesting bytes and integers (a run of digits replaced by ``2**53``, ``-1``, ...),
truncation, chunk duplication, splices between seeds, tokens from other seeds, and duplicated
JSON keys. ``structured=True`` seeds are JSON: half the inputs are then mutated as values (a
node of the tree replaced, deleted, duplicated or retyped, base64 payloads decoded, mutated as
bytes and encoded again) before they are serialised, so parsers behind ``json.loads`` and
behind base64 fields are reached, not just the JSON reader.

Inputs depend only on the seed and the iteration number (the corpus never changes), so
:func:`replay` rebuilds any input from what a failure reports.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from seabridge.errors import MalformedError, VerificationError

__all__ = ["Failure", "FuzzStats", "fuzz", "mutate", "replay"]

INTERESTING_INTS = (
    0,
    1,
    -1,
    2,
    127,
    128,
    255,
    256,
    65_535,
    65_536,
    2**31 - 1,
    2**31,
    2**32,
    2**53 - 1,
    2**53,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63),
    10**400,
)
INTERESTING_BYTES = b'\x00\x01\x7f\x80\xff\n\r\t "\\{}[],:+/=-.0e\xc3\xe2\xed\xf0'
_INTERESTING_TEXT = (
    b"1.5",
    b"1e5",
    b"NaN",
    b"-0",
    b"null",
    b"true",
    b'""',
    b"[]",
    b"{}",
    b"\\u0000",
)
_DIGITS = re.compile(rb"-?[0-9]+")
_JSON_KEY = re.compile(rb'"([A-Za-z_]+)":')
_TOKEN = re.compile(rb'"[^"\\]{1,200}"|[0-9]{1,30}|[A-Za-z0-9+/=]{8,200}')
_POOL: tuple[object, ...] = (None, True, False, 0, -1, 2**63, "", "x" * 300, [], {}, [0], {"": 0})


Target = Callable[[bytes], object]


@dataclass
class Failure:
    """One way the target broke (an exception type at a place, or a hang), with the shortest
    input seen that does it and how many inputs did."""

    signature: str
    iteration: int
    data: bytes
    error: str
    count: int = 1

    def describe(self, seed: int, limit: int = 2048) -> str:
        shown = self.data[:limit].hex()
        more = f" ... ({len(self.data)} bytes in all)" if len(self.data) > limit else ""
        return (
            f"{self.signature}: {self.count} inputs; the shortest at iteration {self.iteration} "
            f"(seed {seed}; replay(seeds, {seed}, {self.iteration}, structured) rebuilds it):\n"
            f"{self.error}\ninput hex: {shown}{more}"
        )


def signature(exc: BaseException) -> str:
    """``TypeError at proofs.py:_proof_keys``: the exception type and the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].name}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


@dataclass
class FuzzStats:
    """What one fuzzing run did."""

    name: str
    seed: int
    executions: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    known: dict[str, Failure] = field(default_factory=dict)
    slowest_s: float = 0.0
    slowest_input: bytes = b""

    def summary(self) -> str:
        refused = ", ".join(f"{name} {count}" for name, count in self.refused.most_common())
        return (
            f"{self.name}: {self.executions} executions (seed {self.seed}), {self.accepted} "
            f"accepted, refused: {refused or 'none'}; slowest call {self.slowest_s * 1000:.1f} "
            f"ms CPU on {len(self.slowest_input)} bytes ({self.slowest_input[:48].hex()}...); "
            f"{len(self.failures)} failures; known bugs hit: "
            f"{', '.join(f'{k} x{v.count}' for k, v in self.known.items()) or 'none'}"
        )

    def report(self) -> str:
        """The summary, then every failure with its reproducing input."""
        parts = [self.summary()]
        parts += [failure.describe(self.seed) for failure in self.failures]
        return "\n\n".join(parts)

    def _add(self, found: Failure, known: Mapping[str, str]) -> None:
        """Count ``found`` under its known-bug label or its signature; keep the shortest input."""
        label = known.get(found.signature)
        if label is not None:
            kept = self.known.setdefault(label, found)
        else:
            same = [f for f in self.failures if f.signature == found.signature]
            kept = same[0] if same else found
            if not same:
                self.failures.append(found)
        if kept is found:
            return
        kept.count += 1
        if len(found.data) < len(kept.data):
            kept.data, kept.iteration, kept.error = found.data, found.iteration, found.error


class _Hang(BaseException):  # a BaseException: no target catches it by accident
    """Raised in the fuzzed call by the alarm."""


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` of wall time (main thread on POSIX; else no-op)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def ring(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- byte mutations -----------------------------------------------------------------------------


def _flip(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    if data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _set(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    if data:
        pick = rng.choice(INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
        data[rng.randrange(len(data))] = pick


def _insert(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    at = rng.randrange(len(data) + 1)
    if rng.random() < 0.3:
        data[at:at] = rng.choice(_INTERESTING_TEXT)
    else:
        data[at:at] = bytes(rng.choice(INTERESTING_BYTES) for _ in range(rng.randint(1, 4)))


def _delete(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    if data:
        at = rng.randrange(len(data))
        del data[at : at + rng.choice((1, 1, 2, rng.randint(1, 64)))]


def _truncate(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    if data:
        del data[rng.randrange(len(data)) :]


def _duplicate(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    if data:
        start = rng.randrange(len(data))
        chunk = data[start : start + rng.randint(1, 128)]
        at = rng.randrange(len(data) + 1)
        data[at:at] = chunk


def _integer(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    runs = list(_DIGITS.finditer(data))
    if runs:
        run = rng.choice(runs)
        if rng.random() < 0.5:
            value = rng.choice(INTERESTING_INTS)
        else:
            value = int(run.group()) + rng.choice((-1, 1, 2**32, -(2**32)))
        data[run.start() : run.end()] = str(value).encode()


def _splice(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    other = rng.choice(seeds)
    cut = rng.randrange(len(data) + 1)
    data[cut:] = other[rng.randrange(len(other) + 1) :]


def _token(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    """Replace a token (string, number, base64 run) with a token of another seed."""
    mine = list(_TOKEN.finditer(data))
    theirs = list(_TOKEN.finditer(rng.choice(seeds)))
    if mine and theirs:
        target = rng.choice(mine)
        data[target.start() : target.end()] = rng.choice(theirs).group()


def _duplicate_key(data: bytearray, rng: random.Random, seeds: Sequence[bytes]) -> None:
    """Repeat a JSON member's key before it with another value: ``{"a":1}`` -> ``{"a":0,"a":1}``."""
    keys = list(_JSON_KEY.finditer(data))
    if keys:
        key = rng.choice(keys)
        value = rng.choice((b"0", b"null", b'""', b"[]", b"{}", b"1"))
        data[key.start() : key.start()] = key.group() + value + b","


_BYTE_MUTATIONS = (
    _flip,
    _flip,
    _set,
    _insert,
    _delete,
    _truncate,
    _duplicate,
    _integer,
    _integer,
    _splice,
    _token,
    _duplicate_key,
)


def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes], max_len: int) -> bytes:
    """One to four stacked byte mutations of ``data``, cut to ``max_len``."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        rng.choice(_BYTE_MUTATIONS)(out, rng, seeds)
    return bytes(out[:max_len])


# --- structured (JSON value) mutations ---------------------------------------------------------


def _nodes(
    value: object, path: tuple[object, ...] = ()
) -> Iterator[tuple[tuple[object, ...], object]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def _b64_payload(text: str) -> bytes | None:
    if len(text) < 8:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def _mutate_leaf(value: object, rng: random.Random, seeds: Sequence[bytes]) -> object:
    if isinstance(value, bool) or value is None:
        return rng.choice(_POOL)
    if isinstance(value, int):
        if rng.random() < 0.5:
            return rng.choice(INTERESTING_INTS)
        return value + rng.choice((-1, 1, -value - 1, value))
    if isinstance(value, str):
        payload = _b64_payload(value)
        if payload is not None and rng.random() < 0.8:  # an entry, signature or hash inside
            return base64.b64encode(mutate(payload, rng, [payload], 4 * len(payload) + 64)).decode()
        raw = mutate(value.encode("utf-8", "surrogatepass"), rng, seeds, 4 * len(value) + 64)
        return raw.decode("utf-8", "surrogateescape")  # invalid bytes become lone surrogates
    if isinstance(value, list):
        items = list(value)
        choice = rng.randrange(5)
        if choice == 0 and items:
            del items[rng.randrange(len(items))]
        elif choice == 1 and items:
            items.insert(rng.randrange(len(items) + 1), rng.choice(items))
        elif choice == 2 and len(items) > 1:
            i, j = rng.randrange(len(items)), rng.randrange(len(items))
            items[i], items[j] = items[j], items[i]
        elif choice == 3:
            items = items[: rng.randrange(len(items) + 1)]
        else:
            items.append(rng.choice(_POOL))
        return items
    if isinstance(value, dict):
        members = dict(value)
        choice = rng.randrange(3)
        if choice == 0 and members:
            del members[rng.choice(list(members))]
        elif choice == 1 and members:
            key = rng.choice(list(members))
            members[key + rng.choice(("_", "x", ""))] = members.pop(key)
        else:
            members[rng.choice(("extra", "v", "seq", ""))] = rng.choice(_POOL)
        return members
    return value


def _replace(value: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    assert isinstance(value, list) and isinstance(head, int)
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def mutate_json(
    value: object, rng: random.Random, seeds: Sequence[bytes], parsed: Sequence[object]
) -> object:
    """One to three mutations of nodes of a JSON value (a new value; ``value`` is untouched).

    ``parsed`` are the seeds as JSON values, for splices of nodes between seeds.
    """
    for _ in range(rng.choice((1, 1, 2, 3))):
        nodes = list(_nodes(value))
        path, node = rng.choice(nodes)
        if rng.random() < 0.15:  # a node of another seed put here
            new = rng.choice(list(_nodes(rng.choice(parsed))))[1]
        elif rng.random() < 0.1:
            new = rng.choice(_POOL)
        else:
            new = _mutate_leaf(node, rng, seeds)
        value = _replace(value, path, new)
    return value


def _dumps(value: object) -> bytes:
    # Keys keep their (possibly mutated) order; lone surrogates are written as \u escapes.
    return json.dumps(value).encode()


# --- the driver -----------------------------------------------------------------------------------


def _input(
    rng: random.Random, seeds: Sequence[bytes], parsed: Sequence[object] | None, max_len: int
) -> bytes:
    """The next input: a seed mutated as bytes, or (``parsed`` given) half the time as JSON."""
    pick = rng.randrange(len(seeds))
    if parsed is not None and rng.random() < 0.5:
        mutated = _dumps(mutate_json(parsed[pick], rng, seeds, parsed))
        return mutate(mutated, rng, seeds, max_len) if rng.random() < 0.1 else mutated[:max_len]
    return mutate(seeds[pick], rng, seeds, max_len)


def replay(seeds: Sequence[bytes], seed: int, iteration: int, structured: bool = False) -> bytes:
    """The input :func:`fuzz` built at ``iteration`` (0-based; the seeds come first)."""
    if iteration < len(seeds):
        return seeds[iteration]
    rng = random.Random(seed)
    max_len = _max_len(seeds)
    parsed = [json.loads(s) for s in seeds] if structured else None
    data = b""
    for _ in range(len(seeds), iteration + 1):
        data = _input(rng, seeds, parsed, max_len)
    return data


def _max_len(seeds: Sequence[bytes]) -> int:
    return max(1024, 4 * max(len(s) for s in seeds))


def fuzz(
    target: Target,
    seeds: Sequence[bytes],
    seconds: float,
    seed: int,
    *,
    allowed: tuple[type[BaseException], ...] = (MalformedError, VerificationError),
    name: str = "",
    structured: bool = False,
    call_limit_s: float = 1.0,
    alarm_s: float = 60.0,
    max_failures: int = 10,
    known: Mapping[str, str] | None = None,
) -> FuzzStats:
    """Run ``target`` on the seeds, then on mutated inputs until ``seconds`` have passed.

    Args:
        target: takes the input bytes; returns, or raises one of ``allowed``.
        seeds: valid inputs (JSON texts when ``structured``).
        seconds: the time budget (wall time; at least every seed runs once).
        seed: the random seed; with the seeds it fixes the input of every iteration.
        allowed: the exceptions that are clean refusals (default: what parsers and verifiers
            raise; a ledger target allows every ``LedgerError``).
        name: for the report (default: the target's name).
        structured: the seeds are JSON; half the inputs are mutated as JSON values.
        call_limit_s: a call taking more CPU time than this is a failure (a hang).
        alarm_s: a call still running after this much wall time is interrupted (a failure).
        max_failures: stop after this many distinct failures (by :func:`signature`).
        known: signatures of known bugs (reported elsewhere) -> a label: counted in
            ``stats.known`` with their shortest input, not failures.
    """
    if not seeds:
        raise ValueError("fuzz needs at least one seed")
    stats = FuzzStats(name or getattr(target, "__name__", "target"), seed)
    rng = random.Random(seed)
    max_len = _max_len(seeds)
    parsed = [json.loads(s) for s in seeds] if structured else None
    deadline = time.monotonic() + seconds
    iteration = 0
    while len(stats.failures) < max_failures:
        if iteration < len(seeds):
            data = seeds[iteration]
        elif time.monotonic() >= deadline:
            break
        else:
            data = _input(rng, seeds, parsed, max_len)
        _call(target, data, iteration, allowed, stats, call_limit_s, alarm_s, known or {})
        iteration += 1
    return stats


def _call(
    target: Target,
    data: bytes,
    iteration: int,
    allowed: tuple[type[BaseException], ...],
    stats: FuzzStats,
    call_limit_s: float,
    alarm_s: float,
    known: Mapping[str, str],
) -> None:
    started = time.process_time()
    found: Failure | None = None
    try:
        with _alarm(alarm_s):
            target(data)
    except allowed as exc:
        stats.refused[type(exc).__name__] += 1
    except _Hang:
        found = Failure("hang", iteration, data, f"still running after {alarm_s} s of wall time")
    except Exception as exc:
        found = Failure(signature(exc), iteration, data, traceback.format_exc(limit=-6))
    else:
        stats.accepted += 1
    spent = time.process_time() - started
    stats.executions += 1
    if spent > stats.slowest_s:
        stats.slowest_s, stats.slowest_input = spent, data
    if found is None and spent > call_limit_s:
        error = f"one call took {spent:.2f} s of CPU time (limit {call_limit_s} s)"
        found = Failure("hang guard", iteration, data, error)
    if found is not None:
        stats._add(found, known)
