"""The incidents of a running node, wired to its ledger: sends, inbound messages, deadlines.

:class:`IncidentsService` builds the :class:`~seabridge.incidents.IncidentManager` of a node
directory over its :class:`~seabridge.hotline.ledger.Ledger` and connects the two without
either knowing the other:

- the manager's :class:`~seabridge.incidents.model.SendFn` renders the phrasebook template in
  the sending level's language (the first language of this party's counterpart at that level
  in the mechanism; ``en`` when the phrasebook lacks it) and appends a ``notification`` or
  ``escalation`` entry with the body schema of :data:`seabridge.hotline.entries.BODY_FIELDS`,
  refs carrying the referenced entries' leaf hashes, and the manager's ``msg_id`` (the ledger's
  idempotency key);
- :meth:`IncidentsService.consume` hands each peer mirror's new entries to the manager inside
  the ledger's consume transaction (exactly once), and ``agreement`` entries to the
  :class:`~seabridge.incidents.AgreementBook`;
- :meth:`IncidentsService.deadline_missed` turns the hotline's ``deadline-missed`` entries into
  escalations (one per miss; the manager refuses a second);
- agreements: :meth:`~IncidentsService.propose` and :meth:`~IncidentsService.countersign` send
  ``agreement`` entries for the pack's rulebooks and mechanism by canonical SHA-256.

On start the book is built from both logs of every channel, ``deadline-missed`` entries a crash
left unhandled are handed to the manager again (idempotent), and
:meth:`~seabridge.incidents.IncidentManager.check_timers` sends what a crash left pending.

A node with no peer yet still opens incidents and signs their notifications at once: the
ledger has a channel to every other party of the pack, configured or not, and what its own log
holds is pushed once ``seabridge peer add`` has configured the peer's keys. This module never
imports the web layer or the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seabridge.clock import Clock
from seabridge.detect.model import Event, RulebookRef
from seabridge.detect.rulebook import Rulebook, load_rulebook, pack_rulebooks
from seabridge.errors import IncidentError, PackError
from seabridge.geo import load_zones
from seabridge.hotline.entries import Entry, Ref, parse_timestamp
from seabridge.hotline.ledger import Ledger
from seabridge.incidents import (
    AgreementBook,
    AgreementMessage,
    Change,
    IncidentManager,
    Mechanism,
    MessageRef,
    Outgoing,
    PeerMessage,
    document_name,
    load_mechanism,
    proposal_body,
    review,
)
from seabridge.node.directory import NodeConfig
from seabridge.node.events import read_events
from seabridge.packs import Pack, Party, load_pack, load_parties
from seabridge.packs.phrasebook import Phrasebook, load_phrasebook

__all__ = [
    "AgreementReview",
    "IncidentsService",
    "ServedIncidents",
    "rulebook_warning",
]

log = logging.getLogger(__name__)


@dataclass
class AgreementReview:
    """What :meth:`IncidentsService.countersign` did with the peers' proposals."""

    signed: list[dict[str, Any]] = field(default_factory=list)
    """Countersignatures sent: ``{peer, document, sha256, proposal_seq, seq}``."""
    refused: list[dict[str, Any]] = field(default_factory=list)
    """Proposals not countersigned: ``{peer, document, sha256, own_sha256, reason}``."""


