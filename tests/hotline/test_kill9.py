"""R1 and R2 of ``domain/hotline-protocol.md`` §7 with real processes killed by SIGKILL.

A worker process (``kill9_worker.py``) holds a ledger and is killed at a random point of its
own progress: after a seeded random number of the lines it prints, so the kill lands wherever
the worker has got to by then (in the middle of the next send, a receive, or the consumer),
never after a wall-clock sleep. It is then restarted on the same directory.

- Sender: every acknowledged send (a printed ``ok <msg_id> <seq>``) is in the log with that
  seq (lost = 0); seqs are contiguous; resending the indeterminate msg_id after a restart
  returns the seq it got before the kill (duplicates = 0).
- Receiver: push bodies from a sender ledger in this process are applied by the worker, which
  also consumes them into an application table; kills land before, during and after the
  receive (a lost response) and the consumer. The sender's retry cycle converges: both copies
  of the log byte-identical, every entry cosigned, one application effect per seq.

``SEABRIDGE_KILL9_RUNS`` (default 20) kills per test; ``make soak`` runs 200.
``SEABRIDGE_KILL9_SEED`` picks the kill points; the seed is printed for a failing run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import IO

from kill9_worker import msg_id, open_ledger
from ledger_kit import START_MS, message
from ledger_kit import open_ledger as open_sender

from seabridge.clock import ManualClock, SystemClock
from seabridge.hotline.entries import Entry
from seabridge.hotline.evidence import parse_evidence
from seabridge.hotline.ledger import MAX_PULL, Ledger
from seabridge.hotline.verify import verify_evidence

RUNS = int(os.environ.get("SEABRIDGE_KILL9_RUNS", "20"))
SEED = int(os.environ.get("SEABRIDGE_KILL9_SEED", "20260501"))
WORKER = Path(__file__).with_name("kill9_worker.py")
OWN = "jcg/hotline/ccg"


def _spawn(*args: str, stdin: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # a traceback shows up as an unexpected line
        text=True,
        bufsize=1,
    )


def _line(stream: IO[str] | None) -> str:
    assert stream is not None
    return stream.readline().rstrip("\n")


def _kill(proc: subprocess.Popen[str]) -> list[str]:
    """SIGKILL the worker; return the lines it printed that were not read yet."""
    proc.send_signal(signal.SIGKILL)
    assert proc.stdout is not None
    rest = proc.stdout.read().splitlines()
    proc.wait(timeout=30)
    if proc.stdin is not None:
        proc.stdin.close()
    proc.stdout.close()
    assert proc.returncode in (-signal.SIGKILL, 0), (proc.returncode, rest)
    return rest


def _all(ledger: Ledger, origin: str) -> list[tuple[bytes, bytes]]:
    """Every stored entry of ``origin`` (entries() answers at most MAX_PULL at once)."""
    found: list[tuple[bytes, bytes]] = []
    while page := ledger.entries(origin, len(found), len(found) + MAX_PULL):
        found += page
    return found


def _stored(path: Path) -> int:
    """How many entries the own log holds, read straight from the file."""
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM log WHERE origin = ?", (OWN,)).fetchone()
    return int(count)


def _check_record(ledger: Ledger, size: int) -> list[Entry]:
    """The own log holds ``size`` entries, seq = index = the msg_id's number; it verifies."""
    assert ledger.size(OWN) == size
    entries = [Entry.from_bytes(data) for data, _ in _all(ledger, OWN)]
    assert [e.seq for e in entries] == list(range(size))
    assert [e.msg_id for e in entries] == [msg_id(i) for i in range(size)]
    report = verify_evidence(parse_evidence(ledger.export_evidence()))
    assert report.ok, report.summary_lines()
    return entries


# --- R1: the sender ---------------------------------------------------------------------------


def test_sender_killed_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    print(f"seed={SEED} runs={RUNS}")
    rng = random.Random(SEED)
    acked: dict[str, int] = {}

    def record(line: str) -> None:
        word, mid, seq = line.split(" ")
        assert word == "ok", line
        assert acked.setdefault(mid, int(seq)) == int(seq), f"{mid}: two seqs (duplicate)"
        assert int(seq) == int(mid[1:]), f"{mid} stored at seq {seq}: a gap or a duplicate"

    def next_index() -> int:
        return max((int(mid[1:]) for mid in acked), default=-1) + 1

    recovered = 0  # Jepsen's class: indeterminate (killed before its "ok") but stored
    for _ in range(RUNS):
        proc = _spawn("send", str(tmp_path), str(next_index()), "1000000")
        if rng.random() >= 0.1:  # else: killed while importing or opening the ledger
            assert _line(proc.stdout) == "ready"
            for _ in range(rng.randrange(0, 8)):
                record(_line(proc.stdout))
        rest = _kill(proc)
        for line in rest:
            if line != "ready":
                record(line)
        recovered += _stored(tmp_path / "state.sqlite") > next_index()

    final = next_index()
    proc = _spawn("send", str(tmp_path), str(final), str(final + 3))
    lines, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, lines
    assert lines.splitlines()[0] == "ready" and lines.splitlines()[-1] == "done"
    for line in lines.splitlines()[1:-1]:
        record(line)

    with open_ledger(tmp_path, "jcg", SystemClock()) as ledger:
        entries = _check_record(ledger, final + 3)
    stored = {e.msg_id: e.seq for e in entries}
    lost = {mid for mid, seq in acked.items() if stored.get(mid) != seq}
    assert not lost, f"acknowledged but lost: {sorted(lost)}"
    assert set(stored) == set(acked)
    print(f"acknowledged {len(acked)}, recovered after a kill {recovered}, lost 0, duplicated 0")


