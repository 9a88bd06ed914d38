"""The delivery loop (§5.6-5.9): two nodes in one process, each the other's federation app
behind an in-process transport that can partition, lose responses or answer for the peer
(:mod:`hotline_net`, shared with the soak, ``test_soak.py``).

Both nodes share one ManualClock and are driven by ``Delivery.step``: nothing sleeps, and
every time asserted is the ManualClock's (the backoff schedule), never the wall's.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hotline_net import (
    CAP_S,
    HEARTBEAT_S,
    OPTIONS,
    PARTIES,
    Link,
    Net,
    body,
    make_delivery,
    other,
)
from node_builders import fixed_clock, make_node, make_pair, wall_clock

from seabridge.clock import ManualClock
from seabridge.hotline.entries import Entry, Ref
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.push import MAX_BATCH
from seabridge.node import NodeConfig, client_context
from seabridge.node.directory import Address
from seabridge.node.runtime import Delivery, StepResult, open_ledger
from seabridge.web.server import federation_server


@pytest.fixture(scope="module")
def node_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[NodeConfig, NodeConfig]:
    return make_pair(tmp_path_factory.mktemp("nodes"), fixed_clock())


@pytest.fixture
def net(tmp_path: Path, node_pair: tuple[NodeConfig, NodeConfig]) -> Iterator[Net]:
    """Fresh ledgers (own state files) for the module's two node directories."""
    clock = fixed_clock()
    made = Net(clock, dict(zip(PARTIES, node_pair, strict=True)))
    for party in PARTIES:
        node = made.nodes[party]
        state = tmp_path / party / "state.sqlite"
        state.parent.mkdir()
        made.ledgers[party] = _ledger(node, clock, state)
    for i, party in enumerate(PARTIES):
        made.links[party] = Link(made.ledgers[other(party)], seed=i)
        made.deliveries[party] = make_delivery(made, party)
    try:
        yield made
    finally:
        for ledger in made.ledgers.values():
            ledger.close()


def _ledger(node: NodeConfig, clock: ManualClock, state: Path) -> Ledger:
    """``open_ledger`` of ``node`` with the state file moved (one node directory, many tests)."""
    ledger = open_ledger(node, clock, backoff_cap_s=CAP_S, heartbeat_interval_s=HEARTBEAT_S)
    ledger.close()
    return Ledger(
        state,
        ledger.party,
        node.log_key(),
        node.cosigner_key(),
        ledger.peers,
        clock,
        backoff_cap_s=CAP_S,
        heartbeat_interval_s=HEARTBEAT_S,
        rng=random.Random(7),
    )


def test_open_ledger_takes_keys_and_peers_from_the_node_directory(
    tmp_path: Path,
) -> None:
    jcg, _ = make_pair(tmp_path, fixed_clock())
    clock = fixed_clock()
    with open_ledger(jcg, clock) as ledger:
        assert ledger.party == "jcg"
        assert sorted(ledger.peers) == ["ccg"]
        assert ledger.peers["ccg"][0].vkey() == jcg.peer("ccg").log_vkey
        entry = ledger.send("ccg", "notification", body("hello"))
    assert jcg.dir.state.exists()
    with open_ledger(jcg, clock) as again:  # reopened: the same record
        assert again.entries("jcg/hotline/ccg", 0, 1)[0][0] == entry.to_bytes()


def test_send_is_delivered_and_cosigned_both_ways(net: Net) -> None:
    async def scenario() -> None:
        net.send("jcg", "Vessel sighted")
        net.send("ccg", "Received, investigating")
        results = await net.round()
        assert [r.pushed for r in results] == [1, 1]
        assert net.converged()
        net.assert_identical()
        assert net.deliveries["jcg"].status["ccg"].delivered_via == "https://ccg-primary:8443"
        assert net.ledgers["jcg"].delivery_state("ccg").delivered_via == "https://ccg-primary:8443"
        assert net.alarms == []
        assert net.receipts == [("jcg", "ccg", 1), ("ccg", "jcg", 1)]

    asyncio.run(scenario())


