"""Agreements: which versions of the rulebook and the mechanism both parties signed.

A node proposes each of its pack's documents to the peer as a hotline ``agreement`` entry
carrying the document's canonical SHA-256; the peer compares it with its own copy and, when
they match, countersigns with an ``agreement`` entry referring to the proposal. The body of
both is the hotline's ``agreement`` schema (:data:`seabridge.hotline.entries.BODY_FIELDS`)::

    {"role": "proposal" | "countersignature", "document": "rulebook/ecs-standard/v1",
     "sha256": "<64 lower-case hex digits>"}

and a countersignature has exactly one ref: the proposal. A (document, sha256) is **jointly
agreed** once one party proposed it and another party countersigned that very proposal with
the same document and hash. :class:`AgreementBook` is pure logic over such messages from both
logs, in any order; the node feeds it and shows the result, and every event or incident raised
under a rulebook hash that is not jointly agreed carries a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from seabridge.errors import IncidentError

__all__ = [
    "AgreementBook",
    "AgreementMessage",
    "countersign_body",
    "document_name",
    "proposal_body",
    "review",
]

Role = Literal["proposal", "countersignature"]
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_DOCUMENT: Final = re.compile(r"[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*/v[1-9][0-9]*")


def document_name(kind: str, document_id: str, version: int) -> str:
    """The name an agreement gives a document: ``rulebook/ecs-standard/v1``.

    Raises:
        IncidentError: the parts do not make such a name.
    """
    name = f"{kind}/{document_id}/v{version}"
    if not _DOCUMENT.fullmatch(name):
        raise IncidentError(f"{name!r} is not a document name such as rulebook/ecs-standard/v1")
    return name


def _check(document: str, sha256: str) -> None:
    if not isinstance(document, str) or not _DOCUMENT.fullmatch(document):
        raise IncidentError(f"agreement: {document!r} is not a document name (kind/id/vN)")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise IncidentError(f"agreement: {sha256!r} is not 64 lower-case hex digits")


def proposal_body(document: str, sha256: str) -> dict[str, str]:
    """The body of an ``agreement`` entry proposing ``document`` at ``sha256`` (no refs)."""
    _check(document, sha256)
    return {"role": "proposal", "document": document, "sha256": sha256}


@dataclass(frozen=True, slots=True)
class AgreementMessage:
    """One ``agreement`` entry, as the incidents layer sees it."""

    author: str
    """The party that wrote it (``jcg``)."""
    origin: str
    """The log it is in (``jcg/hotline/ccg``)."""
    seq: int
    role: Role
    document: str
    sha256: str
    refs: tuple[tuple[str, int], ...] = ()
    created_ms: int = 0

    @classmethod
    def from_body(
        cls,
        author: str,
        origin: str,
        seq: int,
        body: Mapping[str, Any],
        refs: Sequence[tuple[str, int]] = (),
        created_ms: int = 0,
    ) -> AgreementMessage:
        """A message from an entry's parts.

        Raises:
            IncidentError: the body is not an agreement body, or a countersignature does not
                have exactly one ref.
        """
        role, document, sha256 = body.get("role"), body.get("document"), body.get("sha256")
        if role not in ("proposal", "countersignature"):
            raise IncidentError(
                f"agreement {origin}#{seq}: role {role!r} is not proposal or countersignature"
            )
        _check(str(document), str(sha256))
        if role == "countersignature" and len(refs) != 1:
            raise IncidentError(
                f"agreement {origin}#{seq}: a countersignature refers to exactly one proposal"
            )
        ref_pairs = tuple((str(log), int(number)) for log, number in refs)
        return cls(author, origin, seq, role, str(document), str(sha256), ref_pairs, created_ms)


def countersign_body(proposal: AgreementMessage) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """The body and refs of a countersignature of ``proposal``."""
    body = {"role": "countersignature", "document": proposal.document, "sha256": proposal.sha256}
    return body, [(proposal.origin, proposal.seq)]


def review(
    proposal: AgreementMessage, own: Mapping[str, str]
) -> tuple[dict[str, str], list[tuple[str, int]]] | None:
    """Countersign ``proposal`` only if our copy of the document (``own``: document name ->
    our canonical SHA-256) has the same hash; ``None`` otherwise (the operator is told)."""
    if proposal.role != "proposal" or own.get(proposal.document) != proposal.sha256:
        return None
    return countersign_body(proposal)


class AgreementBook:
    """Proposals and countersignatures of both parties, and what they jointly agree."""

    def __init__(self, messages: Iterable[AgreementMessage] = ()) -> None:
        self._proposals: dict[tuple[str, int], AgreementMessage] = {}
        self._countersignatures: list[AgreementMessage] = []
        for message in messages:
            self.add(message)

    def add(self, message: AgreementMessage) -> None:
        """Record one message (idempotent on its (origin, seq); any order)."""
        if message.role == "proposal":
            self._proposals[(message.origin, message.seq)] = message
        elif message not in self._countersignatures:
            self._countersignatures.append(message)

    def _agreements(self) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
        """(document, sha256) -> (parties proposing, parties countersigning a proposal)."""
        found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        for proposal in self._proposals.values():
            found.setdefault((proposal.document, proposal.sha256), (set(), set()))[0].add(
                proposal.author
            )
        for signature in self._countersignatures:
            target = self._proposals.get(signature.refs[0]) if signature.refs else None
            if (
                target is None
                or target.author == signature.author
                or (target.document, target.sha256) != (signature.document, signature.sha256)
            ):
                continue  # not (yet) a countersignature of a matching proposal by another party
            found[(signature.document, signature.sha256)][1].add(signature.author)
        return found

    def jointly_agreed(self, document_prefix: str = "") -> set[str]:
        """The hashes jointly agreed for documents whose name starts with ``document_prefix``
        (``"rulebook/"``, ``"mechanism/ecs-mechanism/"``)."""
        return {
            sha256
            for (document, sha256), (_, signed) in self._agreements().items()
            if signed and document.startswith(document_prefix)
        }

    def is_agreed(self, sha256: str) -> bool:
        """Whether some document with this hash (a rulebook's) is jointly agreed."""
        return any(signed and sha == sha256 for (_, sha), (_, signed) in self._agreements().items())

    def status(self) -> list[dict[str, Any]]:
        """Every (document, sha256) proposed, as JSON: who proposed, who countersigned,
        whether it is jointly agreed; sorted by document and hash."""
        return [
            {
                "document": document,
                "sha256": sha256,
                "proposed_by": sorted(proposed),
                "countersigned_by": sorted(signed),
                "agreed": bool(signed),
            }
            for (document, sha256), (proposed, signed) in sorted(self._agreements().items())
        ]
