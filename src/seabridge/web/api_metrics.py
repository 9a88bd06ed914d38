"""``GET /metrics`` (admin, by session or an admin's API token): the node's counters and
gauges in the Prometheus text format 0.0.4, for a scraper with a ``Bearer sbt_...`` token.

Outside ``/api`` where scrapers look for it (the one route there); the static console never
shadows it (routes come before the mount).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from seabridge.web._params import node_of
from seabridge.web.auth import Admin

__all__ = ["CONTENT_TYPE", "router"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(principal: Admin, request: Request) -> PlainTextResponse:
    """Every metric of :data:`seabridge.node.metrics.METRICS`."""
    text = node_of(request).metrics.prometheus_text()
    return PlainTextResponse(text, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
