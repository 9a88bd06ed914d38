"""Console authentication: who calls (:class:`Principal`), what role a route needs
(:func:`require`), CSRF, and the auth routes.

Every console route but ``GET /api/health`` and ``POST /api/login`` declares its minimum role:
``principal: Operator`` (the aliases :data:`Viewer`, :data:`Operator`, :data:`Admin` are
``Annotated[Principal, Depends(require(role))]``; ruff's B008 refuses ``Depends`` in a
default), or ``dependencies=[Depends(require("operator"))]`` on the route or its router.
``tests/web/test_role_matrix.py`` finds the requirement of every route through
:func:`route_role` and fails on a route without one. Credentials, in this order:

- ``Authorization: Bearer sbt_...``: an API token (scripts). Exempt from CSRF: browsers never
  attach it on their own.
- the ``sb_session`` cookie (HttpOnly, SameSite=Strict, Secure over TLS, Path=/): the console.
  POST, PUT, PATCH and DELETE also need the header ``X-CSRF-Token`` equal to the session's
  CSRF token (returned by login and ``GET /api/me``).

No credentials, or dead ones: 401. A role below the route's: 403. A wrong CSRF token: 403.
The role is read from the users table on every request, so a role change, a disabled user or
a revoked token takes effect at once. Routes::

    POST   /api/login        {"username", "password"} -> {"user", "role", "csrf"} + cookie
    POST   /api/logout       ends the session, clears the cookie (viewer)
    GET    /api/me           {"user", "role", "via", "party", "node_name", "languages", "csrf"}
    POST   /api/tokens       {"label"} -> 201 {"id", "token", ...}: the secret is shown once
    GET    /api/tokens       own tokens (an admin: everyone's)
    DELETE /api/tokens/{id}  revoke (own; an admin: any)
    GET    /api/health       {"status", "party", "name", "version"}: no login
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Final, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, WebSocket
from fastapi.exceptions import WebSocketException
from fastapi.routing import APIRoute, RouteContext
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from seabridge import __version__
from seabridge.errors import InputError, LoginError, RateLimitedError
from seabridge.node.users import MAX_LABEL, MAX_PASSWORD, ROLES, ApiToken, Role, role_rank

if TYPE_CHECKING:
    from fastapi.dependencies.models import Dependant

    from seabridge.node.users import UserStore
    from seabridge.web.app import ConsoleNode

__all__ = [
    "CSRF_HEADER",
    "PUBLIC_ROUTES",
    "SESSION_COOKIE",
    "UNSAFE_METHODS",
    "WS_FORBIDDEN",
    "WS_UNAUTHORIZED",
    "Admin",
    "Operator",
    "Principal",
    "Requirement",
    "Viewer",
    "WebSocketRequirement",
    "require",
    "require_ws",
    "route_role",
    "router",
]

log = logging.getLogger(__name__)

SESSION_COOKIE: Final = "sb_session"
CSRF_HEADER: Final = "X-CSRF-Token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WS_UNAUTHORIZED: Final = 4401
"""Close code of a websocket refused for missing or dead credentials (HTTP 401 + 4000)."""
WS_FORBIDDEN: Final = 4403
"""Close code of a websocket refused for a foreign Origin or a role too low (403 + 4000)."""
PUBLIC_ROUTES: Final = frozenset({("GET", "/api/health"), ("POST", "/api/login")})
"""The only routes open without credentials (method, path)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: a user, their current role, and how they authenticated."""

    name: str
    role: Role
    via: Literal["session", "token"]

    def has(self, role: Role) -> bool:
        """Whether this principal's role is ``role`` or above."""
        return role_rank(self.role) >= role_rank(role)


_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="Console session from POST /api/login; unsafe methods also need the "
    f"{CSRF_HEADER} header.",
)
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="API token (sbt_...) from POST /api/tokens; exempt from CSRF.",
)


def _node(request: Request) -> ConsoleNode:
    node: ConsoleNode = request.app.state.node
    return node


def _users(request: Request) -> UserStore:
    return _node(request).users


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