# --- R1/R2: the receiver ----------------------------------------------------------------------


class _Receiver:
    """The worker process on the receiver's side, and the sender's half of each exchange."""

    def __init__(self, directory: Path, sender: Ledger, clock: ManualClock) -> None:
        self.proc = _spawn("receive", str(directory), stdin=True)
        self.sender, self.clock = sender, clock

    def write(self) -> bool:
        """Send the next push body; False when the sender has nothing new."""
        body = self.sender.push_request("ccg")
        if body is None:
            return False
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"now": self.clock.now_ms(), "body": body}) + "\n")
        self.proc.stdin.flush()
        return True

    def expect(self, word: str) -> str:
        line = _line(self.proc.stdout)
        assert line.startswith(word), line
        return line

    def answer(self) -> dict[str, object]:
        reply: dict[str, object] = json.loads(_line(self.proc.stdout))
        return reply

    def accept(self, reply: dict[str, object]) -> None:
        if "conflict" in reply:
            size = reply["conflict"]
            assert isinstance(size, int)
            self.sender.accept_conflict("ccg", size)
        else:
            answer = reply["answer"]
            assert isinstance(answer, dict)
            self.sender.accept_response("ccg", answer)


def _exchange(receiver: _Receiver, rng: random.Random, *, kill_at: int | None) -> None:
    """One push: write, 'got', the answer (accepted), 'applied'; stop early at ``kill_at``
    (0: just written, 1: received, 2: answered but the answer is lost, 3: applied)."""
    for _ in range(rng.randint(1, 5)):
        receiver.sender.send("ccg", "notification", message("load"), msg_id=None)
    receiver.clock.advance(1)
    receiver.write()
    if kill_at == 0:
        return
    receiver.expect("got")
    if kill_at == 1:
        return
    reply = receiver.answer()
    if kill_at == 2:
        return
    receiver.accept(reply)
    receiver.expect("applied")


def test_receiver_killed_converges_exactly_once(tmp_path: Path) -> None:
    print(f"seed={SEED} runs={RUNS}")
    rng = random.Random(SEED + 1)
    clock = ManualClock(START_MS)
    receiver_dir = tmp_path / "ccg"
    receiver_dir.mkdir()
    with open_sender(tmp_path / "jcg", "jcg", clock) as sender:
        for _ in range(RUNS):
            receiver = _Receiver(receiver_dir, sender, clock)
            if rng.random() >= 0.1:
                receiver.expect("ready")
                for _ in range(rng.randrange(0, 3)):
                    _exchange(receiver, rng, kill_at=None)
                _exchange(receiver, rng, kill_at=rng.randrange(0, 4))
            _kill(receiver.proc)

        receiver = _Receiver(receiver_dir, sender, clock)
        receiver.expect("ready")
        for _ in range(100):  # the sender's retry cycle, as `seabridge serve` runs it
            if not receiver.write():
                break
            receiver.expect("got")
            receiver.accept(receiver.answer())
            receiver.expect("applied")
        else:
            raise AssertionError("the sender's retries did not converge in 100 pushes")
        assert receiver.proc.stdin is not None
        receiver.proc.stdin.close()
        assert receiver.proc.wait(timeout=30) == 0
        assert receiver.proc.stdout is not None
        receiver.proc.stdout.close()

        size = sender.size(OWN)
        assert sender.delivery_state("ccg").acked_size == size
        sent = _all(sender, OWN)
        assert len(sent) == size
        with open_ledger(receiver_dir, "ccg", clock) as mirror:
            assert _all(mirror, OWN) == sent  # no gap, no duplicate, the same bytes
            report = verify_evidence(parse_evidence(mirror.export_evidence()))
            assert report.ok, report.summary_lines()
        report = verify_evidence(parse_evidence(sender.export_evidence()))
        assert report.ok, report.summary_lines()
        assert sender.last_cosignature_ms("ccg") is not None

    with closing(sqlite3.connect(receiver_dir / "state.sqlite")) as conn:
        effects = conn.execute(
            "SELECT seq, count(*) FROM app_effects WHERE origin = ? GROUP BY seq ORDER BY seq",
            (OWN,),
        ).fetchall()
    assert effects == [(seq, 1) for seq in range(size)], "missing or duplicated effects"
