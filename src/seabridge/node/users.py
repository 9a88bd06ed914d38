"""Console users, their sessions and API tokens, in the node's ``state.sqlite``.

Roles rank ``viewer < operator < admin``: a viewer reads, an operator acts (acknowledges,
notes, sends), an admin also manages users and everyone's tokens. Tables (schema version in
``users_schema``, migrations in :data:`MIGRATIONS`)::

    users(name PK, role, hash, disabled, created_ms, updated_ms)      argon2id hashes
    sessions(id PK, user, csrf, created_ms, expires_ms, last_seen_ms) id = SHA-256(cookie)
    api_tokens(id PK, user, hash, label, created_ms, last_used_ms, revoked_ms)
    login_attempts(user, client, ts_ms)                               failures in the window

Secrets never rest in the file: a session id and an API token (``sbt_`` + 43 characters)
are random 256-bit values returned once, and only their SHA-256 is stored (a fast hash is
enough for random secrets; passwords get argon2id). Passwords are never logged, echoed or
kept. Failed logins are limited per user name and per client address within a window
(settings ``console.*``, ``docs/settings.md``); the refusal says when to retry. Every time
comes from the injected :class:`~seabridge.clock.Clock`.

One user is the node's own: :data:`CLI_USER` (``@local-cli``), the principal of the local
CLI reading and writing through a serving node (``seabridge tracks query --node DIR`` and
the like). A serving node issues it a fresh API token at start (:meth:`UserStore.issue_cli_token`,
revoking the previous one) and writes it to ``DIR/keys/cli.token``. Its name is outside
the pattern of user names, so no person can be added under it; its password hash is no
hash at all, so it can never log in; it is left out of :meth:`UserStore.list`, does not count
as an enabled admin, and cannot be disabled, enabled, reset or given another role.

This module must not import the web layer or the CLI: it raises
:class:`~seabridge.errors.LoginError`, :class:`~seabridge.errors.RateLimitedError`,
:class:`~seabridge.errors.AuthError` and :class:`~seabridge.errors.InputError`, and the
edges map them to HTTP statuses and exit codes.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from seabridge import statedb
from seabridge.clock import Clock
from seabridge.config import Settings
from seabridge.errors import AuthError, InputError, LoginError, RateLimitedError

__all__ = [
    "CLI_USER",
    "MIGRATIONS",
    "ROLES",
    "ApiToken",
    "NewSession",
    "NewToken",
    "Role",
    "Session",
    "User",
    "UserStore",
    "role_rank",
]

Role = Literal["viewer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "operator", "admin")
"""Roles from least to most privileged."""

NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 1024  # argon2 hashes any length; this bounds the work per request
MAX_LABEL: Final = 100
TOKEN_PREFIX: Final = "sbt_"
_LAST_SEEN_STEP_MS: Final = 60_000  # write last_seen at most once a minute (every write fsyncs)
_LOGIN_FAILED: Final = "wrong user name or password (or the user is disabled)"
CLI_USER: Final = "@local-cli"
"""The node's own CLI identity (see the module docstring); '@' keeps it out of user names."""
CLI_ROLE: Final[Role] = "admin"  # ingest through the node (POST /api/ingest) needs admin
_NO_PASSWORD: Final = "!"  # not an argon2 hash: verify() raises InvalidHashError, never True

_SCHEMA_1 = """
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name),
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name),
    hash BLOB NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user);
CREATE TABLE login_attempts (
    user TEXT NOT NULL,
    client TEXT NOT NULL,
    ts_ms INTEGER NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (user, ts_ms);
CREATE INDEX login_attempts_client ON login_attempts (client, ts_ms);
"""

MIGRATIONS: tuple[str, ...] = (_SCHEMA_1,)
"""Migration ``i`` takes the users tables from version ``i`` to ``i + 1``; append, never edit."""


