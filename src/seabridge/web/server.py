"""Serving a node: the federation listener (uvicorn, mutual TLS) and its hotline delivery.

:func:`serve_service` serves a whole :class:`~seabridge.node.service.Node` (what ``seabridge
serve`` runs): the node's tasks (sources -> ingest -> detection -> incidents, delivery), the
federation listener and the console listener (:func:`seabridge.web.app.create_app` on
``console.listen``: plain HTTP, or HTTPS with TLS 1.2+ and no client certificates when node.toml's
``[console]`` names ``tls_cert`` and ``tls_key`` or ``seabridge serve --console-tls self`` issued
one, see :mod:`seabridge.node.consoletls`). The rest of this docstring is about
:func:`serve_node`, the hotline-only form the hotline tests and the latency benchmark use.

:func:`serve_node` runs both in one event loop: uvicorn on the federation listener with the
node's mutual-TLS context (a client certificate from a pinned peer CA is required), the
delivery loop (:mod:`seabridge.node.runtime`) and the incidents round
(:mod:`seabridge.node.incidents`, a missed deadline escalates) as tasks beside it. SIGINT and
SIGTERM stop all: the listener finishes its requests, the delivery loop ends its step, the
ledger is closed. ``seabridge serve``, the tests and the latency benchmark use the same
:func:`federation_server` and :func:`serve_node`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn

from seabridge.clock import Clock
from seabridge.hotline.ledger import Ledger
from seabridge.node import NodeConfig, server_context
from seabridge.node.client import remove_serve_file, write_serve_file
from seabridge.node.consoletls import console_context
from seabridge.node.directory import Address, ConsoleTLS
from seabridge.node.runtime import Delivery, DeliveryOptions, open_ledger
from seabridge.web.federation import federation_app

if TYPE_CHECKING:  # detection (numba) loads only when a whole node is served
    from seabridge.node.service import Node

__all__ = [
    "FederationServer",
    "console_server",
    "federation_server",
    "listener_url",
    "serve_node",
    "serve_service",
]

log = logging.getLogger(__name__)
_STOP_TIMEOUT_S = 3  # a delivery step or a request in flight gets this long to finish


class FederationServer(uvicorn.Server):
    """uvicorn's server, leaving signals to :func:`serve_node` (which also stops delivery)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def federation_server(
    node: NodeConfig, ledger: Ledger, address: Address | None = None, *, log_level: str = "info"
) -> FederationServer:
    """The federation listener of ``node`` over ``ledger``: TLS 1.3, client certificates
    required and checked against the peers' pinned CAs (:func:`seabridge.node.server_context`).
    """
    address = address or node.federation_listen
    context = server_context(node)  # built now: a bad CA file fails before the port opens
    config = uvicorn.Config(
        federation_app(ledger),
        host=address.host,
        port=address.port,
        ssl_context_factory=lambda _config, _default: context,
        lifespan="off",
        log_level=log_level,
        access_log=False,
        server_header=False,
        # an idle peer connection never answers our TLS close_notify (asyncio would wait 30 s)
        timeout_graceful_shutdown=_STOP_TIMEOUT_S,
    )
    return FederationServer(config)


async def serve_node(
    node: NodeConfig,
    clock: Clock,
    *,
    address: Address | None = None,
    stop: asyncio.Event | None = None,
    sockets: list[socket.socket] | None = None,
    options: DeliveryOptions | None = None,
    on_ready: Callable[[Ledger, Delivery, FederationServer], None] | None = None,
    on_receipt: Callable[[str, int], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``node`` until ``stop`` is set, SIGINT or SIGTERM (from the main thread).

    ``on_ready`` is called in the event loop once the listener accepts connections, with the
    ledger and the delivery loop: an application in the same process sends through that
    ledger and calls :meth:`~seabridge.node.runtime.Delivery.notify`. ``on_receipt`` is the
    delivery loop's (see :class:`~seabridge.node.runtime.Delivery`).
    """
    from seabridge.node.incidents import ServedIncidents

    stop = stop or asyncio.Event()
    ledger = open_ledger(node, clock)
    incidents: ServedIncidents | None = None
    try:
        # incidents: start-up round, deadline-missed -> one escalation, a periodic round
        incidents = ServedIncidents(node, ledger, clock)
        delivery = Delivery.for_node(
            node,
            ledger,
            clock,
            options=options,
            on_alarm=_log_alarm,
            on_deadline_missed=incidents.on_deadline_missed,
            on_receipt=on_receipt,
        )
        server = federation_server(node, ledger, address, log_level=log_level)
        loop = asyncio.get_running_loop()
        signals = _install_signals(loop, stop)

        runner = asyncio.create_task(delivery.run(stop))
        rounds = asyncio.create_task(incidents.run(stop))

        async def watch() -> None:
            while not server.started and not server.should_exit:
                await asyncio.sleep(0.05)
            if server.started and on_ready is not None:
                on_ready(ledger, delivery, server)
            await stop.wait()
            # Delivery first: our idle TLS connections to the peer close before the listener
            # shuts down, so a peer stopping at the same time does not wait for them.
            await _finish(runner)
            await _finish(rounds)
            await delivery.aclose()
            server.should_exit = True

        watcher = asyncio.create_task(watch())
        try:
            await server.serve(_no_delay(sockets))
        finally:
            stop.set()
            await _finish(watcher)
            await _finish(runner)
            await _finish(rounds)
            await delivery.aclose()
            for sig in signals:
                loop.remove_signal_handler(sig)
    finally:
        if incidents is not None:
            incidents.close()
        ledger.close()


def _no_delay(sockets: list[socket.socket] | None) -> list[socket.socket] | None:
    """Listening sockets handed in, with Nagle's algorithm off (accepted connections inherit
    it on Linux). asyncio turns it off itself only for sockets made with proto IPPROTO_TCP,
    and ``socket.socket()`` makes proto 0: a response's second TLS record (the body after
    the headers) then waited for the client's delayed ACK, 40 ms per round trip."""
    for sock in sockets or ():
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sockets


