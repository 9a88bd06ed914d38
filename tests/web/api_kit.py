"""Builders for the API tests: a real jcg :class:`~seabridge.node.service.Node` (with its
ccg peer configured) fed by the simulator, its console app, and logged-in clients.

The simulator replays ecs-mini at 60x on a ManualClock: each step advances the clock one
second (a minute of data); nothing sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console_kit import PASSWORD, T0_MS, Client, fast_hasher
from fastapi import FastAPI

from seabridge.clock import ManualClock
from seabridge.node import NodeConfig, export_bundle, import_bundle, init_node
from seabridge.node.service import Node
from seabridge.node.sources import SourceConfig
from seabridge.node.users import UserStore
from seabridge.web.app import create_app

__all__ = ["SIM", "ApiNode", "open_api_node"]

SIM = SourceConfig("sim", simulator="ecs-mini", speed=60.0, silent_after_s=0, duration_s=300)


@dataclass
class ApiNode:
    node: Node
    peer: NodeConfig
    clock: ManualClock
    app: FastAPI

    def client(self) -> Client:
        return Client(self.app)

    def login(self, name: str) -> Client:
        """A client logged in as ``name`` (viewer, operator or admin), CSRF token set."""
        client = self.client()
        response = client.post("/api/login", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.csrf = response.json()["csrf"]
        return client

    def close(self) -> None:
        self.node.close()


def open_api_node(tmp_path: Path, *, steps: int = 6) -> ApiNode:
    """A jcg node in ``tmp_path`` with ccg configured as its peer, users ``viewer``,
    ``operator`` and ``admin``, after ``steps`` pipeline steps over the simulator."""
    clock = ManualClock(T0_MS)
    jcg = init_node(
        tmp_path / "jcg", "jcg", "JCG test node", "127.0.0.1:18443", "127.0.0.1:18444", clock
    )
    ccg = init_node(
        tmp_path / "ccg", "ccg", "CCG test node", "127.0.0.1:19443", "127.0.0.1:19444", clock
    )
    jcg_bundle, ccg_bundle = export_bundle(jcg, clock), export_bundle(ccg, clock)
    import_bundle(jcg, ccg_bundle, clock)
    ccg = import_bundle(ccg, jcg_bundle, clock)
    node = Node.open(jcg.dir.root, clock, sources=[SIM] if steps else [])
    node.users.close()
    node.users = UserStore(jcg.dir.state, clock, jcg.settings, hasher=fast_hasher())
    for role in ("viewer", "operator", "admin"):
        node.users.add(role, PASSWORD, role)
    for _ in range(steps):
        clock.advance(1)
        node.step()
    return ApiNode(node, ccg, clock, create_app(node, clock, console_dir=None))