class Requirement:
    """The dependency of :func:`require`: resolves the :class:`Principal` of a request and
    refuses it below :attr:`role`. Sync, so its SQLite reads run in the thread pool."""

    def __init__(self, role: Role) -> None:
        self.role: Role = role

    def __repr__(self) -> str:
        return f"require({self.role!r})"

    def __call__(
        self,
        request: Request,
        cookie: Annotated[str | None, Depends(_cookie)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = _authenticate(request, cookie, bearer)
        if not principal.has(self.role):
            raise HTTPException(
                403, f"this needs the {self.role} role; {principal.name} is a {principal.role}"
            )
        return principal


def _authenticate(
    request: Request, cookie: str | None, bearer: HTTPAuthorizationCredentials | None
) -> Principal:
    users = _users(request)
    if bearer is not None:
        user = users.token_owner(bearer.credentials)
        if user is None:
            raise _unauthorized("the API token is unknown, revoked, or its user is disabled")
        return Principal(user.name, user.role, "token")
    if not cookie:
        raise _unauthorized("log in first (POST /api/login) or send an API token")
    session = users.session(cookie)
    if session is None:
        raise _unauthorized("the session has ended; log in again")
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    request.state.csrf = session.csrf
    return Principal(session.user, session.role, "session")


_REQUIREMENTS: Final = {role: Requirement(role) for role in ROLES}


def require(role: Role) -> Requirement:
    """The dependency a route declares for its minimum ``role``:
    ``principal: Principal = Depends(require("operator"))``.

    Raises:
        InputError: ``role`` is not viewer, operator or admin.
    """
    role_rank(role)
    return _REQUIREMENTS[role]


class WebSocketRequirement:
    """The dependency of :func:`require_ws`: the :class:`Principal` of a websocket handshake,
    refused below :attr:`role` (close code :data:`WS_FORBIDDEN`).

    Browsers cannot add headers to a websocket, so the console authenticates with its session
    cookie, and the ``Origin`` header must then be the console's own origin (scheme and host
    of the handshake): a page elsewhere cannot borrow the cookie (cross-site websocket
    hijacking), and SameSite alone does not cover same-site origins. A script may send
    ``Authorization: Bearer sbt_...`` instead (no Origin check: browsers never attach it).
    No credentials or dead ones: :data:`WS_UNAUTHORIZED`.
    """

    def __init__(self, role: Role) -> None:
        self.role: Role = role

    def __repr__(self) -> str:
        return f"require_ws({self.role!r})"

    def __call__(self, websocket: WebSocket) -> Principal:
        principal = _authenticate_ws(websocket)
        if not principal.has(self.role):
            raise WebSocketException(WS_FORBIDDEN, f"this needs the {self.role} role")
        return principal


def _authenticate_ws(websocket: WebSocket) -> Principal:
    users: UserStore = websocket.app.state.node.users
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        user = users.token_owner(credentials.strip())
        if user is None:
            raise WebSocketException(WS_UNAUTHORIZED, "the API token is not valid")
        return Principal(user.name, user.role, "token")
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise WebSocketException(WS_UNAUTHORIZED, "log in first")
    own = (
        f"{'https' if websocket.url.scheme == 'wss' else 'http'}://{websocket.headers.get('host')}"
    )
    if websocket.headers.get("origin") != own:
        log.warning("websocket refused: Origin %r is not %r", websocket.headers.get("origin"), own)
        raise WebSocketException(WS_FORBIDDEN, "cross-origin websocket refused")
    session = users.session(cookie)
    if session is None:
        raise WebSocketException(WS_UNAUTHORIZED, "the session has ended; log in again")
    return Principal(session.user, session.role, "session")


_WS_REQUIREMENTS: Final = {role: WebSocketRequirement(role) for role in ROLES}


def require_ws(role: Role) -> WebSocketRequirement:
    """The dependency a websocket route declares for its minimum ``role`` (the websocket
    counterpart of :func:`require`; :func:`route_role` finds both).

    Raises:
        InputError: ``role`` is not viewer, operator or admin.
    """
    role_rank(role)
    return _WS_REQUIREMENTS[role]


def route_role(route: APIRoute | RouteContext) -> Role | None:
    """The minimum role ``route`` requires (the highest of its :func:`require` dependencies,
    including its routers'), or None when it declares none.

    ``route`` is an :class:`~fastapi.routing.APIRoute` or, for routes of included routers
    (FastAPI keeps them inside the router), what ``fastapi.routing.iter_route_contexts``
    yields for it: ``[route_role(c) for c in iter_route_contexts(app.routes)]``.
    """
    found: list[Role] = []

    def walk(dependant: Dependant) -> None:
        if isinstance(dependant.call, Requirement | WebSocketRequirement):
            found.append(dependant.call.role)
        for sub in dependant.dependencies:
            walk(sub)

    dependant: Dependant | None = getattr(route, "dependant", None)
    if dependant is not None:
        walk(dependant)
    return ROLES[max(role_rank(role) for role in found)] if found else None


# --- routes ---------------------------------------------------------------------------------

Viewer = Annotated[Principal, Depends(require("viewer"))]
"""A route parameter ``principal: Viewer`` requires viewer or above (ruff's B008 accepts it)."""
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]

router = APIRouter(prefix="/api", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=MAX_PASSWORD, repr=False)


class LoginOut(BaseModel):
    user: str
    role: Role
    csrf: str


class MeOut(BaseModel):
    user: str
    role: Role
    via: Literal["session", "token"]
    party: str
    node_name: str
    languages: list[str]
    csrf: str | None = Field(description="The session's CSRF token (null for API tokens).")


class TokenIn(BaseModel):
    label: str = Field("", max_length=MAX_LABEL)


class TokenOut(BaseModel):
    id: str
    user: str
    label: str
    created_ms: int
    last_used_ms: int | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret, shown this once; send it as Bearer.")


class HealthOut(BaseModel):
    status: Literal["ok"]
    party: str
    name: str
    version: str


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        user=token.user,
        label=token.label,
        created_ms=token.created_ms,
        last_used_ms=token.last_used_ms,
    )


