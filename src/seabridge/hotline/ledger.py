"""The joint record of one node: own logs (outbox), peer mirrors (inbox), receipts, delivery.

Implements ``domain/hotline-protocol.md`` §5.4-5.10 over :mod:`seabridge.hotline.store`:

- :meth:`Ledger.send` appends to the own log of a channel in one transaction (§5.5).
- :meth:`Ledger.push_request` / :meth:`Ledger.accept_response` / :meth:`Ledger.accept_conflict`
  are the sender's side of ``POST /v1/push``; :meth:`Ledger.receive_push` the receiver's (§5.6).
- :meth:`Ledger.consume` gives mirrored entries to the application exactly once (§5.8).
- :meth:`Ledger.check_deadlines` appends ``deadline-missed``; escalating is the application's
  decision (amendment 3).

Origins: ``{party}/hotline/{peer}`` is this node's log on the channel to ``peer``;
``{peer}/hotline/{party}`` is the mirror of the peer's log. A checkpoint of size ``n`` is signed
with the log key valid at seq ``n - 1`` (the key of its last entry; the initial key for 0).

Channels: one per peer with keys (``peers``) and one per party named in ``channels`` whose keys
are not configured yet (the other parties of the node's pack). Signing into the own log needs
only this node's keys, so every channel can :meth:`Ledger.send`; pushing, receiving and
mirroring need the peer's keys and refuse an unconfigured channel with
:class:`~seabridge.errors.UnknownPeerError` ("not configured yet: seabridge peer add"). Opening
the ledger again with the peer's keys stores them as any initial key, and what the own log
holds is then pushed as usual.

Nothing is returned before its transaction has committed (``synchronous=FULL``). The ledger
never imports incidents, AIS or the web; the transport is someone else's.

:class:`Ledger` is the facade: it holds the lock, the clock, the keys and the cached trees, and
runs the work of :mod:`~seabridge.hotline.log_rows` (shared log reads and writes),
:mod:`~seabridge.hotline.receive` (the receiver's checks and evidence),
:mod:`~seabridge.hotline.delivery_state` (cursors, backoff, alarms) and
:mod:`~seabridge.hotline.open_deadlines` (the deadlines not answered yet) inside its
transactions.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seabridge.clock import Clock
from seabridge.errors import (
    EquivocationError,
    LedgerError,
    MalformedError,
    NoCheckpointError,
    SignatureError,
    UnknownPeerError,
    VerificationError,
)
from seabridge.hotline import delivery_state, log_rows, open_deadlines
from seabridge.hotline.delivery_state import DeliveryState
from seabridge.hotline.entries import Entry, Ref, format_timestamp, sign_entry
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey, Verifier
from seabridge.hotline.merkle import MerkleTree
from seabridge.hotline.notes import Checkpoint, cosign, sign_checkpoint, verify_cosignature
from seabridge.hotline.push import MAX_BATCH, PushBody, parse_entries, parse_push, push_json
from seabridge.hotline.receive import (
    EvidenceFound,
    evidence_rows,
    keep_evidence,
    pulled_push,
    receive,
)
from seabridge.hotline.store import Store
from seabridge.hotline.views import export_evidence, log_view

__all__ = ["MAX_PULL", "DeliveryState", "Ledger", "new_msg_id"]

MAX_PULL = 1000
"""Most entries :meth:`Ledger.entries` returns at once (ask again from the next start)."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_msg_id(now_ms: int) -> str:
    """A ULID-like id: 48-bit milliseconds + 80 random bits, Crockford base32 (26 chars)."""
    value = (now_ms & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class Ledger:
    """One node's hotline record in ``state.sqlite``.

    Args:
        path: the SQLite file (created when missing).
        party: this node's party id (lowercase, e.g. ``jcg``).
        log_key: the current log key (type 0x01, ``{party}/hotline``).
        cosigner_key: the current cosigner key (type 0x04, ``{party}/hotline/cosigner``).
        peers: peer party -> (its log verifier, its cosigner verifier), as first configured.
            Only these channels push, receive and mirror; :attr:`peers` is this mapping.
        clock: wall time for ``created``, cosignature times, backoff and deadlines.
        backoff_cap_s: longest push retry delay (30 s in production, 1-2 s in tests).
        rng: the jitter source (seed it in tests).
        heartbeat_interval_s: the default interval of :meth:`heartbeat_due`.
        channels: more peer parties whose keys are not configured yet (e.g. the other parties
            of the node's pack): their own logs are created and can be sent on, and a later
            open with their keys in ``peers`` accepts those keys. A party also in ``peers``
            is simply configured. :attr:`channels` lists every channel's peer.

    Raises:
        LedgerError: the database cannot be used, or a key is not the one the record expects.
        EquivocationError: a stored checkpoint contradicts the stored log (a rollback, S7).
    """

    def __init__(
        self,
        path: Path,
        party: str,
        log_key: SigningKey,
        cosigner_key: SigningKey,
        peers: Mapping[str, tuple[Verifier, Verifier]],
        clock: Clock,
        *,
        backoff_cap_s: float = 30.0,
        rng: random.Random | None = None,
        heartbeat_interval_s: float = 60.0,
        channels: Iterable[str] = (),
    ) -> None:
        if log_key.key_type != KEY_TYPE_NOTE or cosigner_key.key_type != KEY_TYPE_COSIGNATURE:
            raise LedgerError("the log key must be type 0x01 and the cosigner key type 0x04")
        for peer, (log_v, cos_v) in peers.items():
            if log_v.key_type != KEY_TYPE_NOTE or cos_v.key_type != KEY_TYPE_COSIGNATURE:
                raise LedgerError(f"peer {peer}: log vkey must be type 0x01, cosigner type 0x04")
        self.party = party
        self.peers = dict(peers)
        self.channels: tuple[str, ...] = tuple(sorted({*self.peers, *channels}))
        if party in self.channels:
            raise LedgerError(f"{party} cannot have a channel to itself")
        self._clock = clock
        self._cap_s = backoff_cap_s
        self._rng = rng or random.Random()
        self._heartbeat_s = heartbeat_interval_s
        self._own_keys = {log_key.verifier.vkey(): log_key}
        self._cosigner = cosigner_key
        self._lock = threading.RLock()
        self._trees: dict[str, MerkleTree] = {}
        self._store = Store(path)
        try:
            self._open()
        except BaseException:
            self._store.close()
            raise

    # --- origins and opening ------------------------------------------------------------------

    def own_origin(self, peer: str) -> str:
        """The origin of this node's log on the channel to ``peer`` (configured or not)."""
        self._check_channel(peer)
        return f"{self.party}/hotline/{peer}"

    def mirror_origin(self, peer: str) -> str:
        """The origin of ``peer``'s log on the channel to this node (mirrored here).

        Raises:
            UnknownPeerError: no channel to ``peer``, or its keys are not configured yet.
        """
        self._check_peer(peer)
        return self._mirror(peer)

    def _mirror(self, peer: str) -> str:
        return f"{peer}/hotline/{self.party}"

    def _check_channel(self, peer: str) -> None:
        if peer not in self.channels:
            raise UnknownPeerError(
                f"peer {peer!r} is neither configured nor a party of this node's pack "
                f"(channels: {', '.join(self.channels) or 'none'})"
            )

    def _check_peer(self, peer: str) -> None:
        """A channel whose peer keys are configured (push, receive, mirror)."""
        self._check_channel(peer)
        if peer not in self.peers:
            raise UnknownPeerError(
                f"peer {peer} is not configured yet: seabridge peer add DIR BUNDLE (messages "
                f"to {peer} are signed and kept in {self.party}/hotline/{peer} until then)"
            )

    def _peer_of(self, origin: str) -> str:
        for peer in self.channels:
            if origin == self._mirror(peer):
                self._check_peer(peer)
                return peer
        raise UnknownPeerError(f"origin {origin!r} is not the log of a configured peer")

    def _open(self) -> None:
        now = self._clock.now_ms()
        log_key = next(iter(self._own_keys.values()))
        with self._store.transaction() as conn:
            for peer in self.channels:
                own = self.own_origin(peer)
                log_rows.init_key(conn, own, "log", log_key.verifier, own_key=True)
                log_rows.init_key(conn, own, "cosigner", self._cosigner.verifier, own_key=True)
                delivery_state.create(conn, peer, now)
            for peer, (log_v, cos_v) in self.peers.items():
                mirror = self.mirror_origin(peer)
                log_rows.init_key(conn, mirror, "log", log_v, own_key=False)
                log_rows.init_key(conn, mirror, "cosigner", cos_v, own_key=False)
            origins = [r[0] for r in conn.execute("SELECT DISTINCT origin FROM log")]
            for origin in sorted({*origins, *map(self.own_origin, self.channels)}):
                self._trees[origin] = log_rows.check_stored(conn, origin)
            for peer in self.channels:
                own = self.own_origin(peer)
                tree = self._trees[own]
                if tree.size == 0 and log_rows.checkpoint_row(conn, own, 0) is None:
                    self._issue_checkpoint(conn, own, tree)

    def _tree(self, conn: sqlite3.Connection, origin: str) -> MerkleTree:
        """The tree of ``origin``, reloaded when another connection has appended."""
        tree = self._trees.get(origin)
        if tree is None or tree.size != log_rows.log_size(conn, origin):
            tree = self._trees[origin] = log_rows.load_tree(conn, origin)
        return tree

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A transaction under the lock; cached trees are dropped when it rolls back."""
        with self._lock:
            try:
                with self._store.transaction() as conn:
                    yield conn
            except BaseException:
                self._trees.clear()
                raise

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keys --------------------------------------------------------------------------------

    def _signer(self, conn: sqlite3.Connection, origin: str, seq: int) -> SigningKey:
        vkey = log_rows.schedule(conn, origin, "log").at(seq).vkey()
        key = self._own_keys.get(vkey)
        if key is None:
            raise LedgerError(f"{origin}: the log key valid at seq {seq} ({vkey}) is not loaded")
        return key

    def rotate_key(self, role: str, new_key: SigningKey) -> list[Entry]:
        """Announce ``new_key`` for ``role`` (``log`` or ``cosigner``) in every own log (§5.10).

        Each announcement is a ``key-rotation`` entry signed by the old key, valid from the next
        seq; afterwards the new key signs. A peer accepts cosignatures by any cosigner key
        announced in its mirror, so a new cosigner key is usable by the peer once the rotation
        entry has been pushed.
        """
        wanted = {"log": KEY_TYPE_NOTE, "cosigner": KEY_TYPE_COSIGNATURE}.get(role)
        if wanted is None or new_key.key_type != wanted:
            raise LedgerError(f"role {role!r} needs a key of type {wanted or 'log|cosigner'}")
        vkey = new_key.verifier.vkey()
        created = []
        with self._write() as conn:
            for peer in self.channels:
                origin = self.own_origin(peer)
                from_seq = self._tree(conn, origin).size + 1
                body = {"role": role, "vkey": vkey, "from_seq": from_seq}
                entry = self._append(conn, peer, "key-rotation", body, (), None, "en", None)
                conn.execute("INSERT INTO keys VALUES (?, ?, ?, ?)", (origin, role, from_seq, vkey))
                created.append(entry)
        if role == "log":
            self._own_keys[vkey] = new_key
        else:
            self._cosigner = new_key
        return created

    # --- send (§5.5) -------------------------------------------------------------------------

    def send(
        self,
        peer: str,
        kind: str,
        body: Mapping[str, object],
        *,
        refs: Sequence[Ref] = (),
        deadline_ms: int | None = None,
        lang: str = "en",
        msg_id: str | None = None,
    ) -> Entry:
        """Append an entry to the own log for ``peer``; return it once committed.

        Idempotent on ``msg_id``: the same id returns the stored entry. Works on every channel,
        also one whose peer keys are not configured yet (the entry waits for the first push).

        Raises:
            UnknownPeerError: no channel to ``peer``.
            LedgerError: ``msg_id`` is stored with different content.
            MalformedError: the entry is not valid (the message names the field).
        """
        deadline = None if deadline_ms is None else format_timestamp(deadline_ms)
        with self._write() as conn:
            origin = self.own_origin(peer)
            stored = None if msg_id is None else log_rows.entry_by_msg_id(conn, origin, msg_id)
            if stored is not None:
                kept = (stored.kind, dict(stored.body), stored.refs, stored.deadline, stored.lang)
                if kept != (kind, dict(body), tuple(refs), deadline, lang):
                    raise LedgerError(
                        f"msg_id {msg_id} is stored as seq {stored.seq} with other content"
                    )
                return stored
            return self._append(conn, peer, kind, body, refs, deadline, lang, msg_id)

    def _append(
        self,
        conn: sqlite3.Connection,
        peer: str,
        kind: str,
        body: Mapping[str, object],
        refs: Sequence[Ref],
        deadline: str | None,
        lang: str,
        msg_id: str | None,
    ) -> Entry:
        origin, mirror = self.own_origin(peer), self._mirror(peer)
        tree = self._tree(conn, origin)
        now = self._clock.now_ms()
        head = log_rows.latest_checkpoint(conn, mirror)
        entry = Entry(
            log=origin,
            seq=tree.size,
            prev_root=tree.root(),
            peers={} if head is None else {mirror: (head[0], head[1])},
            msg_id=msg_id or new_msg_id(now),
            kind=kind,
            refs=tuple(refs),
            deadline=deadline,
            created=format_timestamp(now),
            lang=lang,
            body=dict(body),
        )
        sig = sign_entry(entry.to_bytes(), self._signer(conn, origin, entry.seq))
        log_rows.insert_entries(
            conn, origin, [entry], [sig], tree.append(entry.leaf_hash()), own=True
        )
        self._issue_checkpoint(conn, origin, tree)
        return entry

    def _issue_checkpoint(self, conn: sqlite3.Connection, origin: str, tree: MerkleTree) -> None:
        """Sign and store the checkpoint of the whole tree; never a smaller or other one (S7)."""
        latest = log_rows.latest_checkpoint(conn, origin)
        if latest is not None and (latest[0] >= tree.size or tree.root(latest[0]) != latest[1]):
            raise EquivocationError(
                f"{origin}: refusing to sign size {tree.size}: a checkpoint of size {latest[0]} "
                "is stored already and this one would not extend it (rollback?)"
            )
        key = self._signer(conn, origin, max(tree.size - 1, 0))
        checkpoint = Checkpoint(origin, tree.size, tree.root())
        conn.execute(
            "INSERT INTO checkpoints VALUES (?, ?, ?, ?)",
            (origin, tree.size, checkpoint.root, sign_checkpoint(checkpoint, key)),
        )

    # --- push: sender side -------------------------------------------------------------------

    def push_request(self, peer: str, *, heartbeat: bool = False) -> dict[str, Any] | None:
        """The body of the next ``POST /v1/push`` to ``peer``, or None when nothing is new.

        Entries from what the peer has cosigned (``delivery.acked_size``), at most
        :data:`~seabridge.hotline.push.MAX_BATCH`. With ``heartbeat`` an empty push of the
        current checkpoint is returned even when nothing is new (the peer cosigns it afresh).

        Raises:
            UnknownPeerError: no channel to ``peer``, or its keys are not configured yet.
        """
        with self._lock, self._store.snapshot() as conn:
            self._check_peer(peer)
            origin = self.own_origin(peer)
            tree = self._tree(conn, origin)
            old = delivery_state.read(conn, peer).acked_size
            if old == tree.size and not heartbeat:
                return None
            new = min(tree.size, old + MAX_BATCH)
            row = log_rows.checkpoint_row(conn, origin, new)
            if row is None:
                raise LedgerError(f"{origin}: no checkpoint of size {new} is stored")
            entries = log_rows.signed_entries(conn, origin, old, new)
            proof = tree.consistency_proof(old, new) if 0 < old < new else []
            return push_json(origin, old, entries, row[1], proof)

    def accept_response(self, peer: str, response: Mapping[str, object]) -> int:
        """Store the peer's cosignature from a 200 answer; advance the push cursor.

        Returns:
            The cosignature's time (Unix seconds, the peer's clock).

        Raises:
            MalformedError: the answer is not ``{"cosignature": line, "size": n}``.
            VerificationError: the cosigned size was never issued here.
            SignatureError: the cosignature is not by the peer's cosigner over our checkpoint.
        """
        line, size = response.get("cosignature"), response.get("size")
        if not isinstance(line, str) or isinstance(size, bool) or not isinstance(size, int):
            raise MalformedError("push answer must be {'cosignature': str, 'size': int}")
        with self._write() as conn:
            self._check_peer(peer)
            origin = self.own_origin(peer)
            row = log_rows.checkpoint_row(conn, origin, size)
            if row is None:
                raise VerificationError(f"{peer} cosigned size {size} of {origin}: never issued")
            checkpoint = Checkpoint(origin, size, row[0])
            time_s, name = self._verify_peer_cosignature(conn, peer, checkpoint, line)
            now = self._clock.now_ms()
            conn.execute(
                "INSERT OR IGNORE INTO cosigs VALUES (?, ?, ?, ?, ?, ?)",
                (origin, size, name, time_s, line, now),
            )
            delivery_state.record_acked(conn, peer, size, now)
        return time_s

    def _verify_peer_cosignature(
        self, conn: sqlite3.Connection, peer: str, checkpoint: Checkpoint, line: str
    ) -> tuple[int, str]:
        cosigners = log_rows.schedule(conn, self.mirror_origin(peer), "cosigner")
        for verifier in reversed(cosigners.all()):
            try:
                return verify_cosignature(checkpoint, line, verifier), verifier.name
            except VerificationError:
                continue
        raise SignatureError(f"the cosignature is not by a cosigner key of {peer}")

    def accept_conflict(self, peer: str, size: int) -> None:
        """After a 409 with the peer's ``size`` of our log: resend from there.

        Raises:
            LedgerError: the peer holds more of our log than we do (our state was rolled back).
        """
        with self._write() as conn:
            self._check_peer(peer)
            own = self._tree(conn, self.own_origin(peer)).size
            if not 0 <= size <= own:
                raise LedgerError(
                    f"{peer} holds {size} entries of our log but we have {own}: this node's "
                    "state was rolled back; do not send until it is restored"
                )
            delivery_state.reset_acked(conn, peer, size)

    # --- push: receiver side (§5.6) ----------------------------------------------------------

    def receive_push(self, body: object) -> dict[str, Any]:
        """Verify, store and cosign a push from a peer, in one transaction (§5.6).

        Returns:
            ``{"cosignature": line, "size": n}`` once committed.

        Raises:
            MalformedError: the body does not parse (400).
            UnknownPeerError: the origin is not a configured peer's log (404), e.g. the
                party of a channel whose keys are not configured yet.
            SignatureError: an entry or checkpoint signature does not verify (403).
            VerificationError: ``prev_root``, ``msg_id``, root or proof is wrong (422).
            ConflictError: ``old_size`` is not the stored size (409, ``size`` = stored size).
            EquivocationError: conflicting signed artefacts, kept as evidence (409).
        """
        line, size = self._receive(parse_push(body), issue=True)
        assert line is not None
        return {"cosignature": line, "size": size}

    def apply_pulled(
        self, origin: str, entries: Sequence[tuple[bytes, bytes]], checkpoint_note: str
    ) -> int:
        """Store entries fetched from a peer's pull endpoints: the checks of
        :meth:`receive_push`, but no cosignature is issued (the author never sees one; its own
        pushes get receipts). ``entries`` start at the stored size. Returns the new size.
        """
        return self._receive(pulled_push(origin, entries, checkpoint_note), issue=False)[1]

    def _receive(self, push: PushBody, *, issue: bool) -> tuple[str | None, int]:
        peer = self._peer_of(push.origin)
        entries = parse_entries(push.entries, push.old_size)
        try:
            with self._write() as conn:
                tree = self._tree(conn, push.origin)
                received = receive(conn, push, entries, tree, cosigning=issue)
                if not issue:
                    return None, received.size
                checkpoint, line = received.checkpoint, None
                if not received.stored:  # a replay: answer with the cosignature given before
                    lines = log_rows.cosigned_note(
                        conn, checkpoint.origin, checkpoint.size, by=self._cosigner.name
                    )[1]
                    line = lines[0] if lines else None
                return line or self._cosign(conn, checkpoint), received.size
        except EvidenceFound as evidence:
            with self._write() as conn:
                keep_evidence(conn, evidence, self._clock.now_ms())
            raise EquivocationError(f"{peer}: {evidence.detail}; both kept as evidence") from None

    def _cosign(self, conn: sqlite3.Connection, checkpoint: Checkpoint) -> str:
        now = self._clock.now_ms()
        line = cosign(checkpoint, self._cosigner, now // 1000)
        conn.execute(
            "INSERT OR IGNORE INTO cosigs VALUES (?, ?, ?, ?, ?, ?)",
            (checkpoint.origin, checkpoint.size, self._cosigner.name, now // 1000, line, now),
        )
        return line

    # --- delivery state, heartbeats, alarms (§5.7) -------------------------------------------

    def delivery_state(self, peer: str) -> DeliveryState:
        """The persisted push cursor and backoff of ``peer`` (any channel)."""
        with self._lock:
            self._check_channel(peer)
            return delivery_state.read(self._store.conn, peer)

    def record_failure(self, peer: str, error: str, now_ms: int) -> int:
        """Count a failed push; return the time of the next attempt (exponential backoff).

        0.5 s, doubling, times a jitter of uniform(0.8, 1.4), at most ``backoff_cap_s``.
        """
        with self._write() as conn:
            self._check_peer(peer)
            return delivery_state.record_failure(conn, peer, error, now_ms, self._rng, self._cap_s)

    def record_success(self, peer: str, *, delivered_via: str | None = None) -> None:
        """Clear the backoff of ``peer`` after a successful exchange.

        ``delivered_via``: the endpoint (base URL) that took the push, persisted in
        :attr:`DeliveryState.delivered_via` (left as it was when None, e.g. after a pull).
        """
        with self._write() as conn:
            self._check_peer(peer)
            now = self._clock.now_ms()
            delivery_state.record_success(conn, peer, now, delivered_via)

    def last_cosignature_ms(self, peer: str) -> int | None:
        """When (our clock) the latest cosignature from ``peer`` over our log was stored."""
        with self._lock:
            return delivery_state.last_cosignature_ms(self._store.conn, self.own_origin(peer))

    def receipt_owed(self, peer: str) -> bool:
        """Whether our newest checkpoint to ``peer`` has no cosignature from it yet (False
        before the first checkpoint)."""
        origin = self.own_origin(peer)
        with self._lock:
            conn = self._store.conn
            latest = log_rows.latest_checkpoint(conn, origin)
            return (
                latest is not None
                and not conn.execute(
                    "SELECT 1 FROM cosigs WHERE origin = ? AND size = ? LIMIT 1",
                    (origin, latest[0]),
                ).fetchone()
            )

    def heartbeat_due(self, peer: str, now_ms: int, interval_s: float | None = None) -> bool:
        """True when no cosignature came for a heartbeat interval and backoff allows a push."""
        interval_ms = round((interval_s or self._heartbeat_s) * 1000)
        last = self.last_cosignature_ms(peer)
        state = self.delivery_state(peer)
        return (last is None or now_ms - last >= interval_ms) and now_ms >= state.next_attempt_ms

    def alarm(self, peer: str, now_ms: int, heartbeat_interval_s: float) -> str | None:
        """What an operator must hear about ``peer``, or None (§5.7).

        "not delivered": no fresh cosignature for 3 x the heartbeat interval (a link problem).
        "delivered but not acknowledged": cosigned entries whose deadline passed with no ack.
        """
        with self._lock:
            conn, own = self._store.conn, self.own_origin(peer)
            return delivery_state.alarm(conn, peer, own, now_ms, heartbeat_interval_s)

    # --- pull side (§5.6) --------------------------------------------------------------------

    def size(self, origin: str) -> int:
        """Number of entries stored for ``origin``."""
        with self._lock:
            log_rows.require_known(self._store.conn, origin)
            return self._tree(self._store.conn, origin).size

    def checkpoint(self, origin: str) -> tuple[str, list[str]]:
        """The latest checkpoint note of ``origin`` and every cosignature line over it."""
        with self._lock, self._store.snapshot() as conn:
            log_rows.require_known(conn, origin)
            latest = log_rows.latest_checkpoint(conn, origin)
            if latest is None:
                raise NoCheckpointError(f"no checkpoint of {origin} is stored yet")
            return log_rows.cosigned_note(conn, origin, latest[0])

    def entries(self, origin: str, start: int, end: int) -> list[tuple[bytes, bytes]]:
        """Entry bytes and signatures of ``[start, end)``, at most :data:`MAX_PULL`."""
        if start < 0 or end < start:
            raise MalformedError(f"entry range [{start}, {end}) is not valid")
        with self._lock:
            log_rows.require_known(self._store.conn, origin)
            end = min(end, start + MAX_PULL)
            return log_rows.signed_entries(self._store.conn, origin, start, end)

    def read_entries(self, origin: str, start: int = 0) -> Iterator[Entry]:
        """The entries of ``origin`` from ``start`` to its size when called, parsed, fetched
        a page of :data:`MAX_PULL` at a time (entries appended meanwhile wait for the next
        call)."""
        size = self.size(origin)
        while start < size:
            page = self.entries(origin, start, size)
            if not page:
                return
            for data, _ in page:
                yield Entry.from_bytes(data)
            start += len(page)

    def inclusion_proof(self, origin: str, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``."""
        with self._lock, self._store.snapshot() as conn:
            log_rows.require_known(conn, origin)
            try:
                return self._tree(conn, origin).inclusion_proof(index, size)
            except ValueError as exc:
                raise MalformedError(str(exc)) from None

    def consistency_proof(self, origin: str, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof from size ``old`` to ``new``."""
        with self._lock, self._store.snapshot() as conn:
            log_rows.require_known(conn, origin)
            try:
                return self._tree(conn, origin).consistency_proof(old, new)
            except ValueError as exc:
                raise MalformedError(str(exc)) from None

    # --- the application (§5.8, §5.9) --------------------------------------------------------

    def consume(
        self,
        origin: str,
        handler: Callable[[sqlite3.Connection, Entry], None],
        limit: int | None = None,
    ) -> int:
        """Hand stored entries of ``origin`` to ``handler`` exactly once, in seq order.

        Per entry: BEGIN; ``handler(conn, entry)`` writes its effects through ``conn`` (it must
        not commit); the cursor advances; COMMIT. A handler exception rolls that entry back and
        is raised again (the entries before it stay consumed). Returns how many were consumed.
        """
        done = 0
        while limit is None or done < limit:
            with self._write() as conn:
                log_rows.require_known(conn, origin)
                entry = log_rows.next_unconsumed(conn, origin)
                if entry is None:
                    return done
                handler(conn, entry)
                log_rows.mark_consumed(conn, origin, entry.seq)
            done += 1
        return done

    def check_deadlines(self, now_ms: int) -> list[Entry]:
        """Append one ``deadline-missed`` per own entry whose deadline passed unanswered.

        Unanswered: no ``ack`` or ``reply`` in the peer's mirror refers to it (log, seq and leaf
        hash). Idempotent: an entry with a ``deadline-missed`` already is skipped. Escalation is
        the application's decision (amendment 3).
        """
        created: list[Entry] = []
        with self._write() as conn:
            for peer in self.channels:
                origin = self.own_origin(peer)
                missed = open_deadlines.missed(conn, origin, now_ms)
                for seq, leaf, deadline_ms in missed:
                    body = {"deadline": format_timestamp(deadline_ms)}
                    ref = Ref(origin, seq, leaf)
                    msg_id = f"deadline-missed.{seq}"
                    entry = self._append(
                        conn, peer, "deadline-missed", body, (ref,), None, "en", msg_id
                    )
                    created.append(entry)
        return created

    # --- views -------------------------------------------------------------------------------

    def log_view(self, peer: str) -> list[dict[str, Any]]:
        """Both directions of the channel to ``peer`` in time order (``hotline log``); only
        the own log while the peer's keys are not configured."""
        with self._lock, self._store.snapshot() as conn:
            return log_view(conn, self.own_origin(peer), self._mirror(peer), self._cosigner.name)

    def export_evidence(self) -> dict[str, Any]:
        """Everything needed to verify the record offline (``seabridge-evidence/v1``)."""
        with self._lock, self._store.snapshot() as conn:
            return export_evidence(conn, self.party, format_timestamp(self._clock.now_ms()))

    def evidence(self) -> list[dict[str, Any]]:
        """The stored evidence rows (equivocations), oldest first: ``{kind, detail, blobs}``."""
        with self._lock:
            return evidence_rows(self._store.conn)
