"""``GET /api/zones?lang=en|ja|zh`` (viewer): the pack's zones and features for the map.

The node's :meth:`~seabridge.node.service.Node.zones_geojson` (every feature with all its
names, zones with who declares them), with the keys the console's map styles by:
``kind`` is ``zone`` or ``feature`` (the node's ``layer``), ``zone_kind`` / ``feature_kind``
the node's ``kind``, and ``disputed`` true for a feature whose names differ between
languages (the map then always shows every name). Geometry, never a claim.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request

from seabridge.errors import InputError
from seabridge.web._params import node_of
from seabridge.web.auth import Viewer

__all__ = ["LANGS", "router"]

LANGS: Final = ("en", "ja", "zh")

router = APIRouter(prefix="/api", tags=["zones"])


def _console_properties(props: dict[str, Any]) -> dict[str, Any]:
    layer = props.get("layer")
    out = {**props, "kind": layer, f"{layer}_kind": props.get("kind")}
    if layer == "feature":
        names = {str(v) for v in dict(props.get("names") or {}).values()}
        out["disputed"] = len(names) > 1
    return out


@router.get("/zones", responses={400: {"description": "Unknown language"}})
def zones(principal: Viewer, request: Request, lang: str = "en") -> dict[str, Any]:
    """Zones and features as one FeatureCollection, names in ``lang``."""
    if lang not in LANGS:
        raise InputError(f"lang={lang!r}: one of {', '.join(LANGS)}")
    collection = node_of(request).zones_geojson(lang)
    features = [
        {**item, "properties": _console_properties(dict(item["properties"]))}
        for item in collection["features"]
    ]
    return {**collection, "features": features}
