"""The web layer: FastAPI apps and routers over the node and the domain packages.

- :mod:`~seabridge.web.federation`: the peer-facing hotline endpoints (``POST /v1/push`` and
  the pull endpoints of ``domain/hotline-protocol.md`` §5.6), served behind mutual TLS.
- :mod:`~seabridge.web.server`: serving a node (uvicorn with mutual TLS, the delivery loop and
  the incidents round beside it); imported directly, not re-exported here.

Routes parse, call and present; they never do domain work. Nothing outside ``web`` and
``cli`` imports this package (``tests/test_architecture.py``).
"""

from __future__ import annotations

from seabridge.web.federation import MAX_PUSH_BYTES, federation_app, federation_router

__all__ = ["MAX_PUSH_BYTES", "federation_app", "federation_router"]