async def _finish(task: asyncio.Task[None]) -> None:
    """Let ``task`` end within the stop timeout; cancel it after that."""
    _, pending = await asyncio.wait([task], timeout=_STOP_TIMEOUT_S)
    for late in pending:
        late.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[int]:
    if threading.current_thread() is not threading.main_thread():
        return []
    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
        installed.append(sig)
    return installed


def _log_alarm(peer: str, text: str) -> None:
    log.warning("ALARM %s: %s", peer, text)


def console_server(
    node: Node, address: Address, *, tls: ConsoleTLS | None = None, log_level: str = "info"
) -> FederationServer | None:
    """The console listener: HTTPS with ``tls`` (TLS 1.2+, no client certificates), else plain
    HTTP; None when this installation has no console app (:mod:`seabridge.web.app`).

    Raises:
        ConfigError: the certificate and key of ``tls`` cannot be loaded.
    """
    try:
        from seabridge.web.app import create_app
    except ImportError:
        return None
    context = None if tls is None else console_context(tls)  # a bad file fails before the port
    config = uvicorn.Config(
        create_app(node, node.clock),
        host=address.host,
        port=address.port,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=_STOP_TIMEOUT_S,
        ssl_context_factory=None if context is None else (lambda _config, _default: context),
    )
    return FederationServer(config)


def listener_url(scheme: str, address: Address) -> str:
    """``scheme://HOST:PORT`` a local client reaches ``address`` at (loopback for a wildcard)."""
    if address.wildcard:
        address = Address("::1" if ":" in address.host else "127.0.0.1", address.port)
    return f"{scheme}://{address}"


async def serve_service(
    node: Node,
    *,
    federation: Address | None = None,
    console: Address | None = None,
    console_tls: ConsoleTLS | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Node], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve a whole node until ``stop``, SIGINT or SIGTERM: :meth:`Node.start` (sources,
    pipeline, incidents, delivery), the federation listener (mutual TLS) and the console
    listener (HTTPS with ``console_tls``, default node.toml's; else HTTP); ``DIR/serve.json``
    says so while it runs (with ``console_ca``, the PEM that verifies an HTTPS console). On
    stop the listeners close first, then :meth:`Node.stop` flushes ingest, saves the cursors
    and closes every file."""
    stop = stop or asyncio.Event()
    config = node.config
    fed_address = federation or config.federation_listen
    console_address = console or config.console_listen
    tls = console_tls or config.console_tls
    servers = [federation_server(config, node.ledger, fed_address, log_level=log_level)]
    panel = console_server(node, console_address, tls=tls, log_level=log_level)
    if panel is not None:
        servers.append(panel)
    loop = asyncio.get_running_loop()
    signals = _install_signals(loop, stop)
    console_url = None
    if panel is not None:
        console_url = listener_url("http" if tls is None else "https", console_address)
    console_ca = None if tls is None or tls.ca is None or panel is None else str(tls.ca)
    write_serve_file(
        config.dir.root, console_url, listener_url("https", fed_address), console_ca=console_ca
    )
    try:
        await node.start()
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        while not all(server.started for server in servers) and not stop.is_set():
            if any(task.done() for task in tasks):  # a port in use ends serve() at once
                break
            await asyncio.sleep(0.05)
        if all(server.started for server in servers) and on_ready is not None:
            on_ready(node)
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        await node.stop_delivery()  # our connections to the peer close before our listeners
        for server in servers:
            server.should_exit = True
        waiter.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await node.stop()
        remove_serve_file(config.dir.root)