@router.post(
    "/login",
    responses={401: {"description": "Wrong credentials"}, 429: {"description": "Rate limited"}},
)
def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Log in: sets the session cookie and returns the CSRF token for unsafe requests."""
    users = _users(request)
    client = request.client.host if request.client else ""
    try:
        user = users.authenticate(body.username, body.password, client)
    except RateLimitedError as exc:
        log.warning("login refused (rate limit) for %r from %s", body.username[:64], client)
        raise HTTPException(
            429, str(exc), headers={"Retry-After": str(exc.retry_after_s)}
        ) from None
    except LoginError as exc:
        log.warning("failed login for %r from %s", body.username[:64], client)
        raise HTTPException(401, str(exc)) from None
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        users.end_session(old)  # a login never reuses a session id
    new = users.create_session(user.name)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    log.info("login %s (%s) from %s", user.name, user.role, client)
    return LoginOut(user=user.name, role=user.role, csrf=new.session.csrf)


@router.post("/logout", status_code=204)
def logout(principal: Viewer, request: Request, response: Response) -> None:
    """End the session and clear its cookie (an API token stays valid: revoke it instead)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and cookie:
        _users(request).end_session(cookie)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        log.info("logout %s", principal.name)


@router.get("/me")
def me(principal: Viewer, request: Request) -> MeOut:
    """Who is logged in, on which node, and the console's languages."""
    node = _node(request)
    languages: tuple[str, ...] = request.app.state.languages
    return MeOut(
        user=principal.name,
        role=principal.role,
        via=principal.via,
        party=node.config.party,
        node_name=node.config.name,
        languages=list(languages),
        csrf=getattr(request.state, "csrf", None) if principal.via == "session" else None,
    )


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, principal: Viewer, request: Request) -> NewTokenOut:
    """Create an API token of the caller (it carries the caller's role, as it changes)."""
    new = _users(request).create_token(principal.name, body.label)
    log.info("API token %s created by %s", new.info.id, principal.name)
    return NewTokenOut(**_token_out(new.info).model_dump(), token=new.token)


@router.get("/tokens")
def list_tokens(principal: Viewer, request: Request) -> list[TokenOut]:
    """The caller's live API tokens; an admin sees everyone's."""
    owner = None if principal.has("admin") else principal.name
    return [_token_out(token) for token in _users(request).tokens(owner)]


@router.delete(
    "/tokens/{token_id}", status_code=204, responses={404: {"description": "No such token"}}
)
def revoke_token(token_id: str, principal: Viewer, request: Request) -> None:
    """Revoke an API token: the caller's own; an admin any."""
    owner = None if principal.has("admin") else principal.name
    try:
        _users(request).revoke_token(token_id, owner=owner)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    log.info("API token %s revoked by %s", token_id, principal.name)


@router.get("/health")
def health(request: Request) -> HealthOut:
    """Liveness, open without login: the node's party, name and Seabridge version."""
    config = _node(request).config
    return HealthOut(status="ok", party=config.party, name=config.name, version=__version__)
