"""The verdict of :func:`~seabridge.hotline.verify.verify_evidence` (§5.11): findings, per-log
statistics and receipts, as values with their JSON form and a human summary.

Plain data: no verification and no I/O happen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Finding", "LogStats", "Receipt", "Report"]


@dataclass(frozen=True)
class Finding:
    """One problem or warning, located at ``origin/seq`` (``seq`` None: not one entry)."""

    origin: str
    seq: int | None
    check: str
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"origin": self.origin, "seq": self.seq, "check": self.check, "detail": self.detail}

    def line(self) -> str:
        where = self.origin if self.seq is None else f"{self.origin}#{self.seq}"
        return f"{where} [{self.check}] {self.detail}"


@dataclass(frozen=True)
class Receipt:
    """Entries ``first_seq..last_seq`` were first receipted at ``time`` (Unix s) by ``cosigner``."""

    first_seq: int
    last_seq: int
    time: int
    cosigner: str

    def to_json(self) -> dict[str, object]:
        return {
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "time": self.time,
            "cosigner": self.cosigner,
        }


@dataclass(frozen=True)
class LogStats:
    """What the file holds of one log, and the root recomputed from its entries."""

    origin: str
    entries: int
    checkpoints: int
    cosignatures: int
    size: int
    root: str
    receipts: tuple[Receipt, ...] = ()

    def first_receipt(self, seq: int) -> Receipt | None:
        """The first cosignature covering entry ``seq``, if any."""
        return next((r for r in self.receipts if r.first_seq <= seq <= r.last_seq), None)

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "cosignatures": self.cosignatures,
            "size": self.size,
            "root": self.root,
            "receipts": [r.to_json() for r in self.receipts],
        }


@dataclass(frozen=True)
class Report:
    """The verdict on an evidence file: problems (tampering, equivocation) and warnings.

    ``problems`` are in log order (the file's order of logs, then by seq); ``first_bad`` is the
    first problem located at an entry, else the first problem (seq None), else None.
    """

    problems: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    logs: tuple[LogStats, ...]
    keys_source: Literal["trusted", "file"]
    exported: str
    exported_by: str

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> tuple[str, int | None] | None:
        at_entry = [p for p in self.problems if p.seq is not None]
        candidates = at_entry or list(self.problems)
        return (candidates[0].origin, candidates[0].seq) if candidates else None

    def to_json(self) -> dict[str, object]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "first_bad": None if first is None else {"origin": first[0], "seq": first[1]},
            "keys": self.keys_source,
            "exported": self.exported,
            "exported_by": self.exported_by,
            "problems": [p.to_json() for p in self.problems],
            "warnings": [w.to_json() for w in self.warnings],
            "logs": [log.to_json() for log in self.logs],
        }

    def summary_lines(self, limit: int = 20) -> list[str]:
        """A short human summary: verdict, logs, the first ``limit`` problems and warnings."""
        lines = [f"evidence exported by {self.exported_by} at {self.exported}"]
        if self.keys_source == "trusted":
            lines.append("keys: checked against the configured keys")
        else:
            lines.append(
                "keys: taken from the file itself (no configured keys given): this shows the "
                "record is consistent, not who wrote it"
            )
        for log in self.logs:
            lines.append(
                f"log {log.origin}: {log.entries} entries, {log.checkpoints} checkpoints, "
                f"{log.cosignatures} cosignatures, root {log.root}"
            )
        first = self.first_bad
        if first is None:
            lines.append("OK: no tampering or equivocation found")
        else:
            where = first[0] if first[1] is None else f"{first[0]}#{first[1]}"
            lines.append(f"FAILED: {len(self.problems)} problem(s); first bad: {where}")
        for finding in self.problems[:limit]:
            lines.append(f"  problem: {finding.line()}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more problems")
        for finding in self.warnings[:limit]:
            lines.append(f"  warning: {finding.line()}")
        if len(self.warnings) > limit:
            lines.append(f"  ... and {len(self.warnings) - limit} more warnings")
        return lines
