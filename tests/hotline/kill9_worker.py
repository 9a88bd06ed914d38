"""A node process for ``test_kill9.py``, killed with SIGKILL at random moments (R1, R2).

Run as a script (``python kill9_worker.py MODE DIR ...``); its own folder is then on
``sys.path``, so it shares the deterministic keys of ``ledger_kit``. Every line it prints is
flushed at once: a printed line is an acknowledgement the test holds it to.

``send DIR FIRST UNTIL``
    The jcg ledger in ``DIR`` sends notifications with msg_ids ``m00000, m00001, ...`` from
    index ``FIRST`` (the first one may already be stored: a send whose answer the last kill
    swallowed) up to ``UNTIL`` (excluded), printing ``ok <msg_id> <seq>`` after each send
    returns, then ``done``.

``receive DIR``
    The ccg ledger in ``DIR`` reads one JSON line per push from stdin, ``{"now": ms, "body":
    push body}``, and prints ``got``, then the answer (``{"answer": {...}}`` or
    ``{"conflict": size}``), then ``applied <n>`` after consuming the new entries exactly once
    into the ``app_effects`` table (written in the consumer's transaction, §5.8).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from ledger_kit import START_MS, key_for, message

from seabridge.clock import Clock, ManualClock, SystemClock
from seabridge.errors import ConflictError
from seabridge.hotline.entries import Entry
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE
from seabridge.hotline.ledger import Ledger

EFFECTS = "CREATE TABLE IF NOT EXISTS app_effects (origin TEXT NOT NULL, seq INTEGER NOT NULL)"


def open_ledger(directory: Path, party: str, clock: Clock) -> Ledger:
    peer = "ccg" if party == "jcg" else "jcg"
    return Ledger(
        directory / "state.sqlite",
        party,
        key_for(f"{party}/hotline", KEY_TYPE_NOTE),
        key_for(f"{party}/hotline/cosigner", KEY_TYPE_COSIGNATURE),
        {
            peer: (
                key_for(f"{peer}/hotline", KEY_TYPE_NOTE).verifier,
                key_for(f"{peer}/hotline/cosigner", KEY_TYPE_COSIGNATURE).verifier,
            )
        },
        clock,
    )


def msg_id(index: int) -> str:
    return f"m{index:05d}"


def send(directory: Path, first: int, until: int) -> None:
    with open_ledger(directory, "jcg", SystemClock()) as ledger:
        print("ready", flush=True)
        for index in range(first, until):
            entry = ledger.send(
                "ccg", "notification", message(f"Message {index}"), msg_id=msg_id(index)
            )
            print(f"ok {entry.msg_id} {entry.seq}", flush=True)
    print("done", flush=True)


def _effect(conn: sqlite3.Connection, entry: Entry) -> None:
    conn.execute(EFFECTS)
    conn.execute("INSERT INTO app_effects VALUES (?, ?)", (entry.log, entry.seq))


def receive(directory: Path) -> None:
    clock = ManualClock(START_MS)
    with open_ledger(directory, "ccg", clock) as ledger:
        print("ready", flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            if request["now"] > clock.now_ms():
                clock.advance((request["now"] - clock.now_ms()) / 1000)
            print("got", flush=True)
            try:
                answer: dict[str, object] = {"answer": ledger.receive_push(request["body"])}
            except ConflictError as exc:
                answer = {"conflict": exc.size}
            print(json.dumps(answer), flush=True)
            applied = ledger.consume(ledger.mirror_origin("jcg"), _effect)
            print(f"applied {applied}", flush=True)


def main(argv: list[str]) -> int:
    mode, directory = argv[0], Path(argv[1])
    if mode == "send":
        send(directory, int(argv[2]), int(argv[3]))
    elif mode == "receive":
        receive(directory)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
