"""``WebSocket /api/ws[?bbox=minLon,minLat,maxLon,maxLat]`` (viewer): the node's live feed.

Authentication: the session cookie with the console's own ``Origin``, or a Bearer API
token (:class:`~seabridge.web.auth.WebSocketRequirement`); refused with close code 4401 (no
or dead credentials) or 4403 (foreign Origin, role too low) before the handshake completes.

Server -> client, one JSON text message each::

    {"topic": "positions", "seq", "data": FeatureCollection}   vessels inside the bbox, in
                                                               the /api/vessels shape
    {"topic": "events",    "seq", "data": event}               as /api/events (with warning)
    {"topic": "incidents", "seq", "data": change}              an incident change
    {"topic": "hotline",   "seq", "data": entry or receipt}
    {"topic": "bbox",      "data": {"bbox": [...] or null}}    the filter now in force
    {"topic": "error",     "data": {"detail": str}}            a client message not understood

Client -> server: ``{"bbox": [minLon, minLat, maxLon, maxLat]}`` (or null: everywhere)
replaces the position filter. The hub throttles positions; each connection has its own
bounded queue, so a slow client loses its oldest messages (``seq`` shows the gap) and never
holds up the node or the other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from seabridge.errors import InputError
from seabridge.node.hub import TOPICS, Subscription
from seabridge.node.service import Node
from seabridge.tracks.queries import BBox
from seabridge.web._params import in_bbox, node_of, parse_bbox, vessel_feature
from seabridge.web.api_events import event_json
from seabridge.web.auth import Principal, require_ws

__all__ = ["QUEUE", "present", "router"]

QUEUE: Final = 256
"""Messages held for one connection before the oldest are dropped."""
_MAX_CLIENT_MESSAGE: Final = 1024

router = APIRouter(prefix="/api", tags=["live"])


def present(node: Node, message: dict[str, Any], bbox: BBox | None) -> dict[str, Any] | None:
    """The websocket message of a hub message for a client watching ``bbox`` (None: skip)."""
    topic, data = message["topic"], message["data"]
    if topic == "positions":
        rows = [r for r in data.get("positions", ()) if in_bbox(r.get("lon"), r.get("lat"), bbox)]
        if not rows:
            return None
        data = {"type": "FeatureCollection", "features": [vessel_feature(r) for r in rows]}
    elif topic == "events":
        data = event_json(node, data)
    return {"topic": topic, "seq": message["seq"], "data": data}


class _Filter:
    def __init__(self, bbox: BBox | None) -> None:
        self.bbox = bbox


async def _send(websocket: WebSocket, node: Node, sub: Subscription, watch: _Filter) -> None:
    async for message in sub:
        out = present(node, message, watch.bbox)
        if out is not None:
            await websocket.send_text(json.dumps(out, ensure_ascii=False))


async def _receive(websocket: WebSocket, watch: _Filter) -> None:
    while True:
        text = await websocket.receive_text()
        try:
            if len(text) > _MAX_CLIENT_MESSAGE:
                raise InputError(f"a client message is at most {_MAX_CLIENT_MESSAGE} characters")
            try:
                request = json.loads(text)
            except ValueError:
                raise InputError('send JSON, e.g. {"bbox": [123.0, 25.0, 124.5, 26.5]}') from None
            if not isinstance(request, dict) or "bbox" not in request:
                raise InputError('the only message is {"bbox": [minLon, minLat, maxLon, maxLat]}')
            watch.bbox = parse_bbox("bbox", request["bbox"])
        except InputError as exc:
            await websocket.send_text(json.dumps({"topic": "error", "data": {"detail": str(exc)}}))
            continue
        box = None if watch.bbox is None else list(watch.bbox)
        await websocket.send_text(json.dumps({"topic": "bbox", "data": {"bbox": box}}))


@router.websocket("/ws")
async def live(
    websocket: WebSocket,
    principal: Annotated[Principal, Depends(require_ws("viewer"))],
    bbox: str | None = None,
) -> None:
    """Stream the hub's topics to one console until either side closes."""
    node = node_of(websocket)
    try:
        watch = _Filter(parse_bbox("bbox", bbox))
    except InputError as exc:
        await websocket.close(code=1008, reason=str(exc)[:120])
        return
    sub = node.hub.subscribe(TOPICS, maxsize=QUEUE)  # before accept: nothing published is missed
    try:
        await websocket.accept()
        tasks = [
            asyncio.create_task(_send(websocket, node, sub, watch)),
            asyncio.create_task(_receive(websocket, watch)),
        ]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                task.result()
    finally:
        sub.close()
