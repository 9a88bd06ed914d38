"""The console app: :func:`create_app` builds the FastAPI app of the operators' listener.

What it serves, in this order:

1. the API routers of :data:`ROUTERS`, every route under ``/api``;
2. ``GET /api/openapi.json`` (viewer and above; no docs pages): the schema, each operation
   marked with ``x-seabridge-role`` (``public``, ``viewer``, ``operator`` or ``admin``);
3. the console's static files (``web/console/``, when present) at ``/``, after the API.

Every response carries the security headers of :data:`SECURITY_HEADERS`; API responses are
also ``Cache-Control: no-store``. The federation endpoints are a separate app
(:func:`seabridge.web.federation.federation_app`) on a separate listener behind mutual TLS:
this app never includes them.

**Adding a router.** Write ``seabridge/web/<domain>.py`` exposing
``router = APIRouter(prefix="/api/<domain>", tags=["<domain>"])`` whose routes each declare a
role (``principal: Operator``, or ``dependencies=[Depends(require("operator"))]`` on the
route or the router; see :mod:`seabridge.web.auth`), reach the node through
``request.app.state.node`` (and time through ``request.app.state.clock``), then add the
router to :data:`ROUTERS`. The role-matrix test (``tests/web/test_role_matrix.py``) then
covers its routes by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seabridge import __version__
from seabridge.clock import Clock
from seabridge.errors import AuthError, InputError, PackError
from seabridge.node.directory import NodeConfig
from seabridge.node.users import UserStore
from seabridge.packs import load_pack
from seabridge.packs.parties import load_parties
from seabridge.web import (
    api_bulk,
    api_events,
    api_hotline,
    api_incidents,
    api_ledger,
    api_live,
    api_metrics,
    api_vessels,
    api_zones,
    auth,
)
from seabridge.web.auth import require, route_role

__all__ = [
    "CONSOLE_DIR",
    "ROUTERS",
    "SECURITY_HEADERS",
    "ConsoleNode",
    "SecurityHeaders",
    "console_languages",
    "console_openapi",
    "create_app",
]

ROUTERS: Final[tuple[APIRouter, ...]] = (
    auth.router,
    api_vessels.router,
    api_zones.router,
    api_events.router,
    api_incidents.router,
    api_hotline.router,
    api_ledger.router,
    api_live.router,
    api_metrics.router,
    api_bulk.router,
)
"""Every router of the console API, included in this order. Extend it here."""

CONSOLE_DIR: Final = Path(__file__).resolve().parent / "console"
"""The console's static files (index.html, scripts, styles), served at ``/``."""

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "worker-src 'self' blob:; child-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only our own origin; ``blob:`` for MapLibre's workers and images, ``data:`` for images."""

SECURITY_HEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_LANGUAGES: Final = ("en",)


class ConsoleNode(Protocol):
    """What the console app needs of the running node (``seabridge.node.service.Node``
    provides it, and more for the domain routers)."""

    @property
    def config(self) -> NodeConfig: ...

    @property
    def users(self) -> UserStore: ...


def create_app(
    node: ConsoleNode, clock: Clock, *, console_dir: Path | None = CONSOLE_DIR
) -> FastAPI:
    """The console app over ``node`` (kept in ``app.state.node``; ``clock`` in
    ``app.state.clock``). ``console_dir`` holds the static console, mounted at ``/`` when it
    is a directory (None: no console, the API only)."""
    app = FastAPI(
        title="Seabridge console API",
        version=__version__,
        openapi_url=None,  # served below behind a login
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.node = node
    app.state.clock = clock
    app.state.languages = console_languages(node.config)
    for router in ROUTERS:
        app.include_router(router)

    @app.get(
        "/api/openapi.json", include_in_schema=False, dependencies=[Depends(require("viewer"))]
    )
    def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(console_openapi(request.app))

    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(AuthError, _auth_error)
    if console_dir is not None and console_dir.is_dir():
        app.mount("/", StaticFiles(directory=console_dir, html=True), name="console")
    app.add_middleware(SecurityHeaders)
    return app


def console_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema of ``app``, each operation marked with ``x-seabridge-role``."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description="Every route but /api/health and /api/login needs a session cookie "
            "(with X-CSRF-Token on unsafe methods) or a Bearer API token; x-seabridge-role is "
            "the least role it needs.",
            routes=app.routes,
        )
        for route in iter_route_contexts(app.routes):
            if isinstance(route.original_route, APIRoute) and route.include_in_schema:
                role = route_role(route) or "public"
                for method in route.methods or ():
                    schema["paths"][route.path_format][method.lower()]["x-seabridge-role"] = role
        app.openapi_schema = schema
    return app.openapi_schema


def console_languages(config: NodeConfig) -> tuple[str, ...]:
    """The console's languages: this party's own first, then the packs' (``en`` when the
    packs say nothing)."""
    own: list[str] = []
    others: list[str] = []
    for name in config.packs:
        try:
            pack = load_pack(name)
            others.extend(pack.languages)
            own.extend(p.language for p in load_parties(pack) if p.id == config.party)
        except PackError:
            continue  # load_node checked the packs; a pack without parties adds its languages
    ordered = dict.fromkeys([*own, *others] or _LANGUAGES)
    return tuple(ordered)


async def _input_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def _auth_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response, and
    ``Cache-Control: no-store`` to API responses (they carry CSRF tokens and state)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                if api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
