"""The role matrix: every route of the console app x (anonymous, viewer, operator, admin) x
(session, API token).

Routes are found by walking ``create_app``'s routes (``fastapi.routing.iter_route_contexts``
reaches into included routers), so routes added later to ``web.app.ROUTERS`` are covered
without touching this file. Each route's minimum role is what it declares through
``require(...)`` (:func:`seabridge.web.auth.route_role`); a route declaring none fails the
matrix unless it is one of ``PUBLIC_ROUTES``. Expected answers: anonymous 401; a role below the
minimum 403; at or above it anything but 401, 403 and 5xx (dummy path values and empty bodies
may well give 404 or 422). Every request uses a fresh session or token, so a route that ends
sessions or revokes tokens cannot disturb the next one.

Websocket routes are checked as ``WS``: the handshake (session cookie with the console's own
Origin, or a token) is accepted, or refused with close code 4401 (counted as 401) or 4403
(403). The console app runs over a real node (the domain routers read it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_kit import Console, make_console
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from seabridge.node.users import ROLES, Role, role_rank
from seabridge.web.app import ROUTERS
from seabridge.web.auth import PUBLIC_ROUTES, UNSAFE_METHODS, Admin, require, route_role

_PARAM = re.compile(r"\{[^}]+\}")


def _requests(console: Console) -> list[tuple[str, str, Role | None]]:
    """(method, path, minimum role or None for public) of every API route; fails on a route
    that is neither an API route nor the console's static mount, and on one without a role."""
    found: list[tuple[str, str, Role | None]] = []
    problems: list[str] = []
    for route in iter_route_contexts(console.app.routes):
        original = route.original_route
        if isinstance(original, Mount) and original.path == "":
            continue  # the static console at "/"
        if isinstance(original, APIWebSocketRoute):
            role = route_role(route)
            if role is None:
                problems.append(f"WS {route.path_format}: declares no role; add require_ws(...)")
            found.append(("WS", str(route.path_format), role))
            continue
        if not isinstance(original, APIRoute):
            problems.append(f"{route.path}: a {type(original).__name__} the matrix cannot check")
            continue
        role = route_role(route)
        for method in sorted(route.methods or ()):
            if (method, route.path_format) in PUBLIC_ROUTES:
                if role is not None:
                    problems.append(f"{method} {route.path_format}: public but requires {role}")
            elif role is None:
                problems.append(
                    f"{method} {route.path_format}: declares no role; add "
                    "Depends(require(...)) to the route or its router"
                )
            found.append((method, str(route.path_format), role))
    assert problems == [], problems
    return found


def _connect(console: Console, path: str, role: str | None, via: str) -> int:
    """A websocket handshake: 200 accepted, else the close code less 4000 (401, 403)."""
    client = TestClient(console.app)
    headers = {"Origin": "http://testserver"}
    if role is not None and via == "session":
        client.cookies.set("sb_session", console.users.create_session(role).token)
    elif role is not None:
        headers["Authorization"] = f"Bearer {console.users.create_token(role, 'matrix').token}"
    try:
        with client.websocket_connect(path, headers=headers):
            return 200
    except WebSocketDisconnect as exc:
        return exc.code - 4000 if exc.code >= 4000 else 500


def _send(console: Console, method: str, path: str, role: str | None, via: str) -> int:
    if method == "WS":
        return _connect(console, path, role, via)
    client = console.client()
    if role is not None and via == "session":
        new = console.users.create_session(role)
        client.cookies.set("sb_session", new.token)
        if method in UNSAFE_METHODS:
            client.csrf = new.session.csrf
    elif role is not None:
        client.bearer = console.users.create_token(role, "matrix").token
    url = _PARAM.sub("1", path)
    body: dict[str, object] = {"json": {}} if method in UNSAFE_METHODS else {}
    return client.request(method, url, **body).status_code


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    made = make_console(tmp_path, real_node=True)
    yield made
    made.node.close()


def test_every_route_enforces_its_role(console: Console) -> None:
    matrix = _requests(console)
    assert len(matrix) >= len(PUBLIC_ROUTES) + 5
    failures = []
    for method, path, minimum in matrix:
        anonymous = _send(console, method, path, None, "session")
        if minimum is None:
            if anonymous in (401, 403) or anonymous >= 500:
                failures.append(f"{method} {path} anonymous: {anonymous}, public")
            continue
        if anonymous != 401:
            failures.append(f"{method} {path} anonymous: {anonymous}, expected 401")
        for role in ROLES:
            for via in ("session", "token"):
                status = _send(console, method, path, role, via)
                allowed = role_rank(role) >= role_rank(minimum)
                ok = status not in (401, 403) and status < 500 if allowed else status == 403
                if not ok:
                    expected = "not 401/403/5xx" if allowed else "403"
                    failures.append(
                        f"{method} {path} {role} by {via}: {status}, expected {expected}"
                    )
    assert failures == []


def test_the_matrix_sees_routes_of_routers_and_their_router_level_roles(
    tmp_path: Path,
) -> None:
    """What a later domain router looks like to the matrix: router-level and route-level
    requirements are found, the higher one wins, and a route with none is reported."""
    console = make_console(tmp_path)
    guarded = APIRouter(prefix="/api/things", dependencies=[Depends(require("operator"))])

    @guarded.get("")
    def things() -> list[str]:
        return []

    @guarded.post("/{thing_id}/close")
    def close(thing_id: str, principal: Admin) -> None:
        return None

    console.app.include_router(guarded)
    roles = {(m, p): r for m, p, r in _requests(console)}
    assert roles[("GET", "/api/things")] == "operator"
    assert roles[("POST", "/api/things/{thing_id}/close")] == "admin"
    assert _send(console, "GET", "/api/things", "viewer", "token") == 403
    assert _send(console, "POST", "/api/things/1/close", "operator", "session") == 403
    assert _send(console, "POST", "/api/things/1/close", "admin", "session") == 200

    open_router = APIRouter(prefix="/api/leak")

    @open_router.get("")
    def leak() -> dict[str, str]:
        return {}

    console.app.include_router(open_router)
    with pytest.raises(AssertionError, match="GET /api/leak: declares no role"):
        _requests(console)


def test_a_public_route_that_is_not_listed_fails(console: Console) -> None:
    @console.app.get("/api/open")
    def open_route() -> dict[str, str]:
        return {}

    with pytest.raises(AssertionError, match="/api/open: declares no role"):
        _requests(console)


def test_the_console_app_has_no_federation_route(console: Console) -> None:
    paths = [str(route.path_format) for route in iter_route_contexts(console.app.routes)]
    assert paths and all(path.startswith("/api/") or path == "/metrics" for path in paths)
    assert _send(console, "POST", "/v1/push", "admin", "token") == 404
    assert all(not (route.prefix or "").startswith("/v1") for route in ROUTERS)


def test_the_static_console_is_served_after_the_api_with_the_headers(tmp_path: Path) -> None:
    static = tmp_path / "console"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>Seabridge</title>")
    console = make_console(tmp_path, console_dir=static)
    client = console.client()
    page = client.get("/")
    assert page.status_code == 200 and "Seabridge" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert client.get("/api/me").status_code == 401  # the API wins over the mount
    assert client.get("/api/health").json()["status"] == "ok"
    _requests(console)  # the mount is skipped, nothing else unknown
