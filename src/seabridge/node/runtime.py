"""A running node's hotline: its ledger opened from the node directory, and delivery to peers.

- :func:`open_ledger`: the :class:`~seabridge.hotline.ledger.Ledger` of a node directory (keys
  from ``keys/``, peers' verifier keys from ``node.toml``, a channel to every other party of
  the node's packs, state in ``state.sqlite``).
- :class:`Delivery`: the sender side of ``domain/hotline-protocol.md`` §5.6-5.9 for every peer.
  One batch in flight per peer (stop-and-wait) to the peer's primary endpoint, then its backups
  on a connection failure; 200 stores the receipt, 409 resends at once from the peer's size,
  408/429/5xx and connection errors back off (persisted by the ledger); any other 4xx is a
  protocol or tampering problem: an alarm, kept in the delivery state, and no retry until
  :meth:`Delivery.resume`. Heartbeats, anti-entropy pulls of both logs, the deadline watcher
  and the "no fresh cosignature for 3 x the heartbeat interval" alarm run on the same loop.

Everything reads time from the injected :class:`~seabridge.clock.Clock`; :meth:`Delivery.step`
does one round of work at a given time, so tests drive it with a ManualClock and never sleep.
:meth:`Delivery.run` loops it with an injectable ``wait``. This module speaks HTTP through
``httpx`` clients handed in (or built from the node's mutual-TLS context); it never imports
the web layer or the CLI.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from seabridge.clock import Clock
from seabridge.errors import LedgerError, MalformedError, VerificationError
from seabridge.hotline.entries import Entry
from seabridge.hotline.keys import parse_vkey
from seabridge.hotline.ledger import MAX_PULL, Ledger
from seabridge.hotline.notes import Checkpoint
from seabridge.node.directory import NodeConfig
from seabridge.node.tls import client_context
from seabridge.packs import load_pack, load_parties

__all__ = [
    "Delivery",
    "DeliveryOptions",
    "PeerStatus",
    "StepResult",
    "open_ledger",
    "pack_parties",
]

log = logging.getLogger(__name__)

_RETRY_STATUSES: Final = frozenset({408, 429})
"""4xx answers that are transient (timeout, rate limit): retried with backoff like a 5xx."""


def open_ledger(
    node: NodeConfig,
    clock: Clock,
    *,
    backoff_cap_s: float = 30.0,
    heartbeat_interval_s: float = 60.0,
    rng: random.Random | None = None,
) -> Ledger:
    """The ledger in ``node``'s ``state.sqlite``, with its current keys and configured peers.

    Every other party of the node's packs gets a channel too, configured or not: messages to
    it are signed and stored at once and wait for ``seabridge peer add`` to be pushed.

    Raises:
        LedgerError: a key file cannot be used, or the record expects other keys.
        ConfigError: a key file is not this party's key.
        PackError: a pack's parties file is invalid.
    """
    peers = {
        peer.party: (parse_vkey(peer.log_vkey), parse_vkey(peer.cosigner_vkey))
        for peer in node.peers
    }
    return Ledger(
        node.dir.state,
        node.party,
        node.log_key(),
        node.cosigner_key(),
        peers,
        clock,
        backoff_cap_s=backoff_cap_s,
        heartbeat_interval_s=heartbeat_interval_s,
        rng=rng,
        channels=pack_parties(node),
    )


def pack_parties(node: NodeConfig) -> tuple[str, ...]:
    """The ids of the parties of ``node``'s packs other than its own (sorted).

    Raises:
        PackError: a pack cannot be loaded, or its parties file is invalid.
    """
    found: set[str] = set()
    for name in node.packs:
        pack = load_pack(name)
        if "parties" in pack.files:
            found.update(party.id for party in load_parties(pack))
    found.discard(node.party)
    return tuple(sorted(found))


@dataclass(frozen=True)
class DeliveryOptions:
    """Timers of the delivery loop (seconds of the injected clock)."""

    heartbeat_interval_s: float = 60.0
    """An empty push when no cosignature came for this long; the alarm fires after 3x."""
    pull_interval_s: float = 60.0
    """Anti-entropy: how often both logs' checkpoints are fetched from each peer."""
    deadline_interval_s: float = 1.0
    """How often :meth:`~seabridge.hotline.ledger.Ledger.check_deadlines` runs (R9: <= 1 s)."""
    request_timeout_s: float = 10.0
    """Per HTTP request (connect, read, write) when the clients are built here."""
    poll_s: float = 0.25
    """Longest idle wait of :meth:`Delivery.run`: catches sends by other processes."""
    max_batches: int = 16
    """Most pushes to one peer in one step (a 409 resend counts)."""
    max_pull_pages: int = 10
    """Most entry pages (of ``MAX_PULL``) fetched in one anti-entropy round."""