def test_a_connection_failure_fails_over_to_the_backup_endpoint(net: Net) -> None:
    async def scenario() -> None:
        net.links["jcg"].down_hosts.add("ccg-primary")
        net.send("jcg", "over the backup path")
        result = (await net.round())[0]
        assert (result.pushed, result.failures) == (1, 0)
        status = net.deliveries["jcg"].status["ccg"]
        assert status.delivered_via == "https://ccg-backup:8443"
        assert net.ledgers["jcg"].delivery_state("ccg").delivered_via == status.delivered_via
        restarted = make_delivery(net, "jcg")  # a new loop over the same ledger knows the path
        assert restarted.status["ccg"].delivered_via == "https://ccg-backup:8443"
        await restarted.aclose()
        net.links["jcg"].down_hosts.add("ccg-backup")
        net.send("jcg", "no path at all")
        result = (await net.round())[0]
        assert (result.pushed, result.failures) == (0, 1)
        state = net.ledgers["jcg"].delivery_state("ccg")
        assert state.attempts == 1 and "ccg-primary" in (state.last_error or "")
        assert "ccg-backup" in (state.last_error or "")

    asyncio.run(scenario())


def test_r3_partition_and_heal(net: Net) -> None:
    """R3 at CI size: 100 messages each way during a partition, then heal."""

    async def scenario() -> None:
        for link in net.links.values():
            link.partitioned = True
        for i in range(100):
            for party in PARTIES:
                net.send(party, f"{party} message {i} during the partition")
            if i % 10 == 9:
                await net.round()
                net.clock.advance(0.5)
        for party in PARTIES:
            state = net.ledgers[party].delivery_state(other(party))
            assert state.acked_size == 0 and state.attempts >= 3
            assert state.last_attempt_ms is not None
            assert state.next_attempt_ms - state.last_attempt_ms <= CAP_S * 1000  # capped
        for link in net.links.values():
            link.partitioned = False
        elapsed_ms = await net.settle(tick_s=0.1)
        assert elapsed_ms <= CAP_S * 1000 + 100  # within the capped backoff (+ one tick)
        net.assert_identical()
        for party in PARTIES:
            assert net.ledgers[party].size(f"{party}/hotline/{other(party)}") == 100

    asyncio.run(scenario())


def test_r4_lost_responses(net: Net) -> None:
    """R4 at CI size: half of the push answers lost after the peer committed (seeded)."""

    async def scenario() -> None:
        net.links["jcg"].drop_rate = 0.5
        for i in range(200):
            net.send("jcg", f"message {i}")
            if i % 4 == 3:
                await net.round()
                net.clock.advance(0.1)
        await net.settle(tick_s=0.1)
        assert net.links["jcg"].dropped >= 10  # the test did lose answers
        net.assert_identical()
        handled: list[int] = []

        def handler(conn: sqlite3.Connection, entry: Entry) -> None:
            handled.append(entry.seq)

        ccg = net.ledgers["ccg"]
        assert ccg.consume("jcg/hotline/ccg", handler) == 200
        assert handled == list(range(200))  # exactly once, in order

    asyncio.run(scenario())


def test_a_409_resends_at_once_from_the_peers_size(net: Net) -> None:
    async def scenario() -> None:
        jcg = net.ledgers["jcg"]
        for i in range(3):
            net.send("jcg", f"first {i}")
        await net.round()
        for i in range(2):
            net.send("jcg", f"second {i}")
        jcg.accept_conflict("ccg", 1)  # as if two answers had been lost
        result = (await net.round())[0]
        assert result.conflicts == 1 and result.pushed == 1 and result.failures == 0
        assert jcg.delivery_state("ccg").acked_size == 5
        net.assert_identical()

    asyncio.run(scenario())


