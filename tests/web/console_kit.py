"""Builders for console tests: a real node directory and UserStore behind ``create_app``, and
a synchronous client over ``httpx.ASGITransport`` (no sockets, cookies kept)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from seabridge.clock import ManualClock
from seabridge.node import NodeConfig, init_node
from seabridge.node.users import UserStore
from seabridge.web.app import create_app

__all__ = ["PASSWORD", "T0_MS", "Client", "Console", "FakeNode", "fast_hasher", "make_console"]

T0_MS = 1_777_593_600_000
"""2026-05-01T00:00:00Z."""
PASSWORD = "correct horse battery"


def fast_hasher() -> PasswordHasher:
    """argon2id with the cheapest parameters: the tests check behaviour, not cost."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class FakeNode:
    """What the console needs of the running node (``web.app.ConsoleNode``)."""

    config: NodeConfig
    users: UserStore


@dataclass
class Console:
    node: Any  # FakeNode, or a Node with real_node
    clock: ManualClock
    app: FastAPI
    users: UserStore = field(init=False)

    def __post_init__(self) -> None:
        self.users = self.node.users

    def client(self, *, https: bool = False, address: str = "127.0.0.1") -> Client:
        return Client(self.app, https=https, address=address)

    def login(self, name: str, password: str = PASSWORD) -> Client:
        """A client logged in as ``name`` (its CSRF token sent on every request)."""
        client = self.client()
        response = client.post("/api/login", json={"username": name, "password": password})
        assert response.status_code == 200, response.text
        client.csrf = response.json()["csrf"]
        return client


def make_console(
    tmp_path: Path, *, console_dir: Path | None = None, real_node: bool = False
) -> Console:
    """A jcg node in ``tmp_path/jcg`` with users ``viewer``, ``operator`` and ``admin``
    (password :data:`PASSWORD`), and its console app on a ManualClock.

    With ``real_node`` the app runs over a :class:`~seabridge.node.service.Node` opened on the
    directory (no sources; the domain routers need it): close it with ``console.node.close()``.
    """
    clock = ManualClock(T0_MS)
    config = init_node(
        tmp_path / "jcg", "jcg", "JCG test node", "127.0.0.1:18443", "127.0.0.1:18444", clock
    )
    users = UserStore(config.dir.state, clock, config.settings, hasher=fast_hasher())
    for role in ("viewer", "operator", "admin"):
        users.add(role, PASSWORD, role)
    node: Any = FakeNode(config, users)
    if real_node:
        from seabridge.node.service import Node

        node = Node.open(config.dir.root, clock, sources=[])
        node.users.close()
        node.users = users
    return Console(node, clock, create_app(node, clock, console_dir=console_dir))


class Client:
    """A synchronous client over ``httpx.AsyncClient(transport=ASGITransport(app))`` that
    keeps cookies between requests and sends :attr:`csrf` as ``X-CSRF-Token`` when set."""

    def __init__(self, app: FastAPI, *, https: bool = False, address: str = "127.0.0.1") -> None:
        self.app = app
        self.base_url = "https://console.test" if https else "http://console.test"
        self.address = address
        self.cookies = httpx.Cookies()
        self.csrf: str | None = None
        self.bearer: str | None = None

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        headers = dict(options.pop("headers", {}))
        if self.csrf is not None:
            headers.setdefault("X-CSRF-Token", self.csrf)
        if self.bearer is not None:
            headers.setdefault("Authorization", f"Bearer {self.bearer}")

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(self.address, 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url=self.base_url, cookies=self.cookies
            ) as client:
                response = await client.request(method, url, headers=headers, **options)
                self.cookies = httpx.Cookies(client.cookies)
                return response

        return asyncio.run(call())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def delete(self, url: str, **options: Any) -> httpx.Response:
        return self.request("DELETE", url, **options)
