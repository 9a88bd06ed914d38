"""The ``delivery`` table: push cursors, backoff, heartbeats and alarms (§5.7).

One row per peer, changed in place (the only ledger table besides ``app_cursor`` that is not
append-only). Functions over a connection, inside the caller's transaction; the ledger
(:mod:`seabridge.hotline.ledger`) holds the lock and the clock and wraps them in its API.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass

from seabridge.hotline import open_deadlines

__all__ = [
    "BACKOFF_START_S",
    "DeliveryState",
    "alarm",
    "backoff_delay_s",
    "create",
    "last_cosignature_ms",
    "read",
    "record_acked",
    "record_failure",
    "record_success",
    "reset_acked",
]

BACKOFF_START_S = 0.5
"""First push retry delay; it doubles per failed attempt up to the ledger's cap."""

_COLUMNS = (
    "acked_size, next_attempt_ms, attempts, last_error, last_attempt_ms, last_success_ms, "
    "delivered_via"
)


@dataclass(frozen=True)
class DeliveryState:
    """The push cursor and backoff of one peer (persisted in ``delivery``)."""

    peer: str
    acked_size: int
    next_attempt_ms: int
    attempts: int
    last_error: str | None
    last_attempt_ms: int | None
    last_success_ms: int | None
    delivered_via: str | None = None
    """The endpoint (base URL) that took the last successful push; None before the first."""


def create(conn: sqlite3.Connection, peer: str, now_ms: int) -> None:
    """The row of ``peer`` (kept as it is when it exists)."""
    conn.execute("INSERT OR IGNORE INTO delivery (peer, created_ms) VALUES (?, ?)", (peer, now_ms))


def read(conn: sqlite3.Connection, peer: str) -> DeliveryState:
    """The stored state of ``peer`` (the row must exist: :func:`create`)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM delivery WHERE peer = ?", (peer,)).fetchone()
    return DeliveryState(peer, *row)


def backoff_delay_s(attempts: int, rng: random.Random, cap_s: float) -> float:
    """Delay after ``attempts`` failures: 0.5 s doubling, jitter uniform(0.8, 1.4), capped."""
    delay_s = BACKOFF_START_S * 2.0 ** min(attempts - 1, 32) * rng.uniform(0.8, 1.4)
    return min(cap_s, delay_s)


def record_failure(
    conn: sqlite3.Connection,
    peer: str,
    error: str,
    now_ms: int,
    rng: random.Random,
    cap_s: float,
) -> int:
    """Count a failed push; return the time of the next attempt (exponential backoff)."""
    attempts = read(conn, peer).attempts + 1
    next_ms = now_ms + round(backoff_delay_s(attempts, rng, cap_s) * 1000)
    conn.execute(
        "UPDATE delivery SET attempts = ?, next_attempt_ms = ?, last_error = ?, "
        "last_attempt_ms = ? WHERE peer = ?",
        (attempts, next_ms, error[:500], now_ms, peer),
    )
    return next_ms


def record_success(
    conn: sqlite3.Connection, peer: str, now_ms: int, delivered_via: str | None = None
) -> None:
    """Clear the backoff of ``peer`` after a successful exchange.

    ``delivered_via``: the endpoint that took a push (kept as it was when None).
    """
    conn.execute(
        "UPDATE delivery SET attempts = 0, next_attempt_ms = 0, last_error = NULL, "
        "last_attempt_ms = ?, last_success_ms = ?, delivered_via = coalesce(?, delivered_via) "
        "WHERE peer = ?",
        (now_ms, now_ms, delivered_via, peer),
    )


def record_acked(conn: sqlite3.Connection, peer: str, size: int, now_ms: int) -> None:
    """The peer cosigned our log up to ``size``: advance the cursor, clear the backoff."""
    conn.execute(
        "UPDATE delivery SET acked_size = max(acked_size, ?), attempts = 0, "
        "next_attempt_ms = 0, last_error = NULL, last_success_ms = ? WHERE peer = ?",
        (size, now_ms, peer),
    )


def reset_acked(conn: sqlite3.Connection, peer: str, size: int) -> None:
    """Resend from ``size`` (the peer's answer to a push that did not follow on)."""
    conn.execute("UPDATE delivery SET acked_size = ? WHERE peer = ?", (size, peer))


def last_cosignature_ms(conn: sqlite3.Connection, origin: str) -> int | None:
    """When (our clock) the latest cosignature over ``origin`` was stored."""
    row = conn.execute("SELECT max(received_ms) FROM cosigs WHERE origin = ?", (origin,)).fetchone()
    return None if row[0] is None else int(row[0])


def alarm(
    conn: sqlite3.Connection,
    peer: str,
    origin: str,
    now_ms: int,
    heartbeat_interval_s: float,
) -> str | None:
    """What an operator must hear about ``peer``, or None (§5.7).

    "not delivered": no fresh cosignature for 3 x the heartbeat interval (a link problem).
    "delivered but not acknowledged": cosigned entries whose deadline passed with no ack
    (counted over the open deadlines: :mod:`seabridge.hotline.open_deadlines`).
    ``origin`` is our log to ``peer``.
    """
    limit_ms = round(3 * heartbeat_interval_s * 1000)
    last = last_cosignature_ms(conn, origin)
    if last is None:
        (since,) = conn.execute(
            "SELECT created_ms FROM delivery WHERE peer = ?", (peer,)
        ).fetchone()
    else:
        since = last
    if now_ms - since > limit_ms:
        seen = "never" if last is None else f"{(now_ms - last) // 1000} s ago"
        return (
            f"not delivered: no fresh cosignature from {peer} for 3 x heartbeat interval "
            f"({3 * heartbeat_interval_s:g} s; last {seen}); link problem: use the "
            "out-of-band channel"
        )
    count, first = open_deadlines.unacknowledged(conn, origin, now_ms)
    if count:
        return (
            f"delivered but not acknowledged: {count} entries cosigned by {peer} have no "
            f"ack past their deadline (first: {origin} seq {first})"
        )
    return None
