"""node.users.UserStore on its own: schema and migrations beside the ledger in one
state.sqlite, argon2id hashes and rehashing, and what never appears in a repr."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from seabridge.clock import ManualClock
from seabridge.errors import AuthError, InputError, LoginError, RateLimitedError
from seabridge.hotline.store import Store
from seabridge.node.users import MIGRATIONS, UserStore

SECRET = "correct horse battery"


def _cheap() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_users_tables_live_beside_the_ledger_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    ledger_store = Store(path)
    clock = ManualClock(1_000)
    with UserStore(path, clock, hasher=_cheap()) as users:
        users.add("ops", SECRET, "operator")
    with UserStore(path, clock, hasher=_cheap()) as users:
        assert [u.name for u in users.list()] == ["ops"]
    ledger_store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT max(version) FROM users_schema").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("INSERT INTO users_schema (version) VALUES (99)")
    conn.commit()
    conn.close()
    with pytest.raises(AuthError, match="newer than this Seabridge"):
        UserStore(path, clock)


def test_hashes_are_argon2id_and_weaker_ones_are_upgraded_at_login(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    clock = ManualClock(1_000)
    with UserStore(path, clock, hasher=_cheap()) as users:
        users.add("ops", SECRET)
    stored = sqlite3.connect(path).execute("SELECT hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "m=8," in stored
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    with UserStore(path, clock, hasher=stronger) as users:
        assert users.authenticate("OPS", SECRET).name == "ops"  # names are lower-case
    stored = sqlite3.connect(path).execute("SELECT hash FROM users").fetchone()[0]
    assert "m=16," in stored and "t=2" in stored


def test_refusals(tmp_path: Path) -> None:
    with UserStore(tmp_path / "state.sqlite", ManualClock(0), hasher=_cheap()) as users:
        users.add("ops", SECRET)
        with pytest.raises(InputError, match="exists already"):
            users.add("ops", SECRET)
        with pytest.raises(InputError, match="must not be the user name"):
            users.add("password1", "Password1")
        with pytest.raises(InputError, match="no user"):
            users.reset("ghost", SECRET)
        with pytest.raises(LoginError):
            users.authenticate("ghost", SECRET)
        with pytest.raises(InputError, match="no live API token"):
            users.revoke_token("abc")
        users.disable("ops")
        with pytest.raises(AuthError, match="disabled"):
            users.create_session("ops")
        with pytest.raises(AuthError, match="disabled"):
            users.create_token("ops")


def test_the_retry_after_counts_from_the_oldest_failure_that_matters(tmp_path: Path) -> None:
    clock = ManualClock(0)
    with UserStore(tmp_path / "state.sqlite", clock, hasher=_cheap()) as users:
        users.add("ops", SECRET)
        for _ in range(5):
            with pytest.raises(LoginError):
                users.authenticate("ops", "wrong password")
            clock.advance(60)
        with pytest.raises(RateLimitedError) as refused:
            users.authenticate("ops", SECRET)
        assert refused.value.retry_after_s == 15 * 60 - 5 * 60
        clock.advance(refused.value.retry_after_s)
        assert users.authenticate("ops", SECRET).name == "ops"


def test_no_secret_in_reprs(tmp_path: Path) -> None:
    with UserStore(tmp_path / "state.sqlite", ManualClock(0), hasher=_cheap()) as users:
        users.add("ops", SECRET)
        session = users.create_session("ops")
        token = users.create_token("ops", "x")
        for shown, secret in (
            (repr(session), session.token),
            (repr(session), session.session.csrf),
            (repr(token), token.token),
        ):
            assert secret not in shown


def test_the_node_s_cli_identity_only_holds_its_newest_token(tmp_path: Path) -> None:
    from seabridge.node.users import CLI_USER

    clock = ManualClock(1_000_000)
    users = UserStore(tmp_path / "state.sqlite", clock, hasher=_cheap())
    users.add("boss", "correct horse", "admin")
    first = users.issue_cli_token()
    second = users.issue_cli_token()
    assert users.token_owner(first.token) is None
    owner = users.token_owner(second.token)
    assert owner is not None and (owner.name, owner.role) == (CLI_USER, "admin")
    assert [user.name for user in users.list()] == ["boss"]
    with pytest.raises(LoginError):
        users.authenticate(CLI_USER, "!")
    for change in (
        lambda: users.reset(CLI_USER, "a password"),
        lambda: users.set_role(CLI_USER, "viewer"),
        lambda: users.disable(CLI_USER),
        lambda: users.enable(CLI_USER),
        lambda: users.create_session(CLI_USER),
        lambda: users.create_token(CLI_USER),
    ):
        with pytest.raises(InputError, match="the node's own CLI identity"):
            change()
    with pytest.raises(AuthError, match="last enabled admin"):
        users.disable("boss")  # the CLI identity is no admin a person can fall back on
    with pytest.raises(InputError):
        users.add(CLI_USER, "a password")  # '@' is outside user names
    users.revoke_cli_tokens()
    assert users.token_owner(second.token) is None
    users.close()