def role_rank(role: str) -> int:
    """0 for viewer, 1 for operator, 2 for admin.

    Raises:
        InputError: not a role (the message lists them).
    """
    try:
        return ROLES.index(cast(Role, role))
    except ValueError:
        raise InputError(f"unknown role {role!r}; roles: {', '.join(ROLES)}") from None


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    disabled: bool
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: whose, with which role now, and its CSRF token."""

    user: str
    role: Role
    csrf: str = field(repr=False)
    created_ms: int
    expires_ms: int
    """When it ends unless used again: the earlier of the idle and the absolute limit."""


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str = field(repr=False)
    """The cookie value; only its SHA-256 is stored, so it is never shown again."""
    session: Session


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    user: str
    label: str
    created_ms: int
    last_used_ms: int | None
    revoked_ms: int | None


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str = field(repr=False)
    """``sbt_...``: shown once, only its SHA-256 is stored."""
    info: ApiToken


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class UserStore:
    """The users tables of one node's ``state.sqlite``; thread-safe (one lock per store).

    Args:
        path: The node's ``state.sqlite`` (created if missing; WAL, ``synchronous=FULL``).
        clock: Times of everything: sessions, rate limits, created/updated stamps.
        settings: ``console.*`` settings (default: the defaults).
        hasher: The argon2id hasher (tests pass cheaper parameters).

    Raises:
        AuthError: the file cannot be opened, or its users schema is newer than this code.
    """

    def __init__(
        self,
        path: Path,
        clock: Clock,
        settings: Settings | None = None,
        *,
        hasher: PasswordHasher | None = None,
    ) -> None:
        settings = settings or Settings()
        self.path = path
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._idle_ms = round(settings["console.session_idle_min"] * 60_000)
        self._max_ms = round(settings["console.session_max_h"] * 3_600_000)
        self._max_user = int(settings["console.login_max_failures"])
        self._max_client = int(settings["console.login_max_failures_client"])
        self._window_ms = round(settings["console.login_window_min"] * 60_000)
        self._lock = threading.RLock()
        self._login_lock = threading.Lock()  # one login at a time: limits are exact
        self._dummy_hash: str | None = None
        self._conn = statedb.connect(path, AuthError, "users database")
        try:
            with self._tx() as conn:
                statedb.migrate(conn, "users_schema", MIGRATIONS, AuthError, f"{path}: users")
        except sqlite3.Error as exc:
            self._conn.close()
            raise AuthError(f"{path}: cannot use the users tables ({exc})") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> UserStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, statedb.transaction(self._conn) as conn:
            yield conn

    # --- users ------------------------------------------------------------------------------

    def add(self, name: str, password: str, role: str = "viewer") -> User:
        """Add an enabled user.

        Raises:
            InputError: the name is not ``[a-z0-9][a-z0-9._-]{0,63}``, it is taken, the role
                is unknown, or the password is not 8-1024 characters or equals the name.
        """
        _check_name(name)
        role_rank(role)
        hashed = self._hash(name, password)
        now = self._clock.now_ms()
        with self._tx() as conn:
            if _row(conn, name) is not None:
                raise InputError(f"user {name!r} exists already; use seabridge users reset/role")
            conn.execute(
                "INSERT INTO users (name, role, hash, disabled, created_ms, updated_ms) "
                "VALUES (?, ?, ?, 0, ?, ?)",
                (name, role, hashed, now, now),
            )
        return self.get(name)

    def get(self, name: str) -> User:
        """The user ``name``.

        Raises:
            InputError: no such user.
        """
        with self._lock:
            row = _row(self._conn, name)
        if row is None:
            raise InputError(f"no user {name!r}; add one with seabridge users add")
        return _user(row)

    def list(self) -> builtins.list[User]:
        """Every user, by name (not the node's own :data:`CLI_USER`)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, role, disabled, created_ms, updated_ms FROM users WHERE name != ? "
                "ORDER BY name",
                (CLI_USER,),
            ).fetchall()
        return [_user(row) for row in rows]

    def disable(self, name: str) -> User:
        """Disable ``name``: its sessions end and its API tokens are revoked.

        Raises:
            InputError: no such user.
            AuthError: ``name`` is the last enabled admin.
        """
        _not_cli_user(name)
        now = self._clock.now_ms()
        with self._tx() as conn:
            self._existing(conn, name)
            self._keep_an_admin(conn, name)
            conn.execute(
                "UPDATE users SET disabled = 1, updated_ms = ? WHERE name = ?", (now, name)
            )
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
            conn.execute(
                "UPDATE api_tokens SET revoked_ms = ? WHERE user = ? AND revoked_ms IS NULL",
                (now, name),
            )
        return self.get(name)

    def enable(self, name: str) -> User:
        """Enable ``name`` again (its old tokens stay revoked).

        Raises:
            InputError: no such user.
        """
        _not_cli_user(name)
        with self._tx() as conn:
            self._existing(conn, name)
            conn.execute(
                "UPDATE users SET disabled = 0, updated_ms = ? WHERE name = ?",
                (self._clock.now_ms(), name),
            )
        return self.get(name)

    def reset(self, name: str, password: str) -> User:
        """Set a new password for ``name``; its sessions end (API tokens stay valid).

        Raises:
            InputError: no such user, or the password is not acceptable (see :meth:`add`).
        """
        _not_cli_user(name)
        self.get(name)
        hashed = self._hash(name, password)
        with self._tx() as conn:
            self._existing(conn, name)
            conn.execute(
                "UPDATE users SET hash = ?, updated_ms = ? WHERE name = ?",
                (hashed, self._clock.now_ms(), name),
            )
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
            conn.execute("DELETE FROM login_attempts WHERE user = ?", (name,))
        return self.get(name)

    def set_role(self, name: str, role: str) -> User:
        """Give ``name`` the role ``role``; its sessions and tokens carry it from now on.

        Raises:
            InputError: no such user or role.
            AuthError: it would demote the last enabled admin.
        """
        role_rank(role)
        _not_cli_user(name)
        with self._tx() as conn:
            self._existing(conn, name)
            if role != "admin":
                self._keep_an_admin(conn, name)
            conn.execute(
                "UPDATE users SET role = ?, updated_ms = ? WHERE name = ?",
                (role, self._clock.now_ms(), name),
            )
        return self.get(name)

    def _existing(self, conn: sqlite3.Connection, name: str) -> tuple[object, ...]:
        row = _row(conn, name)
        if row is None:
            raise InputError(f"no user {name!r}; add one with seabridge users add")
        return row

    def _keep_an_admin(self, conn: sqlite3.Connection, name: str) -> None:
        admins = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM users WHERE role = 'admin' AND disabled = 0 AND name != ?",
                (CLI_USER,),
            )
        ]
        if admins == [name]:
            raise AuthError(
                f"{name!r} is the last enabled admin; make another user admin first "
                "(seabridge users role --node DIR OTHER admin)"
            )

    def _hash(self, name: str, password: str) -> str:
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InputError(f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
        if password.lower() == name.lower():
            raise InputError("the password must not be the user name")
        return self._hasher.hash(password)

    # --- login ------------------------------------------------------------------------------

    def authenticate(self, name: str, password: str, client: str = "") -> User:
        """Check a login; failures are counted per user name and per ``client`` address.

        The password is checked only when neither limit is reached, and an unknown user
        costs as much time as a known one.

        Raises:
            RateLimitedError: too many failures in the window (``retry_after_s`` says when).
            LoginError: wrong name or password, or a disabled user (one message for all).
        """
        name = name.lower()[:64]
        with self._login_lock:
            now = self._clock.now_ms()
            self._check_limits(name, client, now)
            with self._lock:
                row = self._conn.execute(
                    "SELECT hash, disabled FROM users WHERE name = ?", (name,)
                ).fetchone()
            stored = row[0] if row is not None else self._dummy()
            try:
                valid: bool = self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                valid = False
            if not valid or row is None or row[1]:
                with self._tx() as conn:
                    conn.execute(
                        "INSERT INTO login_attempts (user, client, ts_ms) VALUES (?, ?, ?)",
                        (name, client, now),
                    )
                raise LoginError(_LOGIN_FAILED)
            with self._tx() as conn:
                conn.execute("DELETE FROM login_attempts WHERE user = ?", (name,))
                if self._hasher.check_needs_rehash(stored):
                    conn.execute(
                        "UPDATE users SET hash = ? WHERE name = ?",
                        (self._hasher.hash(password), name),
                    )
        return self.get(name)

    def _check_limits(self, name: str, client: str, now: int) -> None:
        since = now - self._window_ms
        with self._tx() as conn:
            conn.execute("DELETE FROM login_attempts WHERE ts_ms <= ?", (since,))
            limits = [("user", name, self._max_user, f"user {name!r}")]
            if client:
                limits.append(("client", client, self._max_client, f"address {client}"))
            for column, value, limit, what in limits:
                times = [
                    row[0]
                    for row in conn.execute(
                        f"SELECT ts_ms FROM login_attempts WHERE {column} = ? AND ts_ms > ? "
                        "ORDER BY ts_ms",
                        (value, since),
                    )
                ]
                if len(times) >= limit:
                    retry_ms = times[len(times) - limit] + self._window_ms - now
                    retry_s = max(1, -(-retry_ms // 1000))
                    raise RateLimitedError(
                        f"too many failed logins for {what}; try again in {retry_s} s",
                        retry_s,
                    )

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    # --- sessions ---------------------------------------------------------------------------

    def create_session(self, name: str) -> NewSession:
        """A new session of the enabled user ``name`` (call after :meth:`authenticate`).

        Raises:
            InputError: no such user.
            AuthError: the user is disabled.
        """
        _not_cli_user(name)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        with self._tx() as conn:
            row = self._existing(conn, name)
            if row[2]:
                raise AuthError(f"user {name!r} is disabled")
            conn.execute(
                "DELETE FROM sessions WHERE expires_ms <= ? OR last_seen_ms <= ?",
                (now, now - self._idle_ms),
            )
            conn.execute(
                "INSERT INTO sessions (id, user, csrf, created_ms, expires_ms, last_seen_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_digest(token), name, csrf, now, now + self._max_ms, now),
            )
            role = cast(Role, row[1])
        expires = min(now + self._max_ms, now + self._idle_ms)
        return NewSession(token, Session(name, role, csrf, now, expires))

    def session(self, token: str) -> Session | None:
        """The live session of the cookie value ``token`` (and mark it used), or None when
        it is unknown, idle or past its absolute limit, or its user is disabled."""
        now = self._clock.now_ms()
        key = _digest(token)
        with self._lock:
            row = self._conn.execute(
                "SELECT s.user, u.role, s.csrf, s.created_ms, s.expires_ms, s.last_seen_ms "
                "FROM sessions s JOIN users u ON u.name = s.user "
                "WHERE s.id = ? AND u.disabled = 0",
                (key,),
            ).fetchone()
            if row is None:
                return None
            user, role, csrf, created, expires, last_seen = row
            if now >= expires or now >= last_seen + self._idle_ms:
                with self._tx() as conn:
                    conn.execute("DELETE FROM sessions WHERE id = ?", (key,))
                return None
            if now - last_seen >= _LAST_SEEN_STEP_MS:
                with self._tx() as conn:
                    conn.execute("UPDATE sessions SET last_seen_ms = ? WHERE id = ?", (now, key))
                last_seen = now
        return Session(user, role, csrf, created, min(expires, last_seen + self._idle_ms))

    def end_session(self, token: str) -> None:
        """End the session of ``token`` (logout); nothing happens for an unknown one."""
        with self._tx() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (_digest(token),))

    # --- API tokens -------------------------------------------------------------------------

    def create_token(self, name: str, label: str = "") -> NewToken:
        """A new API token of the enabled user ``name``; the secret is in the result only.

        Raises:
            InputError: no such user, or a label over 100 characters.
            AuthError: the user is disabled.
        """
        _not_cli_user(name)
        if len(label) > MAX_LABEL:
            raise InputError(f"a token label is at most {MAX_LABEL} characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        now = self._clock.now_ms()
        with self._tx() as conn:
            if self._existing(conn, name)[2]:
                raise AuthError(f"user {name!r} is disabled")
            conn.execute(
                "INSERT INTO api_tokens (id, user, hash, label, created_ms) VALUES (?, ?, ?, ?, ?)",
                (token_id, name, _digest(token), label, now),
            )
        return NewToken(token, ApiToken(token_id, name, label, now, None, None))

    def issue_cli_token(self) -> NewToken:
        """A fresh API token of :data:`CLI_USER` (created when missing); every earlier token
        of it is revoked in the same transaction, so only the newest file works."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        label = "the local CLI (keys/cli.token), issued by the serving node"
        now = self._clock.now_ms()
        with self._tx() as conn:
            if _row(conn, CLI_USER) is None:
                conn.execute(
                    "INSERT INTO users (name, role, hash, disabled, created_ms, updated_ms) "
                    "VALUES (?, ?, ?, 0, ?, ?)",
                    (CLI_USER, CLI_ROLE, _NO_PASSWORD, now, now),
                )
            conn.execute(
                "UPDATE api_tokens SET revoked_ms = ? WHERE user = ? AND revoked_ms IS NULL",
                (now, CLI_USER),
            )
            conn.execute(
                "INSERT INTO api_tokens (id, user, hash, label, created_ms) VALUES (?, ?, ?, ?, ?)",
                (token_id, CLI_USER, _digest(token), label, now),
            )
        return NewToken(token, ApiToken(token_id, CLI_USER, label, now, None, None))

    def revoke_cli_tokens(self) -> None:
        """Revoke every live token of :data:`CLI_USER` (the node stops serving)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE api_tokens SET revoked_ms = ? WHERE user = ? AND revoked_ms IS NULL",
                (self._clock.now_ms(), CLI_USER),
            )

    def token_owner(self, token: str) -> User | None:
        """The enabled user of a live API token (and mark it used), or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = self._clock.now_ms()
        key = _digest(token)
        with self._lock:
            row = self._conn.execute(
                "SELECT t.id, t.last_used_ms, u.name, u.role, u.disabled, u.created_ms, "
                "u.updated_ms FROM api_tokens t JOIN users u ON u.name = t.user "
                "WHERE t.hash = ? AND t.revoked_ms IS NULL AND u.disabled = 0",
                (key,),
            ).fetchone()
            if row is None:
                return None
            if row[1] is None or now - row[1] >= _LAST_SEEN_STEP_MS:
                with self._tx() as conn:
                    conn.execute(
                        "UPDATE api_tokens SET last_used_ms = ? WHERE id = ?", (now, row[0])
                    )
        return _user(row[2:])

    def tokens(self, name: str | None = None, *, revoked: bool = False) -> builtins.list[ApiToken]:
        """API tokens (of ``name``, or everyone's), oldest first; ``revoked`` includes those."""
        query = (
            "SELECT id, user, label, created_ms, last_used_ms, revoked_ms FROM api_tokens "
            "WHERE (? IS NULL OR user = ?) AND (? OR revoked_ms IS NULL) ORDER BY created_ms, id"
        )
        with self._lock:
            rows = self._conn.execute(query, (name, name, revoked)).fetchall()
        return [ApiToken(*row) for row in rows]

    def revoke_token(self, token_id: str, *, owner: str | None = None) -> ApiToken:
        """Revoke the token ``token_id``; with ``owner``, only if it is theirs.

        Raises:
            InputError: no such live token (of ``owner``).
        """
        now = self._clock.now_ms()
        with self._tx() as conn:
            done = conn.execute(
                "UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL "
                "AND (? IS NULL OR user = ?)",
                (now, token_id, owner, owner),
            ).rowcount
            if not done:
                raise InputError(
                    f"no live API token {token_id!r}" + (f" of {owner}" if owner else "")
                )
            row = conn.execute(
                "SELECT id, user, label, created_ms, last_used_ms, revoked_ms FROM api_tokens "
                "WHERE id = ?",
                (token_id,),
            ).fetchone()
        return ApiToken(*row)


def _not_cli_user(name: str) -> None:
    if name == CLI_USER:
        raise InputError(
            f"{CLI_USER!r} is the node's own CLI identity (its token is issued by the serving "
            "node in keys/cli.token); it cannot log in or be changed"
        )


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"user name {name!r} must be 1-64 characters: lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )


def _row(conn: sqlite3.Connection, name: str) -> tuple[object, ...] | None:
    row: tuple[object, ...] | None = conn.execute(
        "SELECT name, role, disabled, created_ms, updated_ms FROM users WHERE name = ?", (name,)
    ).fetchone()
    return row


def _user(row: tuple[object, ...] | sqlite3.Row) -> User:
    name, role, disabled, created, updated = row
    return User(str(name), cast(Role, role), bool(disabled), cast(int, created), cast(int, updated))