@dataclass
class PeerStatus:
    """What the loop knows about one peer beyond the ledger's persisted delivery state."""

    peer: str
    endpoints: tuple[str, ...]
    delivered_via: str | None = None
    """The endpoint of the last successful push (primary or a backup); persisted in the
    ledger's delivery table (:attr:`~seabridge.hotline.ledger.DeliveryState.delivered_via`)
    and read back from it when the loop starts."""
    halted: str | None = None
    """A protocol alarm (a 4xx, a bad receipt): no push until :meth:`Delivery.resume`."""
    alarm: str | None = None
    """The ledger's current alarm (not delivered / delivered but not acknowledged)."""
    next_pull_ms: int = 0


@dataclass
class StepResult:
    """What one :meth:`Delivery.step` did."""

    now_ms: int
    pushed: int = 0
    """Pushes answered with a cosignature (heartbeats included)."""
    heartbeats: int = 0
    conflicts: int = 0
    failures: int = 0
    pulled: int = 0
    """Peer entries stored from anti-entropy pulls."""
    deadline_missed: list[Entry] = field(default_factory=list)
    alarms: dict[str, str] = field(default_factory=dict)
    """Alarms raised in this step, by peer."""
    next_due_ms: int = 0
    """When the next piece of work is due (the run loop waits until then, or a wake-up)."""


class _Answer:
    """The outcome of a push over every endpoint: a response, or the transport errors."""

    def __init__(self, url: str | None, response: httpx.Response | None, error: str) -> None:
        self.url, self.response, self.error = url, response, error