class IncidentsService:
    """The incidents of one node over its ledger.

    Args:
        node: The node directory's configuration (party, packs, state file).
        ledger: The node's ledger (the caller keeps and closes it).
        clock: Time of deadlines and timestamps.
        statics: Static data of a vessel by MMSI for display (optional).

    Raises:
        PackError: no pack in use has a mechanism, or a pack file is invalid.
    """

    def __init__(
        self,
        node: NodeConfig,
        ledger: Ledger,
        clock: Clock,
        *,
        statics: Callable[[int], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self.node = node
        self.ledger = ledger
        self.clock = clock
        self.pack = _mechanism_pack(node)
        self.mechanism: Mechanism = load_mechanism(self.pack)
        self.phrasebook: Phrasebook = load_phrasebook(self.pack)
        self.parties: tuple[Party, ...] = tuple(load_parties(self.pack))
        self.rulebooks: tuple[Rulebook, ...] = _rulebooks(self.pack, self.parties)
        self._agreements: list[AgreementMessage] = []
        self._own_scanned: dict[str, int] = {}
        self.book = AgreementBook()
        self.manager = IncidentManager(
            node.dir.state,
            self.mechanism,
            node.party,
            clock,
            self._send,
            parties=self.parties,
            statics=statics,
            agreed=self.book.is_agreed,
        )

    def close(self) -> None:
        """Close the manager's connection (the ledger stays the caller's)."""
        self.manager.close()

    def __enter__(self) -> IncidentsService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- start-up ----------------------------------------------------------------------------

    def start(self) -> list[Change]:
        """Build the agreement book from both logs of every channel, hand unhandled
        ``deadline-missed`` entries to the manager again (idempotent), consume what the
        mirrors hold, then :meth:`~seabridge.incidents.IncidentManager.check_timers` (sends
        what a crash left pending; overdue timers come back as ``overdue`` changes)."""
        for peer in sorted(self.ledger.peers):
            for entry in self.ledger.read_entries(self.ledger.mirror_origin(peer)):
                if entry.kind == "agreement":
                    self._record(peer, entry)
        return self.check()

    # --- outbound ----------------------------------------------------------------------------

    def language(self, level: int) -> str:
        """The language messages of ladder ``level`` are written in: the first language of
        this party's counterpart at that level (``en`` when the phrasebook lacks it)."""
        try:
            notify = self.mechanism.step(level).notify_level
            languages = self.mechanism.counterpart(self.node.party, notify).languages
        except KeyError:
            return "en"
        first = languages[0] if languages else "en"
        return first if first in self.phrasebook.languages else "en"

    def _send(self, message: Outgoing) -> MessageRef:
        lang = self.language(message.level)
        text, text_en = self.phrasebook.render(message.template_id, lang, message.params)
        body: dict[str, object] = {
            "text": text,
            "text_en": text_en,
            "marker": self.phrasebook.template(message.template_id).marker,
            "template": message.template_id,
            "params": dict(message.params),
            "incident": message.incident_key,
        }
        if message.kind == "escalation":
            body["level"] = message.level
        entry = self.ledger.send(
            message.peer,
            message.kind,
            body,
            refs=[self.ref(origin, seq) for origin, seq in message.refs],
            deadline_ms=message.deadline_ms,
            lang=lang,
            msg_id=message.msg_id,
        )
        return MessageRef(entry.log, entry.seq, entry.msg_id)

    def ref(self, origin: str, seq: int) -> Ref:
        """A hotline reference to entry ``seq`` of ``origin`` (own log or mirror), with its
        leaf hash.

        Raises:
            IncidentError: the entry is not stored here.
        """
        found = self.ledger.entries(origin, seq, seq + 1) if seq >= 0 else []
        if not found:
            raise IncidentError(f"{origin}#{seq}: no such entry in this node's record")
        return Ref(origin, seq, Entry.from_bytes(found[0][0]).leaf_hash())

    # --- inbound -----------------------------------------------------------------------------

    def _scan_own(self) -> list[Entry]:
        """Record the agreement entries appended to our own logs since the last scan (also
        by another process, such as ``seabridge agreements propose``); return the
        ``deadline-missed`` entries among them. Every channel, configured or not."""
        missed: list[Entry] = []
        for peer in self.ledger.channels:
            origin = self.ledger.own_origin(peer)
            start = self._own_scanned.get(origin, 0)
            for entry in self.ledger.read_entries(origin, start):
                if entry.kind == "agreement":
                    self._record(self.node.party, entry)
                elif entry.kind == "deadline-missed":
                    missed.append(entry)
                self._own_scanned[origin] = entry.seq + 1
        return missed

    def consume(self) -> list[Change]:
        """Hand every new entry of each peer's mirror to the incidents (exactly once, in the
        ledger's consume transaction) and agreement entries to the book. Entries appended to
        our own logs since the last call (also by another process) are read too: agreements
        go to the book, ``deadline-missed`` entries to :meth:`deadline_missed` (idempotent, so
        the Delivery loop's callback and this round never escalate twice)."""
        changes = self.deadline_missed(self._scan_own())
        for peer in sorted(self.ledger.peers):

            def handler(conn: sqlite3.Connection, entry: Entry, peer: str = peer) -> None:
                if entry.kind == "agreement":
                    self._record(peer, entry)
                    return
                changes.extend(self.manager.on_peer_message(conn, peer_message(peer, entry)))

            self.ledger.consume(self.ledger.mirror_origin(peer), handler)
        return changes

    def deadline_missed(self, entries: Iterable[Entry]) -> list[Change]:
        """Escalate for each ``deadline-missed`` entry (the Delivery loop's callback).

        One escalation per miss: the manager escalates only an armed timer, so an entry handed
        twice (a restart, :meth:`start`) changes nothing the second time.
        """
        changes: list[Change] = []
        for entry in entries:
            if entry.kind != "deadline-missed":
                continue
            for ref in entry.refs:
                changes.extend(self.manager.on_deadline_missed((ref.log, ref.seq)))
        return changes

    def check(self, now_ms: int | None = None) -> list[Change]:
        """One periodic round: :meth:`consume`, then send what is pending and report overdue
        timers (the hotline's ``deadline-missed`` entries escalate them)."""
        return self.consume() + self.manager.check_timers(now_ms)

    # --- events ------------------------------------------------------------------------------

    def apply_events(self, events: Iterable[Event]) -> list[Change]:
        """Open, join, update or retract incidents for detection events."""
        return self.manager.apply_events(events)

    def apply_events_file(self, path: Path) -> tuple[list[Change], list[Event]]:
        """Apply the events of a ``seabridge detect`` JSONL file; returns the changes and the
        events read.

        Raises:
            InputError: the file cannot be read, or a line is not an event (line named).
        """
        events = list(read_events(path))
        return self.apply_events(events), events

    def pending(self) -> int:
        """How many outbound incident messages wait to be signed (a send that failed, e.g. to
        a party that is neither in the pack nor configured)."""
        with self.manager.store.read() as conn:
            row = conn.execute(
                "SELECT count(*) FROM incident_outbox WHERE state = 'pending'"
            ).fetchone()
        return int(row[0])

    def rulebook_warning(self, ref: RulebookRef | Mapping[str, Any]) -> str | None:
        """The warning an event or incident raised under ``ref`` carries, or ``None`` when
        its rulebook hash is jointly agreed."""
        return rulebook_warning(ref, self.book.is_agreed)

    # --- agreements --------------------------------------------------------------------------

    def documents(self) -> dict[str, str]:
        """This node's documents open to agreement: name -> canonical SHA-256."""
        own = {
            document_name("rulebook", rulebook.id, rulebook.version): rulebook.sha256
            for rulebook in self.rulebooks
        }
        own[self.mechanism.document] = self.mechanism.sha256
        return own

    def _record(self, author: str, entry: Entry) -> AgreementMessage | None:
        try:
            message = AgreementMessage.from_body(
                author,
                entry.log,
                entry.seq,
                entry.body,
                [(ref.log, ref.seq) for ref in entry.refs],
                parse_timestamp(entry.created),
            )
        except IncidentError as exc:
            log.warning("agreement entry not understood: %s", exc)
            return None
        if message not in self._agreements:
            self._agreements.append(message)
            self.book.add(message)
        return message

    def propose(self, peers: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Propose every document of :meth:`documents` to each peer, by default on every
        channel, configured or not (idempotent: a proposal already sent is returned as
        stored)."""
        sent = []
        for peer in peers if peers is not None else self.ledger.channels:
            for document, sha256 in sorted(self.documents().items()):
                msg_id = f"agreement.proposal.{document.replace('/', ':')}.{sha256[:16]}"
                entry = self.ledger.send(
                    peer, "agreement", proposal_body(document, sha256), msg_id=msg_id
                )
                self._record(self.node.party, entry)
                sent.append(_agreement_row(peer, entry))
        return sent

    def countersign(self) -> AgreementReview:
        """Review every peer proposal not yet countersigned here against :meth:`documents`:
        countersign the matching ones, refuse the others (both hashes given)."""
        own = self.documents()
        result = AgreementReview()
        signed = {m.refs[0] for m in self._agreements if m.role == "countersignature" and m.refs}
        for proposal in list(self._agreements):
            peer = proposal.author
            if proposal.role != "proposal" or peer == self.node.party:
                continue
            if (proposal.origin, proposal.seq) in signed:
                continue
            answer = review(proposal, own)
            if answer is None:
                result.refused.append(_refusal(proposal, own.get(proposal.document)))
                continue
            body, refs = answer
            entry = self.ledger.send(
                peer,
                "agreement",
                body,
                refs=[self.ref(origin, seq) for origin, seq in refs],
                msg_id=f"agreement.countersignature.{proposal.seq}",
            )
            self._record(self.node.party, entry)
            result.signed.append({**_agreement_row(peer, entry), "proposal_seq": proposal.seq})
        return result

    def agreements(self) -> list[dict[str, Any]]:
        """Every (document, sha256) proposed by either side, with who proposed and who
        countersigned, whether it is jointly agreed and whether it is this node's copy."""
        own = self.documents()
        rows = self.book.status()
        for row in rows:
            row["own"] = own.get(row["document"]) == row["sha256"]
        return rows


class ServedIncidents:
    """The incidents of a node under ``seabridge serve``: started with the ledger, a periodic
    round (:meth:`IncidentsService.check`) beside the delivery loop, and the delivery loop's
    ``on_deadline_missed`` callback. A node whose packs have no mechanism serves without
    incidents (logged once).

    Args:
        node, ledger, clock: As :class:`IncidentsService`.
        interval_s: Seconds between rounds.
        wait: ``await wait(seconds)`` between rounds (tests); default: until ``stop`` or the
            interval passes.
    """

    def __init__(
        self,
        node: NodeConfig,
        ledger: Ledger,
        clock: Clock,
        *,
        interval_s: float = 1.0,
        wait: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self._wait = wait
        self.service: IncidentsService | None
        try:
            self.service = IncidentsService(node, ledger, clock)
        except PackError as exc:
            log.warning("incidents are off: %s", exc)
            self.service = None
            return
        _log_changes(self.service.start())

    def on_deadline_missed(self, entries: Sequence[Entry]) -> None:
        """The delivery loop's callback: escalate once per ``deadline-missed`` entry."""
        if self.service is not None:
            _log_changes(self.service.deadline_missed(entries))

    async def run(self, stop: asyncio.Event) -> None:
        """Run rounds until ``stop`` is set; an error in a round is logged, not fatal."""
        while self.service is not None and not stop.is_set():
            try:
                _log_changes(self.service.check())
            except Exception:  # the loop must outlive any one bad round
                log.exception("incidents round failed")
            if self._wait is not None:
                await self._wait(self.interval_s)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval_s)

    def close(self) -> None:
        if self.service is not None:
            self.service.close()


def _log_changes(changes: Sequence[Change]) -> None:
    for change in changes:
        if change.kind == "overdue":  # until the hotline's next deadline round: not news
            continue
        level = logging.WARNING if change.kind in ("escalated", "flagged", "send_failed") else 0
        log.log(level or logging.INFO, "incident %s: %s (%s, level %d) %s", change.incident_id,
                change.kind, change.status, change.level, dict(change.detail))  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


def _mechanism_pack(node: NodeConfig) -> Pack:
    for name in node.packs:
        pack = load_pack(name)
        if "mechanism" in pack.files:
            return pack
    raise PackError(
        f"{node.dir.toml}: no pack in use ({', '.join(node.packs) or 'none'}) has a mechanism "
        "file; incidents need one"
    )


def _rulebooks(pack: Pack, parties: Sequence[Party]) -> tuple[Rulebook, ...]:
    paths = pack_rulebooks(pack)
    if not paths:
        return ()
    zone_ids = load_zones(pack).ids
    return tuple(
        load_rulebook(path, pack, zone_ids=zone_ids, parties=parties) for path in paths.values()
    )


def peer_message(peer: str, entry: Entry) -> PeerMessage:
    """The incidents' view of one entry of ``peer``'s log."""
    return PeerMessage(
        origin=entry.log,
        seq=entry.seq,
        msg_id=entry.msg_id,
        kind=entry.kind,
        body=dict(entry.body),
        refs=tuple((ref.log, ref.seq) for ref in entry.refs),
        created_ms=parse_timestamp(entry.created),
        deadline_ms=None if entry.deadline is None else parse_timestamp(entry.deadline),
        author=peer,
    )


def _agreement_row(peer: str, entry: Entry) -> dict[str, Any]:
    return {
        "peer": peer,
        "origin": entry.log,
        "seq": entry.seq,
        "msg_id": entry.msg_id,
        "role": entry.body["role"],
        "document": entry.body["document"],
        "sha256": entry.body["sha256"],
    }


def _refusal(proposal: AgreementMessage, own_sha256: str | None) -> dict[str, Any]:
    if own_sha256 is None:
        reason = f"{proposal.document} is not a document of this node's pack"
    else:
        reason = (
            f"{proposal.document}: the peer proposed sha256 {proposal.sha256} but this node's "
            f"copy is {own_sha256}"
        )
    return {
        "peer": proposal.author,
        "origin": proposal.origin,
        "seq": proposal.seq,
        "document": proposal.document,
        "sha256": proposal.sha256,
        "own_sha256": own_sha256,
        "reason": reason,
    }


def rulebook_warning(
    ref: RulebookRef | Mapping[str, Any], agreed: Callable[[str], bool]
) -> str | None:
    """The warning for something raised under rulebook ``ref`` (the same text incidents
    show), or ``None`` when its hash is jointly agreed."""
    data = ref.as_json() if isinstance(ref, RulebookRef) else dict(ref)
    sha = str(data.get("sha256", ""))
    if agreed(sha):
        return None
    return (
        f"rulebook {data.get('id')} v{data.get('version')} ({sha[:12]}) is not jointly agreed "
        "with the other party"
    )
