"""Hotline on loopback: send -> cosigned receipt latency, and throughput, over mutual TLS.

Two nodes (jcg, ccg) are created in a temporary directory and have imported each other's
bundle; each runs what ``seabridge serve`` runs (:func:`seabridge.web.server.serve_node`:
uvicorn with the node's mutual-TLS context plus the delivery loop) in its own thread and
event loop, on a loopback port. jcg's application sends through the served ledger and wakes
the delivery loop, as an in-process application does.

- Latency: jcg sends at 10 msg/s for 20 s; per message, from the start of ``send()`` (the
  signed, fsynced append) to the moment jcg has stored ccg's cosignature covering it.
- Throughput: N messages sent as fast as possible; from the first send to the last receipt.
- Baselines in the same run, to the same ccg listener over the same mutual TLS, with the
  delivery loop's httpx.AsyncClient: a bare ``GET checkpoint`` round trip on a kept-alive
  connection, and an empty (heartbeat)
  push round trip (the receiver's transaction, fsync and cosignature; nothing at the sender).

Target (DESIGN.md, R7): p99 <= 250 ms at 10 msg/s.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from seabridge.clock import SystemClock
from seabridge.hotline.ledger import Ledger
from seabridge.node import NodeConfig, client_context, export_bundle, import_bundle, init_node
from seabridge.node.runtime import Delivery
from seabridge.web.server import FederationServer, serve_node

OUT = Path(__file__).resolve().parents[1] / "bench-out"
RATE_PER_S = 10.0
DURATION_S = 20.0
BURST = 1000
BASELINE_N = 200
PACED_BASELINE_N = 50
TARGET_P99_MS = 250.0


class ServedNode:
    """One node served in a thread: serve_node in its own event loop on a bound socket."""

    def __init__(self, node: NodeConfig, listener: socket.socket) -> None:
        self.node, self.listener = node, listener
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.receipt_s: dict[int, float] = {}
        self.receipted = 0
        self.ledger: Ledger | None = None
        self.delivery: Delivery | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()

        def on_ready(ledger: Ledger, delivery: Delivery, server: FederationServer) -> None:
            self.ledger, self.delivery = ledger, delivery
            self.ready.set()

        await serve_node(
            self.node,
            SystemClock(),
            sockets=[self.listener],
            stop=self._stop,
            on_ready=on_ready,
            on_receipt=self._on_receipt,
            log_level="warning",
        )

    def _on_receipt(self, peer: str, size: int) -> None:
        now = time.perf_counter()
        with self.lock:
            for seq in range(self.receipted, size):
                self.receipt_s[seq] = now
            self.receipted = max(self.receipted, size)

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError(f"node {self.node.party} did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)

    def wait_receipted(self, size: int, timeout_s: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            with self.lock:
                if self.receipted >= size:
                    return
            time.sleep(0.001)
        raise RuntimeError(f"only {self.receipted} of {size} entries receipted in {timeout_s} s")


def _make_nodes(root: Path) -> tuple[NodeConfig, NodeConfig, socket.socket, socket.socket]:
    clock = SystemClock()
    sockets, nodes = [], []
    for party in ("jcg", "ccg"):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        console = socket.socket()
        console.bind(("127.0.0.1", 0))
        port, console_port = listener.getsockname()[1], console.getsockname()[1]
        console.close()
        nodes.append(
            init_node(
                root / party,
                party,
                f"{party.upper()} benchmark node",
                f"127.0.0.1:{port}",
                f"127.0.0.1:{console_port}",
                clock,
            )
        )
        sockets.append(listener)
    jcg, ccg = nodes
    jcg_bundle, ccg_bundle = export_bundle(jcg, clock), export_bundle(ccg, clock)
    jcg, ccg = import_bundle(jcg, ccg_bundle, clock), import_bundle(ccg, jcg_bundle, clock)
    return jcg, ccg, sockets[0], sockets[1]


def _summary(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p99_ms": p99,
        "max_ms": ordered[-1],
    }


def _send(served: ServedNode, count: int, rate_per_s: float | None, tag: str) -> list[float]:
    """Send ``count`` messages (paced at ``rate_per_s`` or as fast as possible); the latency
    of each, send start -> stored receipt, in ms."""
    assert served.ledger is not None and served.delivery is not None
    ledger, delivery = served.ledger, served.delivery
    start_size = ledger.size(ledger.own_origin("ccg"))
    sent_s: dict[int, float] = {}
    t0 = time.perf_counter()
    for i in range(count):
        if rate_per_s is not None:
            pause = t0 + i / rate_per_s - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        began = time.perf_counter()
        text = f"{tag} message {i}"
        entry = ledger.send(
            "ccg", "notification", {"text": text, "text_en": text, "marker": "INFORMATION"}
        )
        sent_s[entry.seq] = began
        delivery.notify()
    served.wait_receipted(start_size + count)
    with served.lock:
        return [(served.receipt_s[seq] - at) * 1000 for seq, at in sent_s.items()]


async def _baselines(jcg: NodeConfig, url: str, ledger: Ledger) -> dict[str, dict[str, float]]:
    """Round trips on one kept-alive connection of the same async client the delivery uses."""
    context = client_context(jcg, jcg.peer("ccg"))
    checkpoint_url = f"{url}/v1/logs/jcg/hotline/ccg/checkpoint"
    body = ledger.push_request("ccg", heartbeat=True)
    results: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(verify=context, timeout=10.0) as client:
        (await client.get(checkpoint_url)).raise_for_status()  # the handshake, not measured
        calls: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("bare_get_checkpoint", lambda: client.get(checkpoint_url)),
            ("empty_push", lambda: client.post(f"{url}/v1/push", json=body)),
        ]
        for name, call in calls:
            for mode, count, pause_s in (
                ("back_to_back", BASELINE_N, 0.0),
                ("paced", PACED_BASELINE_N, 1 / RATE_PER_S),
            ):
                times = []
                for _ in range(count):
                    await asyncio.sleep(pause_s)
                    began = time.perf_counter()
                    (await call()).raise_for_status()
                    times.append((time.perf_counter() - began) * 1000)
                results[f"{name}_{mode}"] = _summary(times)
    return results


def run(duration_s: float = DURATION_S, burst: int = BURST) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="seabridge-bench-hotline-") as tmp:
        jcg, ccg, jcg_socket, ccg_socket = _make_nodes(Path(tmp))
        served = {"jcg": ServedNode(jcg, jcg_socket), "ccg": ServedNode(ccg, ccg_socket)}
        for node in served.values():
            node.start()
        try:
            sender = served["jcg"]
            assert sender.ledger is not None
            _send(sender, 5, None, "warm-up")  # connections and caches
            count = round(duration_s * RATE_PER_S)
            paced = _send(sender, count, RATE_PER_S, "paced")
            began = time.perf_counter()
            burst_latency = _send(sender, burst, None, "burst")
            burst_s = time.perf_counter() - began
            baselines = asyncio.run(_baselines(jcg, ccg.endpoints[0], sender.ledger))
            size = sender.ledger.size("jcg/hotline/ccg")
            assert served["ccg"].ledger is not None
            mirrored = served["ccg"].ledger.size("jcg/hotline/ccg")
        finally:
            for node in served.values():
                node.stop()
    return {
        "paced": {"rate_per_s": RATE_PER_S, **_summary(paced)},
        "burst": {
            "messages": burst,
            "seconds": burst_s,
            "messages_per_s": burst / burst_s,
            **_summary(burst_latency),
        },
        "baselines": baselines,
        "sizes": {"jcg_log": size, "ccg_mirror": mirrored},
        "target_p99_ms": TARGET_P99_MS,
    }


def main() -> None:
    print("Hotline on loopback over mutual TLS (two served nodes, one process)")
    report = run()
    paced, burst, base = report["paced"], report["burst"], report["baselines"]
    verdict = "meets" if paced["p99_ms"] <= TARGET_P99_MS else "MISSES"
    print(
        f"  send -> cosigned receipt at {paced['rate_per_s']:g} msg/s, {paced['n']} messages: "
        f"p50 {paced['p50_ms']:.1f} ms, p99 {paced['p99_ms']:.1f} ms, max "
        f"{paced['max_ms']:.1f} ms ({verdict} the p99 <= {TARGET_P99_MS:g} ms target)"
    )
    print(
        f"  as fast as possible, {burst['messages']} messages: {burst['messages_per_s']:,.0f} "
        f"msg/s send -> all receipted in {burst['seconds']:.2f} s (receipt latency p50 "
        f"{burst['p50_ms']:.0f} ms, p99 {burst['p99_ms']:.0f} ms)"
    )
    for name, summary in base.items():
        print(
            f"  baseline {name.replace('_', ' ')} ({summary['n']:g} round trips, kept-alive "
            f"mTLS): p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms"
        )
    sizes = report["sizes"]
    print(f"  jcg log {sizes['jcg_log']} entries, ccg mirror {sizes['ccg_mirror']}")
    OUT.mkdir(exist_ok=True)
    (OUT / "hotline_latency.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
