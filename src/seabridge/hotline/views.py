"""Read-only views of the record: the ``hotline log`` listing and the evidence file export.

Evidence file (``seabridge-evidence/v1``, read by :mod:`seabridge.hotline.evidence`)::

    {"format": "seabridge-evidence/v1", "exported": timestamp, "exported_by": party,
     "keys": [{"origin", "role": "log"|"cosigner", "vkey", "from_seq": 0}, ...],
     "logs": [{"origin", "entries": [{"seq", "entry": b64, "sig": b64}],
               "checkpoints": [note, ...], "cosignatures": [{"size", "cosigner", "time", "line"}]}],
     "evidence": [{"kind", "detail", "blobs": [b64, ...]}]}

``keys`` holds the initial keys only (later ones are announced by ``key-rotation`` entries
inside the logs). A ``log`` key is listed with its own log; a ``cosigner`` key with the log whose
checkpoints it cosigns (the *other* party's log: ``ccg/hotline/cosigner`` under
``jcg/hotline/ccg``), although its rotations are announced in its owner's log. Evidence blobs
are signed checkpoint notes or ``{"entry": b64, "sig": b64}`` JSON, as UTF-8 bytes. Nothing
secret is exported.
"""

from __future__ import annotations

import base64
import bisect
import json
import sqlite3
from typing import Any

from seabridge.hotline.entries import Entry, format_timestamp, parse_timestamp

__all__ = ["EVIDENCE_FORMAT", "cosigned_origin", "export_evidence", "log_view"]

EVIDENCE_FORMAT = "seabridge-evidence/v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _receipt_times(
    conn: sqlite3.Connection, origin: str, cosigner: str | None
) -> tuple[list[int], list[int]]:
    """Sizes of the cosignatures over ``origin`` (ascending; only ``cosigner``'s when given),
    and for each index the earliest cosignature time at that size or larger (so the first
    receipt of seq s is one bisect)."""
    rows = conn.execute(
        "SELECT size, min(time) FROM cosigs WHERE origin = ? AND (? IS NULL OR cosigner = ?) "
        "GROUP BY size ORDER BY size",
        (origin, cosigner, cosigner),
    ).fetchall()
    sizes = [size for size, _ in rows]
    earliest = [time for _, time in rows]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    return sizes, earliest


def cosigned_origin(origin: str) -> str:
    """The log a cosigner cosigns, from its owner's log: ``a/hotline/b`` -> ``b/hotline/a``."""
    author, _, peer = origin.split("/", 2)
    return f"{peer}/hotline/{author}"


def log_view(
    conn: sqlite3.Connection, own: str, mirror: str, own_cosigner: str
) -> list[dict[str, Any]]:
    """Entries of both logs of a channel, in ``created`` order (then origin, seq).

    ``receipted``: for own entries, a cosignature by the peer covers it; for mirror entries, we
    cosigned a checkpoint covering it (``own_cosigner`` names our key). ``acknowledged``: an
    ``ack`` entry in either log refers to it. ``deadline`` only when the entry has one.
    """
    acked = {
        (log, seq)
        for log, seq in conn.execute(
            "SELECT ref_log, ref_seq FROM refs WHERE kind = 'ack' AND ref_log IN (?, ?)",
            (own, mirror),
        )
    }
    rows: list[dict[str, Any]] = []
    for origin in (own, mirror):
        sizes, earliest = _receipt_times(conn, origin, own_cosigner if origin == mirror else None)
        for seq, data in conn.execute(
            "SELECT seq, entry FROM log WHERE origin = ? ORDER BY seq", (origin,)
        ):
            entry = Entry.from_bytes(data)
            at = bisect.bisect_right(sizes, seq)  # first cosigned size > seq
            receipt = earliest[at] if at < len(sizes) else None
            row: dict[str, Any] = {
                "origin": origin,
                "seq": seq,
                "msg_id": entry.msg_id,
                "kind": entry.kind,
                "created": entry.created,
                "lang": entry.lang,
                "text": entry.body.get("text"),
                "text_en": entry.body.get("text_en"),
                "refs": [{"log": r.log, "seq": r.seq, "leaf": _b64(r.leaf)} for r in entry.refs],
                "receipted": receipt is not None,
                "receipt_time": None if receipt is None else format_timestamp(receipt * 1000),
                "acknowledged": (origin, seq) in acked,
            }
            if entry.deadline is not None:
                row["deadline"] = entry.deadline
            rows.append(row)
    rows.sort(key=lambda row: (parse_timestamp(row["created"]), row["origin"], row["seq"]))
    return rows


def export_evidence(conn: sqlite3.Connection, party: str, exported: str) -> dict[str, Any]:
    """The evidence file of everything stored (format in the module docstring)."""
    keys = [
        {
            "origin": origin if role == "log" else cosigned_origin(origin),
            "role": role,
            "vkey": vkey,
            "from_seq": 0,
        }
        for origin, role, vkey in conn.execute(
            "SELECT origin, role, vkey FROM keys WHERE from_seq = 0 ORDER BY origin, role"
        )
    ]
    logs = []
    for (origin,) in conn.execute("SELECT DISTINCT origin FROM keys ORDER BY origin").fetchall():
        entries = [
            {"seq": seq, "entry": _b64(entry), "sig": _b64(sig)}
            for seq, entry, sig in conn.execute(
                "SELECT seq, entry, sig FROM log WHERE origin = ? ORDER BY seq", (origin,)
            )
        ]
        notes = [
            note
            for (note,) in conn.execute(
                "SELECT note FROM checkpoints WHERE origin = ? ORDER BY size", (origin,)
            )
        ]
        cosignatures = [
            {"size": size, "cosigner": cosigner, "time": time, "line": line}
            for size, cosigner, time, line in conn.execute(
                "SELECT size, cosigner, time, line FROM cosigs WHERE origin = ? "
                "ORDER BY size, time, rowid",
                (origin,),
            )
        ]
        logs.append(
            {
                "origin": origin,
                "entries": entries,
                "checkpoints": notes,
                "cosignatures": cosignatures,
            }
        )
    evidence = [
        {"kind": kind, "detail": detail, "blobs": json.loads(blobs)}
        for kind, detail, blobs in conn.execute(
            "SELECT kind, detail, blobs FROM evidence ORDER BY created_ms, id"
        )
    ]
    return {
        "format": EVIDENCE_FORMAT,
        "exported": exported,
        "exported_by": party,
        "keys": keys,
        "logs": logs,
        "evidence": evidence,
    }