def test_a_peer_answering_403_raises_an_alarm_and_is_not_retried_blindly(net: Net) -> None:
    async def scenario() -> None:
        link = net.links["jcg"]
        link.answer = 403
        net.send("jcg", "refused")
        result = (await net.round())[0]
        assert "ccg" in result.alarms and "HTTP 403" in result.alarms["ccg"]
        assert [(party, "403" in text) for party, text, _ in net.alarms] == [("jcg", True)]
        state = net.ledgers["jcg"].delivery_state("ccg")
        assert state.last_error is not None and state.last_error.startswith("alarm: HTTP 403")
        posts = link.posts
        for _ in range(20):
            net.clock.advance(CAP_S)
            await net.round()
        assert link.posts == posts  # no retry loop
        assert "ccg" in net.deliveries["jcg"].alarms()
        link.answer = None
        net.deliveries["jcg"].resume("ccg")
        await net.round()
        assert net.converged()
        assert net.deliveries["jcg"].alarms() == {}

    asyncio.run(scenario())


def test_transient_answers_back_off(net: Net) -> None:
    async def scenario() -> None:
        link = net.links["jcg"]
        net.send("jcg", "busy peer")
        for code in (500, 503, 408, 429):
            link.answer = code
            net.clock.advance(CAP_S)
            result = (await net.round())[0]
            assert (result.failures, result.alarms) == (1, {})
        assert net.ledgers["jcg"].delivery_state("ccg").attempts == 4
        link.answer = None
        net.clock.advance(CAP_S)
        await net.round()
        assert net.converged()
        assert net.ledgers["jcg"].delivery_state("ccg").attempts == 0

    asyncio.run(scenario())


def test_the_alarm_after_three_missed_heartbeats(net: Net) -> None:
    async def scenario() -> None:
        net.send("jcg", "before the cut")
        await net.round()
        cosigned_ms = net.ledgers["jcg"].last_cosignature_ms("ccg")
        assert cosigned_ms is not None
        net.links["jcg"].partitioned = True
        posts = net.links["jcg"].posts
        while not [a for a in net.alarms if a[0] == "jcg"]:
            net.clock.advance(1.0)
            await net.round()
            assert net.clock.now_ms() - cosigned_ms <= 3 * HEARTBEAT_S * 1000 + 1000
        _, text, at_ms = net.alarms[0]
        assert text.startswith("not delivered")
        assert 3 * HEARTBEAT_S * 1000 < at_ms - cosigned_ms <= 3 * HEARTBEAT_S * 1000 + 1000
        assert net.links["jcg"].posts - posts >= 3  # heartbeats were tried
        for _ in range(5):  # raised once, not every step
            net.clock.advance(1.0)
            await net.round()
        assert len([a for a in net.alarms if a[0] == "jcg"]) == 1
        net.links["jcg"].partitioned = False
        for _ in range(int(CAP_S / 0.1) + 1):  # the next heartbeat is within the capped backoff
            net.clock.advance(0.1)
            if sum(r.heartbeats for r in await net.round()):
                break
        assert net.ledgers["jcg"].last_cosignature_ms("ccg") == net.clock.now_ms()
        assert net.deliveries["jcg"].alarms() == {}

    asyncio.run(scenario())


def test_heartbeats_keep_the_receipts_fresh(net: Net) -> None:
    async def scenario() -> None:
        net.send("jcg", "hello")
        await net.round()
        beats = 0
        for _ in range(int(5 * HEARTBEAT_S)):
            net.clock.advance(1.0)
            beats += sum(r.heartbeats for r in await net.round())
        assert beats >= 2 * 4  # both nodes, about every heartbeat interval
        assert net.alarms == []

    asyncio.run(scenario())