class Delivery:
    """The delivery loop of one node to all its peers.

    Args:
        ledger: the node's ledger.
        clients: peer party -> the HTTP client to reach it (mutual TLS, or a test transport).
        endpoints: peer party -> base URLs, primary first, then backups.
        clock: the time every decision is taken at.
        options: the timers.
        on_deadline_missed: called with the ``deadline-missed`` entries each watcher round
            appends (the application decides about escalation; amendment 3).
        on_alarm: called with (peer, text) when an alarm is raised.
        on_receipt: called with (peer, size) when a cosignature from ``peer`` over the first
            ``size`` entries of our log is stored (every entry below ``size`` is receipted).
        wait: ``await wait(seconds)`` between steps of :meth:`run` (default: a wake-up or
            timeout on the event loop).
    """

    def __init__(
        self,
        ledger: Ledger,
        clients: Mapping[str, httpx.AsyncClient],
        endpoints: Mapping[str, Sequence[str]],
        clock: Clock,
        *,
        options: DeliveryOptions | None = None,
        on_deadline_missed: Callable[[Sequence[Entry]], None] | None = None,
        on_alarm: Callable[[str, str], None] | None = None,
        on_receipt: Callable[[str, int], None] | None = None,
        wait: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        missing = set(ledger.peers) - set(clients) | set(ledger.peers) - set(endpoints)
        if missing:
            raise LedgerError(f"no client or endpoint for peer(s) {sorted(missing)}")
        self.ledger = ledger
        self.options = options or DeliveryOptions()
        self._clients = dict(clients)
        self._clock = clock
        self._on_deadline = on_deadline_missed
        self._on_alarm = on_alarm
        self._on_receipt = on_receipt
        self._wait = wait
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_deadline_ms = 0
        self.status = {
            peer: PeerStatus(
                peer,
                tuple(url.rstrip("/") for url in endpoints[peer]),
                delivered_via=ledger.delivery_state(peer).delivered_via,
            )
            for peer in sorted(ledger.peers)
        }

    @classmethod
    def for_node(
        cls,
        node: NodeConfig,
        ledger: Ledger,
        clock: Clock,
        *,
        options: DeliveryOptions | None = None,
        **kwargs: Any,
    ) -> Delivery:
        """A delivery loop over mutual TLS to the peers of ``node`` (their pinned CAs)."""
        options = options or DeliveryOptions()
        timeout = httpx.Timeout(options.request_timeout_s)
        clients = {
            peer.party: httpx.AsyncClient(verify=client_context(node, peer), timeout=timeout)
            for peer in node.peers
        }
        endpoints = {peer.party: peer.endpoints for peer in node.peers}
        return cls(ledger, clients, endpoints, clock, options=options, **kwargs)

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        for client in self._clients.values():
            await client.aclose()

    # --- the loop ------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake :meth:`run` now (something was sent). Safe to call from any thread."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(wake.set)

    def resume(self, peer: str) -> None:
        """Push to ``peer`` again after a protocol alarm (an operator has looked at it)."""
        self.status[peer].halted = None

    def alarms(self) -> dict[str, str]:
        """The current alarms by peer (a protocol alarm first)."""
        found = {}
        for peer, status in self.status.items():
            text = status.halted or status.alarm
            if text is not None:
                found[peer] = text
        return found

    async def run(self, stop: asyncio.Event) -> None:
        """Loop :meth:`step` until ``stop`` is set; an error in a step is logged, not fatal."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        while not stop.is_set():
            now = self._clock.now_ms()
            try:
                due = (await self.step(now)).next_due_ms
            except Exception:  # the loop must outlive any one bad round
                log.exception("hotline delivery step failed")
                due = now + round(self.options.poll_s * 1000)
            delay = min(max(0.0, (due - self._clock.now_ms()) / 1000), self.options.poll_s)
            if self._wait is not None:
                await self._wait(delay)
            else:
                await self._idle(stop, delay)

    async def _idle(self, stop: asyncio.Event, delay: float) -> None:
        assert self._wake is not None
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._wake.clear()

    async def step(self, now_ms: int) -> StepResult:
        """One round at ``now_ms``: deadlines, then per peer pushes, heartbeat, pull, alarm."""
        result = StepResult(now_ms)
        if now_ms >= self._next_deadline_ms:
            self._next_deadline_ms = now_ms + round(self.options.deadline_interval_s * 1000)
            missed = self.ledger.check_deadlines(now_ms)
            if missed:
                result.deadline_missed.extend(missed)
                log.warning("hotline: %d deadline(s) missed", len(missed))
                if self._on_deadline is not None:
                    self._on_deadline(missed)
        await asyncio.gather(*(self._step_peer(peer, now_ms, result) for peer in self.status))
        result.next_due_ms = self._next_due(now_ms)
        return result

    async def _step_peer(self, peer: str, now_ms: int, result: StepResult) -> None:
        status = self.status[peer]
        if status.halted is None:
            await self._push_round(status, now_ms, result)
        if now_ms >= status.next_pull_ms:
            status.next_pull_ms = now_ms + round(self.options.pull_interval_s * 1000)
            await self._pull_round(status, result)
        self._check_alarm(status, now_ms, result)

    def _next_due(self, now_ms: int) -> int:
        due = [self._next_deadline_ms]
        interval_ms = round(self.options.heartbeat_interval_s * 1000)
        for peer, status in self.status.items():
            due.append(status.next_pull_ms)
            if status.halted is not None:
                continue
            state = self.ledger.delivery_state(peer)
            own_size = self.ledger.size(self.ledger.own_origin(peer))
            if own_size > state.acked_size or self._receipt_owed(peer):
                due.append(state.next_attempt_ms)
            else:
                last = self.ledger.last_cosignature_ms(peer)
                beat = state.next_attempt_ms if last is None else last + interval_ms
                due.append(max(beat, state.next_attempt_ms))
        return max(now_ms, min(due))

    # --- push (§5.6, §5.7) -----------------------------------------------------------------

    async def _push_round(self, status: PeerStatus, now_ms: int, result: StepResult) -> None:
        peer = status.peer
        if now_ms < self.ledger.delivery_state(peer).next_attempt_ms:
            return
        heartbeat = False
        body = self.ledger.push_request(peer)
        if body is None:
            interval_s = self.options.heartbeat_interval_s
            if not self._receipt_owed(peer) and not self.ledger.heartbeat_due(
                peer, now_ms, interval_s
            ):
                return
            body, heartbeat = self.ledger.push_request(peer, heartbeat=True), True
        for _ in range(self.options.max_batches):
            if body is None:
                return
            answer = await self._post(status, body)
            response = answer.response
            if response is None or response.status_code >= 500:
                error = answer.error if response is None else f"HTTP {response.status_code}"
                self._failed(status, f"push: {error}", now_ms, result)
                return
            code = response.status_code
            if code == 200:
                if not self._receipt(status, answer, result):
                    return
                result.heartbeats += heartbeat
                body, heartbeat = self.ledger.push_request(peer), False
            elif code == 409 and (size := _size_of(response)) is not None:
                result.conflicts += 1
                try:
                    self.ledger.accept_conflict(peer, size)
                except LedgerError as exc:
                    self._halt(status, f"409 from {peer}: {exc}", now_ms, result)
                    return
                # resend at once from the peer's size; an empty push gets a fresh receipt
                body = self.ledger.push_request(peer, heartbeat=True)
            elif code in _RETRY_STATUSES:
                self._failed(status, f"push: HTTP {code}", now_ms, result)
                return
            else:
                self._halt(status, f"HTTP {code} from {peer}: {_detail(response)}", now_ms, result)
                return

    def _receipt_owed(self, peer: str) -> bool:
        """Our newest checkpoint to ``peer`` has no receipt although nothing is left to send:
        the cursor moved to what the peer holds (a 409, or a pull finding entries the peer
        fetched itself) without a cosignature. An empty push now fetches the receipt; waiting
        for the heartbeat would leave the entries unreceipted for up to an interval."""
        return self.ledger.receipt_owed(peer)

    async def _post(self, status: PeerStatus, body: Mapping[str, object]) -> _Answer:
        """POST the push to the primary endpoint, then each backup on a connection failure."""
        client = self._clients[status.peer]
        errors = []
        for url in status.endpoints:
            try:
                response = await client.post(f"{url}/v1/push", json=body)
            except httpx.TransportError as exc:
                errors.append(f"{url}: {type(exc).__name__}: {exc}".rstrip(": "))
                continue
            return _Answer(url, response, "")
        return _Answer(None, None, "; ".join(errors))

    def _receipt(self, status: PeerStatus, answer: _Answer, result: StepResult) -> bool:
        """Store the cosignature of a 200; a receipt that does not verify halts the peer."""
        assert answer.response is not None
        now_ms = self._clock.now_ms()
        try:
            payload = answer.response.json()
        except ValueError:
            self._failed(status, "push: the 200 answer is not JSON", now_ms, result)
            return False
        try:
            self.ledger.accept_response(status.peer, payload if isinstance(payload, dict) else {})
        except (MalformedError, VerificationError) as exc:
            self._halt(status, f"bad receipt from {status.peer}: {exc}", now_ms, result)
            return False
        self.ledger.record_success(status.peer, delivered_via=answer.url)
        self._receipted(status.peer, payload)
        result.pushed += 1
        if answer.url != status.delivered_via:
            log.info("hotline: delivered to %s via %s", status.peer, answer.url)
            status.delivered_via = answer.url
        return True

    def _receipted(self, peer: str, payload: Mapping[str, object]) -> None:
        size = payload.get("size")
        if self._on_receipt is not None and isinstance(size, int):
            self._on_receipt(peer, size)

    def _failed(self, status: PeerStatus, error: str, now_ms: int, result: StepResult) -> None:
        next_ms = self.ledger.record_failure(status.peer, error, now_ms)
        result.failures += 1
        log.info("hotline: %s: %s; next attempt in %d ms", status.peer, error, next_ms - now_ms)

    def _halt(self, status: PeerStatus, reason: str, now_ms: int, result: StepResult) -> None:
        """A protocol alarm: kept in the delivery state; no blind retry loop (§5.7)."""
        text = f"protocol: {reason}; pushes to {status.peer} stopped until resumed"
        self.ledger.record_failure(status.peer, f"alarm: {reason}", now_ms)
        status.halted = text
        result.failures += 1
        self._raise(status.peer, text, result)

    # --- anti-entropy pull (§5.6) ----------------------------------------------------------

    async def _pull_round(self, status: PeerStatus, result: StepResult) -> None:
        """Learn what the peer holds of our log; fetch what we miss of its log. Each half
        runs on its own: the peer holding nothing of our log yet must not stop the other."""
        peer = status.peer
        for half in (self._pull_own, self._pull_mirror):
            try:
                result.pulled += await half(status)
            except _NoCheckpointError as exc:  # normal until the log's first entries are exchanged
                log.debug("hotline: pull from %s: nothing yet (%s)", peer, exc)
            except httpx.TransportError as exc:
                log.info("hotline: pull from %s: %s: %s", peer, type(exc).__name__, exc)
                return
            except (LedgerError, ValueError, KeyError, TypeError) as exc:
                log.warning("hotline: pull from %s refused: %s", peer, exc)

    async def _get_checkpoint(self, status: PeerStatus, origin: str) -> tuple[str, int, list[str]]:
        data = await self._get(status, f"/v1/logs/{origin}/checkpoint")
        note, lines = data["checkpoint"], data["cosignatures"]
        if not isinstance(note, str) or not isinstance(lines, list):
            raise MalformedError(f"the checkpoint of {origin} from {status.peer} is malformed")
        size = Checkpoint.parse(note.split("\n\n")[0] + "\n").size
        return note, size, [line for line in lines if isinstance(line, str)]

    async def _pull_own(self, status: PeerStatus) -> int:
        """A lost 200: the peer's receipt over more of our log than we have stored. Returns
        0 (no entry is stored: only a receipt)."""
        peer = status.peer
        _, size, lines = await self._get_checkpoint(status, self.ledger.own_origin(peer))
        acked = self.ledger.delivery_state(peer).acked_size
        if size <= acked:
            return 0
        for line in lines:
            receipt: dict[str, object] = {"cosignature": line, "size": size}
            try:
                self.ledger.accept_response(peer, receipt)
            except (MalformedError, VerificationError):
                continue
            self._receipted(peer, receipt)
            log.info("hotline: %s holds %d entries of our log (receipt pulled)", peer, size)
            return 0
        self.ledger.accept_conflict(peer, size)
        return 0

    async def _pull_mirror(self, status: PeerStatus) -> int:
        """Entries of the peer's log we have not received; stored as pushed ones are."""
        origin = self.ledger.mirror_origin(status.peer)
        note, size, _ = await self._get_checkpoint(status, origin)
        have = self.ledger.size(origin)
        if size <= have or size - have > MAX_PULL * self.options.max_pull_pages:
            return 0
        entries: list[tuple[bytes, bytes]] = []
        while have + len(entries) < size:
            start = have + len(entries)
            page = await self._get(status, f"/v1/logs/{origin}/entries?start={start}&end={size}")
            items = page["entries"]
            if not isinstance(items, list) or not items:
                return 0
            for item in items:
                entries.append((_unb64(item["entry"]), _unb64(item["sig"])))
        self.ledger.apply_pulled(origin, entries[: size - have], note)
        log.info("hotline: pulled %d entries of %s", size - have, origin)
        return size - have

    async def _get(self, status: PeerStatus, path: str) -> dict[str, Any]:
        client = self._clients[status.peer]
        error: httpx.TransportError | None = None
        for url in status.endpoints:
            try:
                response = await client.get(f"{url}{path}")
            except httpx.TransportError as exc:
                error = exc
                continue
            if response.status_code == 404 and _no_checkpoint(response):
                raise _NoCheckpointError(f"GET {path}: {_detail(response)}")
            if response.status_code != 200:
                raise MalformedError(f"GET {path}: HTTP {response.status_code}")
            data = response.json()
            if not isinstance(data, dict):
                raise MalformedError(f"GET {path}: not a JSON object")
            return data
        assert error is not None
        raise error

    # --- alarms (§5.7) ---------------------------------------------------------------------

    def _check_alarm(self, status: PeerStatus, now_ms: int, result: StepResult) -> None:
        text = self.ledger.alarm(status.peer, now_ms, self.options.heartbeat_interval_s)
        before = status.alarm
        status.alarm = text
        if text is None:
            if before is not None:
                log.info("hotline: alarm about %s cleared", status.peer)
        elif before is None or _kind(before) != _kind(text):
            self._raise(status.peer, text, result)

    def _raise(self, peer: str, text: str, result: StepResult) -> None:
        log.warning("hotline ALARM %s: %s", peer, text)
        result.alarms[peer] = text
        if self._on_alarm is not None:
            self._on_alarm(peer, text)


class _NoCheckpointError(LedgerError):
    """The peer stores no checkpoint of the log asked for yet (a 404 of the federation's
    checkpoint route): nothing of it to pull, unlike a 404 for an origin it does not know."""


def _no_checkpoint(response: httpx.Response) -> bool:
    """A 404 of kind ``no_checkpoint`` (:class:`~seabridge.errors.NoCheckpointError`: a known
    log, none signed yet), as opposed to ``unknown`` (the origin is not a log of the peer's
    record: it lacks our keys, loud). A peer of an earlier release answers ``unknown`` with
    the detail "no checkpoint of ORIGIN is stored yet"; that text counts too."""
    try:
        data = response.json()
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    detail = data.get("detail")
    return data.get("error") == "no_checkpoint" or (
        isinstance(detail, str) and detail.startswith("no checkpoint of ")
    )


def _kind(alarm: str) -> str:
    return alarm.split(":", 1)[0]


def _size_of(response: httpx.Response) -> int | None:
    """The ``size`` of a 409 conflict answer (None for an equivocation 409)."""
    try:
        data = response.json()
    except ValueError:
        return None
    size = data.get("size") if isinstance(data, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        return str(data.get("reason") or data.get("detail") or data)[:500]
    return str(data)[:200]


def _unb64(value: object) -> bytes:
    if not isinstance(value, str):
        raise MalformedError("pulled entry field is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedError("pulled entry field is not standard base64") from None
