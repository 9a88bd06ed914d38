"""R5 of ``domain/hotline-protocol.md`` §7: syscall faults during one append (Tessera method).

``append_worker.py`` appends ONE entry to a jcg ledger that already holds committed entries
(its own log, the ccg mirror, cosignatures). strace attaches (``-p``) once the worker has
opened the ledger, so it counts and faults only the calls of the append and of the close after
it. A first run with ``-e trace=...`` counts the calls of :data:`SYSCALLS`; then, for each name
and each occurrence ``N`` (a seeded sample of :data:`SAMPLE` per name; every one with
``SEABRIDGE_FAULT_ALL=1``), the append runs again on a fresh copy of the database with
``inject=<name>:error=EIO:when=N`` and with ``inject=<name>:signal=KILL:when=N``. After each
run:

- ``PRAGMA integrity_check`` is ``ok`` and the ledger opens again;
- every previously committed entry of both logs is there, byte for byte;
- the new entry is there if the worker printed ``ok <seq>`` (no acknowledged write lost); if it
  did not, it may or may not be (indeterminate), and resending the same msg_id gives seq K;
- the export verifies (``verify_evidence`` against the four configured keys).

The injection runs record their own trace, so the test also checks the fault landed: one
``(INJECTED)`` error on that name, or the kill right at a call of that name.

Skipped, saying why, when ``strace`` is missing or cannot attach (ptrace not permitted): the
counting run is the trial.
``SEABRIDGE_FAULT_SEED`` picks the sample (printed with every failure).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from append_worker import MSG_ID, NOW_MS
from ledger_kit import PARTIES, cosigner_key, ledger_pair, log_key, message, open_ledger

from seabridge.clock import ManualClock
from seabridge.hotline.evidence import parse_evidence, verify_evidence
from seabridge.hotline.keys import Verifier
from seabridge.hotline.ledger import Ledger

SYSCALLS = ("fdatasync", "fsync", "write", "pwrite64", "rename", "openat")
MODES = {"eio": "error=EIO", "kill": "signal=KILL"}
SAMPLE = 8
ALL = os.environ.get("SEABRIDGE_FAULT_ALL") == "1"
SEED = int(os.environ.get("SEABRIDGE_FAULT_SEED", "20260505"))
WORKER = Path(__file__).with_name("append_worker.py")
OWN, MIRROR = "jcg/hotline/ccg", "ccg/hotline/jcg"
RUN_TIMEOUT_S = 120  # a hung worker fails the test instead of hanging CI
_CALL = re.compile(r"^(\d+) +([a-z0-9_]+)\(")


pytestmark = pytest.mark.skipif(
    shutil.which("strace") is None,
    reason="strace is not installed (CI installs Debian's strace in .ci/run)",
)


class NotTraceableError(Exception):
    """strace could not attach to the worker (ptrace not permitted here)."""


@dataclass(frozen=True)
class Template:
    """A committed database to copy, and what it holds."""

    directory: Path
    own: list[tuple[bytes, bytes]]
    mirror: list[tuple[bytes, bytes]]
    during: dict[str, int]  # calls of each name during one append (and the close after it)


def _entries(ledger: Ledger, origin: str) -> list[tuple[bytes, bytes]]:
    return ledger.entries(origin, 0, ledger.size(origin))


def _count(trace: str) -> Counter[str]:
    """Calls per name in a trace (every line is the worker's: strace attached to it alone)."""
    return Counter(match.group(2) for line in trace.splitlines() if (match := _CALL.match(line)))


def _run(directory: Path, trace: Path, *options: str) -> tuple[int, str]:
    """One append in ``directory`` with strace attached; the worker's exit code and stdout.

    Raises:
        NotTraceableError: strace could not attach.
    """
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # a traceback is part of what the test reports
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # the same calls in every run
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        ready = worker.stdout.readline()
        assert ready == "ready\n", ready + worker.stdout.read()
        tracer = subprocess.Popen(
            ["strace", "-f", "-o", str(trace), *options, "-p", str(worker.pid)],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert tracer.stderr is not None
        attached = tracer.stderr.readline()  # "strace: Process N attached", or why not
        if "attached" not in attached:
            tracer.wait(RUN_TIMEOUT_S)
            raise NotTraceableError(attached.strip() + " " + tracer.stderr.read().strip())
        worker.stdin.write("go\n")
        worker.stdin.close()
        output = worker.stdout.read()
        code = worker.wait(RUN_TIMEOUT_S)
        tracer.wait(RUN_TIMEOUT_S)
        tracer.stderr.close()
        return code, output
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(RUN_TIMEOUT_S)
        worker.stdout.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("faults")
    with ledger_pair(root / "pair") as pair:
        for i in range(3):
            pair.jcg.send("ccg", "notification", message(f"Committed {i}"))
        pair.sync()
        pair.ccg.send("jcg", "notification", message("From ccg"))
        pair.sync()
        own, mirror = _entries(pair.jcg, OWN), _entries(pair.jcg, MIRROR)
    directory = root / "pair" / "jcg"
    counts = []
    for attempt in range(2):  # twice: the counts must not vary between runs
        copy = _copy(directory, root / f"count{attempt}")
        trace = root / f"count{attempt}.trace"
        try:
            code, output = _run(copy, trace, "-e", f"trace={','.join(SYSCALLS)}")
        except NotTraceableError as exc:
            pytest.skip(f"strace cannot attach here (ptrace not permitted?): {exc}")
        assert code == 0, output
        assert output.splitlines() == [f"ok {len(own)}", "closed"]
        counts.append(_count(trace.read_text()))
    assert counts[0] == counts[1], f"syscall counts differ between two runs: {counts}"
    return Template(directory, own, mirror, {name: counts[0][name] for name in SYSCALLS})


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def occurrences(template: Template, name: str) -> list[int]:
    """The occurrences of ``name`` to fault (1-based, counted from strace's attach)."""
    every = list(range(1, template.during[name] + 1))
    if ALL or len(every) <= SAMPLE:
        return every
    return sorted(random.Random(f"{SEED}/{name}").sample(every, SAMPLE))


def _trusted() -> list[Verifier]:
    return [key(party).verifier for party in PARTIES for key in (log_key, cosigner_key)]


def _check(template: Template, directory: Path, stdout: str) -> list[str]:
    """What is wrong with ``directory`` after a faulted run (empty when nothing is)."""
    size = len(template.own)
    with closing(sqlite3.connect(directory / "state.sqlite")) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
    if integrity != [("ok",)]:
        return [f"integrity_check: {integrity[:5]}"]
    problems = []
    with open_ledger(directory, "jcg", ManualClock(NOW_MS)) as ledger:
        own, mirror = _entries(ledger, OWN), _entries(ledger, MIRROR)
        if own[:size] != template.own:
            problems.append("a previously committed entry of the own log changed or is gone")
        if mirror != template.mirror:
            problems.append("the mirrored ccg log changed")
        stored = own[size:]
        if len(stored) > 1:
            problems.append(f"{len(stored)} new entries for one append")
        if stored and b'"msg_id":"' + MSG_ID.encode() + b'"' not in stored[0][0]:
            problems.append("the new entry is not the one appended")
        if f"ok {size}" in stdout.splitlines() and not stored:
            problems.append(f"LOST: 'ok {size}' was printed but entry {size} is not stored")
        again = ledger.send("ccg", "notification", message("Fault injected"), msg_id=MSG_ID)
        if again.seq != size:
            problems.append(f"resending msg_id {MSG_ID} gave seq {again.seq}, not {size}")
        report = verify_evidence(parse_evidence(ledger.export_evidence()), _trusted())
        if not report.ok:
            problems.append(f"verify_evidence: {[p.line() for p in report.problems[:3]]}")
    return problems


def _landed(trace: str, name: str, mode: str) -> bool:
    """The fault hit a call of ``name``: one injected error, or the kill right at that call."""
    lines = trace.splitlines()
    if mode == "eio":
        injected = [line for line in lines if "(INJECTED)" in line]
        return len(injected) == 1 and injected[0].split()[1].startswith(f"{name}(")
    calls = [match.group(2) for line in lines if (match := _CALL.match(line))]
    return bool(calls) and calls[-1] == name and "+++ killed by SIGKILL +++" in trace


def test_the_append_makes_the_calls_that_need_faulting(template: Template) -> None:
    """SQLite in WAL mode writes frames with pwrite64 and syncs with fdatasync (commit, then the
    checkpoint at close); if a new SQLite changes that, the fault matrix below must follow."""
    assert template.during["pwrite64"] >= 2
    assert template.during["fdatasync"] >= 2
    assert template.during["write"] >= 1  # the acknowledgement line itself


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_fault_at_any_call_of_one_append_loses_nothing(
    template: Template, mode: str, tmp_path: Path
) -> None:
    failures: list[str] = []
    runs = acknowledged = 0
    for name in SYSCALLS:
        for number in occurrences(template, name):
            directory = _copy(template.directory, tmp_path / f"{name}-{number}")
            trace = tmp_path / f"{name}-{number}.trace"
            inject = f"inject={name}:{MODES[mode]}:when={number}"
            code, output = _run(directory, trace, "-e", f"trace={name}", "-e", inject)
            runs += 1
            acknowledged += f"ok {len(template.own)}" in output.splitlines()
            where = f"{mode} at {name} #{number} (seed {SEED})"
            if not _landed(trace.read_text(), name, mode):
                tail = trace.read_text().splitlines()[-4:]
                failures.append(f"{where}: the fault did not land in the append: {tail}")
            for problem in _check(template, directory, output):
                failures.append(f"{where}: {problem}; worker exit {code}: {output[-300:]!r}")
            shutil.rmtree(directory)
    assert not failures, "\n".join(failures)
    assert runs == sum(len(occurrences(template, n)) for n in SYSCALLS) > 0
    counts = {name: template.during[name] for name in SYSCALLS}
    print(f"R5 {mode}: {runs} faulted appends of {counts}, {acknowledged} acknowledged, all ok")