def test_pull_recovers_a_lost_receipt_and_missing_peer_entries(net: Net) -> None:
    async def scenario() -> None:
        net.links["jcg"].drop_rate = 1.0  # every push answer from ccg is lost
        net.links["ccg"].partitioned = True  # ccg cannot push to jcg at all
        net.send("jcg", "answer lost")
        net.send("ccg", "never pushed")
        net.clock.advance(OPTIONS.pull_interval_s)
        results = await net.round()  # jcg: push (answer lost), then pull
        jcg = net.ledgers["jcg"]
        assert jcg.delivery_state("ccg").acked_size == 1  # the receipt came by the pull
        assert net.receipts == [("jcg", "ccg", 1)]
        assert jcg.last_cosignature_ms("ccg") is not None
        assert results[0].pulled == 1
        assert jcg.size("ccg/hotline/jcg") == 1  # ccg's entry fetched over jcg's link
        assert jcg.entries("ccg/hotline/jcg", 0, 1) == net.ledgers["ccg"].entries(
            "ccg/hotline/jcg", 0, 1
        )

    asyncio.run(scenario())


async def _step_jcg_until_receipt(net: Net, size: int, receipted_ms: int) -> None:
    """Step jcg every 0.1 s until ccg's receipt of ``size`` arrives, giving up 1 s before the
    heartbeat after ``receipted_ms`` would fetch it anyway."""
    while net.clock.now_ms() < receipted_ms + HEARTBEAT_S * 1000 - 1000:
        net.clock.advance(0.1)
        await net.deliveries["jcg"].step(net.clock.now_ms())
        if ("jcg", "ccg", size) in net.receipts:
            return


def test_a_pull_that_finds_our_entries_at_the_peer_unreceipted_pushes_for_a_receipt(
    net: Net,
) -> None:
    """ccg pulled jcg's newest entry while jcg's pushes failed, so ccg holds it without having
    cosigned it. jcg's pull learns that ccg holds it; the receipt must come with jcg's next
    push once the link works, not only with the heartbeat (HEARTBEAT_S after the last one)."""

    async def scenario() -> None:
        jcg = net.ledgers["jcg"]
        net.send("jcg", "one")
        await net.round()
        receipted_ms = jcg.last_cosignature_ms("ccg")
        assert receipted_ms == net.clock.now_ms() and ("jcg", "ccg", 1) in net.receipts
        net.links["jcg"].answer = 503  # jcg's pushes fail; its pulls still reach ccg
        net.send("jcg", "two")
        net.clock.advance(OPTIONS.pull_interval_s)
        now = net.clock.now_ms()
        await net.deliveries["ccg"].step(now)  # ccg pulls "two": stored, not cosigned
        assert net.ledgers["ccg"].size("jcg/hotline/ccg") == 2
        assert (await net.deliveries["jcg"].step(now)).failures == 1  # push 503, then pull
        # the pull moved the cursor to what ccg holds; the receipt is still owed
        assert jcg.delivery_state("ccg").acked_size == 2
        assert jcg.checkpoint("jcg/hotline/ccg")[1] == []
        net.links["jcg"].answer = None
        await _step_jcg_until_receipt(net, 2, receipted_ms)
        assert ("jcg", "ccg", 2) in net.receipts, "the receipt waited for the heartbeat"
        assert net.clock.now_ms() - now <= CAP_S * 1000 + 100  # within the capped backoff
        assert jcg.checkpoint("jcg/hotline/ccg")[1]  # the newest checkpoint is cosigned
        assert jcg.delivery_state("ccg").acked_size == 2
        net.assert_identical()

    asyncio.run(scenario())


