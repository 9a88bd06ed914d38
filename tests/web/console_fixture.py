"""A fake node for looking at the console without the backend: the static files plus canned
answers to the console API (the shapes the routers implement), built from the built-in pack.

Not shipped and not a test. Run it with
``.venv/bin/python -m uvicorn --factory tests.web.console_fixture:create_fixture_app``
(from the repository root), or build it in a browser test. There is no websocket route: the
console then shows its feed as reconnecting, which is what it does when the node restarts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "src" / "seabridge" / "web" / "console"
PACK = ROOT / "src" / "seabridge" / "data" / "packs" / "ecs"
NOW = datetime(2026, 11, 28, 11, 45, tzinfo=UTC)
RULEBOOK = {"id": "ecs-standard", "version": 1, "sha256": "9f2c" + "0" * 60}

Json = dict[str, Any]


def iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def zones() -> Json:
    """Pack zones and features in the /api/zones shape (islands and rocks are disputed)."""
    out: list[Json] = []
    for f in json.loads((PACK / "zones.geojson").read_text(encoding="utf-8"))["features"]:
        p = f["properties"]
        props = {
            "id": p["id"],
            "kind": "zone",
            "zone_kind": p["kind"],
            "name": p["names"]["en"],
            "names": {k: p["names"][k] for k in ("en", "ja", "zh")},
            "declared_by": p["declared_by"],
            "note": p.get("note", ""),
        }
        out.append({"type": "Feature", "geometry": f["geometry"], "properties": props})
    for f in json.loads((PACK / "features.geojson").read_text(encoding="utf-8"))["features"]:
        p = f["properties"]
        props = {
            "id": p["id"],
            "kind": "feature",
            "name": p["names"]["en"],
            "names": {k: p["names"][k] for k in ("en", "ja", "zh")},
            "disputed": p["kind"] in ("island", "rock"),
        }
        out.append({"type": "Feature", "geometry": f["geometry"], "properties": props})
    return {"type": "FeatureCollection", "features": out}


VESSELS: list[tuple[int, str, int, str, str, float, float, float, float | None]] = [
    # mmsi, name, ship type, party, flag, lon, lat, sog_kn, heading_deg
    (431000101, "PL YONAKUNI", 55, "jcg", "JP", 123.62, 25.86, 12.0, 215.0),
    (431000102, "PS MIZUKI", 55, "jcg", "JP", 123.45, 25.80, 9.5, 140.0),
    (412000201, "HAIJING 2302", 55, "ccg", "CN", 123.58, 25.83, 11.0, 30.0),
    (412000202, "HAIJING 2502", 55, "ccg", "CN", 123.70, 25.70, 8.0, None),
    (412345678, "MINJINYU 5179", 30, "other", "CN", 123.52, 25.88, 3.5, 300.0),
    (538001234, "ANANGEL COURAGE", 70, "other", "MH", 123.10, 25.95, 13.2, 45.0),
    (431999999, "DAIICHI MARU", 30, "other", "JP", 123.35, 25.62, 0.0, None),
]


def vessels() -> Json:
    features = []
    for mmsi, name, ship_type, party, flag, lon, lat, sog, heading in VESSELS:
        props = {
            "mmsi": mmsi,
            "name": name,
            "ship_type": ship_type,
            "party": party,
            "flag": flag,
            "sog_kn": sog,
            "cog_deg": heading if heading is not None else (None if sog < 0.5 else 90.0),
            "heading_deg": heading,
            "nav_status": 0,
            "ts": iso(1),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def events() -> list[Json]:
    return [
        {
            "id": "ev-1",
            "rule_id": "close-quarters",
            "kind": "close_quarters",
            "rulebook": RULEBOOK,
            "level": 3,
            "status": "open",
            "vessels": [431000101, 412000201],
            "start": iso(12),
            "end": None,
            "lat": 25.845,
            "lon": 123.60,
            "zone": "senkaku-diaoyu-12nm",
            "metrics": {"cpa_m": 310.0, "tcpa_s": 240.0, "range_m": 1850.0},
        },
        {
            "id": "ev-2",
            "rule_id": "belt-12nm-entry",
            "kind": "zone_entry",
            "rulebook": RULEBOOK,
            "level": 2,
            "status": "open",
            "vessels": [412000202],
            "start": iso(40),
            "end": None,
            "lat": 25.70,
            "lon": 123.70,
            "zone": "senkaku-diaoyu-12nm",
            "metrics": {"distance_m": 20100.0},
        },
        {
            "id": "ev-3",
            "rule_id": "loitering-near-features",
            "kind": "loitering",
            "rulebook": RULEBOOK,
            "level": 1,
            "status": "closed",
            "vessels": [412345678],
            "start": iso(300),
            "end": iso(200),
            "lat": 25.88,
            "lon": 123.52,
            "zone": None,
            "metrics": {"duration_s": 5400.0},
        },
    ]


def incident_summary() -> Json:
    return {
        "id": "jcg-2026-0042",
        "origin": "jcg",
        "status": "notified",
        "level": 3,
        "severity": 3,
        "kind": "close_quarters",
        "correlation_key": "close_quarters:431000101-412000201",
        "vessels": [431000101, 412000201],
        "zone": "senkaku-diaoyu-12nm",
        "peers": ["ccg"],
        "flagged": True,
        "closing_proposed": False,
        "start": iso(12),
        "created": iso(11),
        "updated": iso(2),
        "rulebook": {**RULEBOOK, "agreed": True, "warning": None},
    }


def incident_full() -> Json:
    summary = incident_summary()
    return {
        **summary,
        "events": [events()[0]],
        "vessels": [
            {
                "mmsi": 431000101,
                "party": "jcg",
                "flag_party": "jcg",
                "static": {"name": "PL YONAKUNI"},
            },
            {
                "mmsi": 412000201,
                "party": "ccg",
                "flag_party": "ccg",
                "static": {"name": "HAIJING 2302"},
            },
        ],
        "extent": {"min_lat": 25.83, "min_lon": 123.58, "max_lat": 25.86, "max_lon": 123.62},
        "counterparts": [],
        "deadlines": [
            {
                "origin": "jcg",
                "seq": 7,
                "msg_id": "01JD3A",
                "peer": "ccg",
                "level": 3,
                "due": iso(-13),
                "state": "pending",
            }
        ],
        "timeline": [
            {
                "n": 1,
                "at": iso(11),
                "action": "open",
                "from": None,
                "to": "open",
                "cause": "event ev-1",
                "actor": "engine",
                "detail": None,
            },
            {
                "n": 2,
                "at": iso(10),
                "action": "notify",
                "from": "open",
                "to": "notified",
                "cause": "level 3",
                "actor": "ladder",
                "detail": "sent to ccg duty desk",
            },
        ],
        "thread": [
            {
                "origin": "jcg",
                "seq": 7,
                "msg_id": "01JD3A",
                "direction": "out",
                "kind": "notification",
                "peer": "ccg",
                "level": 3,
                "template": "incident.close_quarters",
                "created": iso(10),
            },
            {
                "origin": "ccg",
                "seq": 3,
                "msg_id": "01JD3B",
                "direction": "in",
                "kind": "reply",
                "peer": "jcg",
                "level": 3,
                "template": "answer.message_received",
                "created": iso(4),
            },
        ],
    }


def hotline() -> list[Json]:
    return [
        {
            "origin": "jcg",
            "seq": 7,
            "msg_id": "01JD3A",
            "kind": "notification",
            "created": iso(10),
            "lang": "ja",
            "text": (
                "【警告】近距離状態。船舶431000101と船舶412000201の最接近距離は"
                "310メートル、最接近までの時間は4分です。"
            ),
            "text_en": (
                "WARNING. Close-quarters situation. Vessel 431000101 and vessel 412000201: "
                "closest point of approach 310 metres in 4 minutes."
            ),
            "refs": [],
            "receipted": True,
            "receipt_time": iso(9.9),
            "acknowledged": False,
            "deadline": iso(-13),
        },
        {
            "origin": "ccg",
            "seq": 3,
            "msg_id": "01JD3B",
            "kind": "reply",
            "created": iso(4),
            "lang": "zh",
            "text": "【回答】已收到消息01JD3A。我方正在核实，将于12:10 UTC前答复。",
            "text_en": (
                "ANSWER. Message 01JD3A received. We are checking and will reply by 12:10 UTC."
            ),
            "refs": [{"origin": "jcg", "seq": 7}],
            "receipted": True,
            "receipt_time": iso(3.9),
            "acknowledged": False,
        },
    ]


def templates() -> list[Json]:
    book = yaml.safe_load((PACK / "phrasebook.yaml").read_text(encoding="utf-8"))
    return [
        {
            "id": t["id"],
            "marker": t["marker"],
            "kind": t.get("kind"),
            "params": t["params"],
            "text": t["text"],
        }
        for t in book["templates"]
    ]


def create_fixture_app(*, logged_in: bool = True) -> FastAPI:
    """The fake node. With logged_in=False every call answers 401 until POST /api/login."""
    app = FastAPI()
    session = {"in": logged_in}
    me = {
        "user": "duty1",
        "role": "operator",
        "party": "jcg",
        "node_name": "JCG Naha",
        "languages": ["en", "ja", "zh"],
        "csrf": "fixture-csrf",
    }
    canned: dict[str, Any] = {
        "/api/me": me,
        "/api/health": {"status": "ok", "party": "jcg", "name": "JCG Naha", "version": "0.1.0"},
        "/api/zones": zones(),
        "/api/vessels": vessels(),
        "/api/events": events(),
        "/api/incidents": [incident_summary()],
        "/api/incidents/jcg-2026-0042": incident_full(),
        "/api/hotline": hotline(),
        "/api/hotline/templates": templates(),
        "/api/ledger": {
            "logs": [{"origin": "jcg", "size": 8}, {"origin": "ccg", "size": 4}],
            "delivery": [],
            "alarms": [],
        },
        "/api/tracks": {"type": "FeatureCollection", "features": []},
    }

    @app.post("/api/login")
    async def login() -> Json:
        session["in"] = True
        return {"user": me["user"], "role": me["role"], "csrf": me["csrf"]}

    @app.api_route("/api/{rest:path}", methods=["GET", "POST"])
    async def api(request: Request, rest: str) -> Response:
        if not session["in"]:
            return JSONResponse({"detail": "login required"}, status_code=401)
        if request.method == "POST":
            if request.headers.get("X-CSRF-Token") != me["csrf"]:
                return JSONResponse({"detail": "bad CSRF token"}, status_code=403)
            if rest == "logout":
                session["in"] = False
            return JSONResponse({"ok": True})
        path = f"/api/{rest}"
        if path not in canned:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse(canned[path])

    app.mount("/", StaticFiles(directory=CONSOLE, html=True), name="console")
    return app
