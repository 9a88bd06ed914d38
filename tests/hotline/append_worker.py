"""One append to a ledger, for ``test_syscall_faults.py`` to fault with strace (R5, Tessera method).

``python append_worker.py DIR`` opens the jcg ledger in ``DIR`` (``DIR/state.sqlite``, keys from
``ledger_kit``), prints ``ready``, and waits for a line on stdin: the test attaches strace
(``strace -p``) meanwhile, so the calls strace counts and faults are those of the append alone,
not of the interpreter's start-up or the ledger's opening. It then appends ONE notification with
msg_id :data:`MSG_ID`, prints ``ok <seq>`` once ``send`` has returned (an acknowledgement the
test holds it to), closes the ledger and prints ``closed``.

The worker allows any process of its user to trace it (``PR_SET_PTRACER``), which Yama's
``ptrace_scope = 1`` requires for a tracer that is not its ancestor.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from ledger_kit import START_MS, message, open_ledger

from seabridge.clock import ManualClock

MSG_ID = "fault-injected-append"
NOW_MS = START_MS + 3_600_000  # fixed, so every run makes the same calls
_PR_SET_PTRACER = 0x59616D61  # linux/prctl.h
_PR_SET_PTRACER_ANY = ctypes.c_ulong(-1)


def allow_tracing() -> None:
    """Let a non-ancestor tracer attach; harmless where Yama is absent (prctl says EINVAL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PTRACER, _PR_SET_PTRACER_ANY, 0, 0, 0)


def main(argv: list[str]) -> int:
    allow_tracing()
    with open_ledger(Path(argv[0]), "jcg", ManualClock(NOW_MS)) as ledger:
        print("ready", flush=True)
        sys.stdin.readline()  # strace attaches now
        entry = ledger.send("ccg", "notification", message("Fault injected"), msg_id=MSG_ID)
        os.write(1, f"ok {entry.seq}\n".encode())
    os.write(1, b"closed\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
