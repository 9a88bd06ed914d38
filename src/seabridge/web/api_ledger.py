"""``/api/ledger``: the joint record at a glance, and its verification.

Routes::

    GET  /api/ledger          (viewer)   {"logs": [{origin, size, root, last_cosignature}],
                                          "delivery": [{peer, configured, acked_size,
                                          next_attempt, attempts, last_error, delivered_via}],
                                          "alarms": [{peer, alarm}]}
    POST /api/ledger/verify   (operator) the verify report (Report.to_json()), as
                                          ``seabridge ledger verify --node`` prints it

Both are :mod:`seabridge.node.record`'s; alarms are the running delivery loop's when it runs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from seabridge.node.record import record_summary, verify_node
from seabridge.node.runtime import DeliveryOptions
from seabridge.web._params import node_of
from seabridge.web.auth import Operator, Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api/ledger", tags=["ledger"])


@router.get("")
def ledger(principal: Viewer, request: Request) -> dict[str, Any]:
    """Each log's size, root and last cosignature; delivery state; alarms."""
    node = node_of(request)
    delivery = node.delivery
    return record_summary(
        node.ledger,
        node.clock.now_ms(),
        delivery.options.heartbeat_interval_s
        if delivery is not None
        else DeliveryOptions().heartbeat_interval_s,
        delivery.alarms() if delivery is not None else None,
    )


@router.post("/verify")
def verify(principal: Operator, request: Request) -> dict[str, Any]:
    """Re-derive the whole record from its bytes and the node's configured keys."""
    node = node_of(request)
    report: dict[str, Any] = verify_node(node.config, node.ledger).to_json()
    return report