def test_a_409_for_our_whole_log_then_a_failed_push_still_pushes_for_the_receipt(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ccg pulled all of jcg's new entries before jcg pushed them. jcg's first push is capped
    at MAX_BATCH, so its checkpoint is not one ccg stores: 409 with jcg's whole size, and
    accept_conflict moves the cursor there uncosigned. The empty push sent right after fails;
    the receipt must come with jcg's next push, not only with the heartbeat."""

    async def scenario() -> None:
        jcg, link = net.ledgers["jcg"], net.links["jcg"]
        net.send("jcg", "one")
        await net.round()
        receipted_ms = jcg.last_cosignature_ms("ccg")
        assert receipted_ms == net.clock.now_ms() and ("jcg", "ccg", 1) in net.receipts
        for i in range(MAX_BATCH + 1):  # one push cannot carry them all
            net.send("jcg", f"batch {i}")
        size = MAX_BATCH + 2
        net.clock.advance(OPTIONS.pull_interval_s)
        now = net.clock.now_ms()
        await net.deliveries["ccg"].step(now)  # ccg pulls them all: stored, not cosigned
        assert net.ledgers["ccg"].size("jcg/hotline/ccg") == size
        answers: list[int | None] = [None, 503]  # the 409 reaches ccg; the empty push fails
        forward = link.handle_async_request

        async def scripted(request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                link.answer = answers.pop(0) if answers else None
            return await forward(request)

        monkeypatch.setattr(link, "handle_async_request", scripted)
        result = await net.deliveries["jcg"].step(now)
        assert (result.conflicts, result.failures, result.pushed) == (1, 1, 0)
        assert answers == []
        # the 409 moved the cursor to what ccg holds; the receipt is still owed
        assert jcg.delivery_state("ccg").acked_size == size
        assert jcg.checkpoint("jcg/hotline/ccg")[1] == []
        await _step_jcg_until_receipt(net, size, receipted_ms)
        assert ("jcg", "ccg", size) in net.receipts, "the receipt waited for the heartbeat"
        assert net.clock.now_ms() - now <= CAP_S * 1000 + 100  # within the capped backoff
        assert jcg.checkpoint("jcg/hotline/ccg")[1]  # the newest checkpoint is cosigned
        net.assert_identical()

    asyncio.run(scenario())


def test_a_peer_without_a_checkpoint_of_our_log_yet_is_quiet_and_its_log_is_pulled(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    # At a demo's start: jcg has sent nothing, so ccg stores no checkpoint of jcg's log and
    # answers that pull 404; ccg's own log must still be pulled, and nothing is a warning.
    async def scenario() -> None:
        net.links["ccg"].partitioned = True  # ccg's entry reaches jcg only by jcg's pull
        net.links["jcg"].answer = 503  # and jcg's heartbeat does not reach ccg
        net.send("ccg", "pulled, not pushed")
        net.clock.advance(OPTIONS.pull_interval_s)
        with caplog.at_level(logging.DEBUG, logger="seabridge.node.runtime"):
            result = await net.deliveries["jcg"].step(net.clock.now_ms())
        assert result.pulled == 1 and net.ledgers["jcg"].size("ccg/hotline/jcg") == 1
        pulls = [r.levelno for r in caplog.records if "pull" in r.message]
        assert pulls == [logging.DEBUG, logging.INFO]  # nothing yet; then "pulled 1 entries"
        assert "no checkpoint of jcg/hotline/ccg" in caplog.text

    asyncio.run(scenario())


def test_a_404_for_a_log_the_peer_does_not_know_stays_loud(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        unknown = {"error": "unknown", "detail": "origin 'jcg/hotline/ccg' is not a log"}
        inner = net.links["jcg"].inner

        class Unknown(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.path.endswith("/checkpoint"):
                    return httpx.Response(404, json=unknown)
                return await inner.handle_async_request(request)

        net.links["jcg"].inner = Unknown()  # type: ignore[assignment]
        net.clock.advance(OPTIONS.pull_interval_s)
        with caplog.at_level(logging.DEBUG, logger="seabridge.node.runtime"):
            await net.deliveries["jcg"].step(net.clock.now_ms())
        warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2 and all("refused" in w and "404" in w for w in warnings)

    asyncio.run(scenario())


def test_the_deadline_watcher_hands_missed_deadlines_to_the_application(net: Net) -> None:
    async def scenario() -> None:
        now = net.clock.now_ms()
        first = net.send("jcg", "answer within 5 s", deadline_ms=now + 5_000)
        answered = net.send("jcg", "this one is acked", deadline_ms=now + 5_000)
        await net.round()
        ref = Ref(answered.log, answered.seq, answered.leaf_hash())
        net.ledgers["ccg"].send("jcg", "ack", {"text": "ack", "text_en": "ack"}, refs=[ref])
        await net.round()
        assert net.missed == []
        net.clock.advance(5.0)
        result = (await net.round())[0]
        assert [e.kind for e in result.deadline_missed] == ["deadline-missed"]
        assert [e.refs[0].seq for e in net.missed] == [first.seq]
        net.clock.advance(1.0)
        assert (await net.round())[0].deadline_missed == []  # once per missed deadline
        await net.settle()  # the deadline-missed entry is delivered like any other

    asyncio.run(scenario())


def test_run_loops_step_with_the_injected_wait(net: Net) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        waits: list[float] = []

        async def wait(seconds: float) -> None:
            waits.append(seconds)
            net.clock.advance(max(seconds, 0.05))
            if len(waits) == 3:
                stop.set()

        delivery = make_delivery(net, "jcg", wait)
        net.send("jcg", "through run()")
        await delivery.run(stop)
        assert len(waits) == 3
        assert all(0 <= w <= OPTIONS.poll_s for w in waits)
        assert net.ledgers["jcg"].delivery_state("ccg").acked_size == 1

    asyncio.run(scenario())


@pytest.mark.network
def test_real_sockets_mutual_tls_admits_only_the_pinned_peer(tmp_path: Path) -> None:
    """``seabridge serve``'s listener on a loopback port: the peer's certificate pushes; no
    certificate, or one from another CA, is refused at the TLS layer and stores nothing."""
    clock = wall_clock()  # OpenSSL checks the certificates against the wall clock
    jcg, ccg = make_pair(tmp_path, clock)
    stranger = make_node(tmp_path, "xcg", clock)
    ccg_ledger = open_ledger(ccg, clock)
    jcg_ledger = open_ledger(jcg, clock)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = federation_server(ccg, ccg_ledger, Address("127.0.0.1", port), log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):  # startup: a bounded wait, not a timing
            if server.started or not thread.is_alive():
                break
            time.sleep(0.01)
        assert server.started
        url = f"https://127.0.0.1:{port}"
        jcg_ledger.send("ccg", "notification", body("over real mutual TLS"))
        push = jcg_ledger.push_request("ccg")
        ccg_ca = ccg.ca_pem().decode()

        no_cert = ssl.create_default_context(cadata=ccg_ca)
        wrong_ca = ssl.create_default_context(cadata=ccg_ca)
        wrong_ca.load_cert_chain(stranger.dir.tls_cert, stranger.dir.tls_key)
        for context in (no_cert, wrong_ca):
            with (
                httpx.Client(verify=context, timeout=5.0) as client,
                pytest.raises(
                    httpx.TransportError  # handshake refused, or (TLS 1.3) a read error after it
                ),
            ):
                client.post(f"{url}/v1/push", json=push)
        assert ccg_ledger.size("jcg/hotline/ccg") == 0

        async def deliver() -> StepResult:
            client = httpx.AsyncClient(verify=client_context(jcg, jcg.peer("ccg")), timeout=5.0)
            delivery = Delivery(jcg_ledger, {"ccg": client}, {"ccg": [url]}, clock)
            try:
                return await delivery.step(clock.now_ms())
            finally:
                await delivery.aclose()

        result = asyncio.run(deliver())
        assert (result.pushed, result.failures) == (1, 0)
        assert ccg_ledger.size("jcg/hotline/ccg") == 1
        assert jcg_ledger.delivery_state("ccg").acked_size == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        jcg_ledger.close()
        ccg_ledger.close()
    assert not thread.is_alive()
