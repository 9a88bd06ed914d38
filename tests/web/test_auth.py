"""Console authentication over the real app: login, logout, /api/me, sessions and their
expiry, CSRF, rate limits, API tokens, disabled users and role changes (ManualClock, no
sockets, no sleeping)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from console_kit import PASSWORD, Console, make_console

from seabridge.web.auth import Operator


@pytest.fixture
def console(tmp_path: Path) -> Console:
    made = make_console(tmp_path)

    @made.app.get("/api/test/operator")
    def operator_only(principal: Operator) -> dict[str, str]:
        return {"user": principal.name, "role": principal.role, "via": principal.via}

    return made


def test_health_is_open_and_carries_the_security_headers(console: Console) -> None:
    response = console.client().get("/api/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "party": "jcg",
        "name": "JCG test node",
        "version": "0.1.0",
    }
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def test_login_sets_a_strict_http_only_cookie_and_me_answers(console: Console) -> None:
    client = console.client()
    response = client.post("/api/login", json={"username": "operator", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == "operator" and body["role"] == "operator" and len(body["csrf"]) >= 40
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("sb_session=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=strict"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the https test below
    me = client.get("/api/me").json()
    assert me == {
        "user": "operator",
        "role": "operator",
        "via": "session",
        "party": "jcg",
        "node_name": "JCG test node",
        "languages": ["ja", "en", "zh"],
        "csrf": body["csrf"],
    }


def test_the_cookie_is_secure_over_tls(console: Console) -> None:
    client = console.client(https=True)
    response = client.post("/api/login", json={"username": "viewer", "password": PASSWORD})
    assert "Secure" in response.headers["set-cookie"]
    assert client.get("/api/me").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_401(console: Console) -> None:
    client = console.client()
    wrong = client.post("/api/login", json={"username": "viewer", "password": "not it at all"})
    unknown = client.post("/api/login", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers
    assert client.get("/api/me").status_code == 401


def test_anonymous_requests_get_401(console: Console) -> None:
    client = console.client()
    for url in ("/api/me", "/api/tokens", "/api/openapi.json", "/api/test/operator"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/logout").status_code == 401
    client.cookies.set("sb_session", "made-up")
    assert client.get("/api/me").status_code == 401


def test_logout_ends_the_session(console: Console) -> None:
    client = console.login("viewer")
    cookie = client.cookies["sb_session"]
    assert client.post("/api/logout").status_code == 204
    assert "sb_session" not in client.cookies
    client.cookies.set("sb_session", cookie)  # a stolen copy is dead too
    assert client.get("/api/me").status_code == 401


def test_a_new_login_replaces_the_old_session(console: Console) -> None:
    client = console.login("viewer")
    old = client.cookies["sb_session"]
    assert client.post("/api/login", json={"username": "viewer", "password": PASSWORD}).is_success
    assert client.cookies["sb_session"] != old
    stale = console.client()
    stale.cookies.set("sb_session", old)
    assert stale.get("/api/me").status_code == 401


def test_role_needed_403_and_role_enough_200(console: Console) -> None:
    assert console.login("viewer").get("/api/test/operator").status_code == 403
    for name in ("operator", "admin"):
        response = console.login(name).get("/api/test/operator")
        assert response.status_code == 200 and response.json()["role"] == name


# --- CSRF -------------------------------------------------------------------------------------


def test_unsafe_methods_with_a_session_need_the_csrf_header(console: Console) -> None:
    client = console.login("operator")
    csrf = client.csrf
    client.csrf = None
    assert client.post("/api/tokens", json={}).status_code == 403
    assert (
        client.post("/api/tokens", json={}, headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    )
    assert client.post("/api/logout").status_code == 403
    assert client.get("/api/me").status_code == 200  # safe methods need none
    assert client.post("/api/tokens", json={}, headers={"X-CSRF-Token": csrf}).status_code == 201
    other = console.login("operator")  # another session's token does not fit this one
    assert client.post("/api/logout", headers={"X-CSRF-Token": other.csrf}).status_code == 403


def test_token_requests_need_no_csrf_and_win_over_a_cookie(console: Console) -> None:
    token = console.login("admin").post("/api/tokens", json={"label": "x"}).json()["token"]
    script = console.client()
    script.bearer = token
    assert script.post("/api/tokens", json={"label": "from a script"}).status_code == 201
    viewer = console.login("viewer")
    viewer.csrf = None
    viewer.bearer = token  # the Authorization header decides, the cookie is not looked at
    assert viewer.get("/api/me").json()["user"] == "admin"
    assert viewer.post("/api/tokens", json={}).status_code == 201


# --- rate limits -----------------------------------------------------------------------------


def test_five_failures_lock_the_user_until_the_window_passes(console: Console) -> None:
    client = console.client()
    for _ in range(5):
        response = client.post("/api/login", json={"username": "viewer", "password": "wrong one!"})
        assert response.status_code == 401
    refused = client.post("/api/login", json={"username": "viewer", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "900"
    assert "too many failed logins" in refused.json()["detail"]
    console.clock.advance(600)
    refused = client.post("/api/login", json={"username": "viewer", "password": PASSWORD})
    assert refused.headers["retry-after"] == "300"
    # other users and other addresses are not locked by the user name's limit
    assert console.login("operator").get("/api/me").status_code == 200
    console.clock.advance(300)
    assert client.post("/api/login", json={"username": "viewer", "password": PASSWORD}).is_success


def test_a_success_clears_the_user_count(console: Console) -> None:
    client = console.client()
    for _ in range(4):
        client.post("/api/login", json={"username": "viewer", "password": "wrong one!"})
    assert client.post("/api/login", json={"username": "viewer", "password": PASSWORD}).is_success
    for _ in range(4):
        client.post("/api/login", json={"username": "viewer", "password": "wrong one!"})
    assert client.post("/api/login", json={"username": "viewer", "password": PASSWORD}).is_success


def test_one_address_trying_many_names_is_limited(console: Console) -> None:
    prober = console.client(address="192.0.2.9")
    for number in range(20):
        body = {"username": f"guess{number}", "password": "password1"}
        assert prober.post("/api/login", json=body).status_code == 401
    refused = prober.post("/api/login", json={"username": "admin", "password": PASSWORD})
    assert refused.status_code == 429 and "192.0.2.9" in refused.json()["detail"]
    other = console.client(address="192.0.2.10")
    assert other.post("/api/login", json={"username": "admin", "password": PASSWORD}).is_success


# --- session expiry --------------------------------------------------------------------------


def test_an_idle_session_ends_after_30_minutes(console: Console) -> None:
    client = console.login("viewer")
    for _ in range(3):  # used every 29 minutes: stays alive past the idle limit
        console.clock.advance(29 * 60)
        assert client.get("/api/me").status_code == 200
    console.clock.advance(30 * 60)
    assert client.get("/api/me").status_code == 401


def test_a_busy_session_ends_12_hours_after_login(console: Console) -> None:
    client = console.login("viewer")
    for _ in range(12 * 3 - 1):
        console.clock.advance(20 * 60)
        assert client.get("/api/me").status_code == 200
    console.clock.advance(20 * 60)
    assert client.get("/api/me").status_code == 401


# --- API tokens ------------------------------------------------------------------------------


def test_tokens_are_shown_once_listed_without_secret_and_revoked(console: Console) -> None:
    operator = console.login("operator")
    created = operator.post("/api/tokens", json={"label": "nightly report"})
    assert created.status_code == 201
    new = created.json()
    assert new["token"].startswith("sbt_") and new["label"] == "nightly report"
    listed = operator.get("/api/tokens").json()
    assert [item["id"] for item in listed] == [new["id"]]
    assert "token" not in listed[0]
    script = console.client()
    script.bearer = new["token"]
    me = script.get("/api/me").json()
    assert me["user"] == "operator" and me["via"] == "token" and me["csrf"] is None
    assert script.get("/api/tokens").json()[0]["last_used_ms"] is not None
    assert operator.delete(f"/api/tokens/{new['id']}").status_code == 204
    assert script.get("/api/me").status_code == 401
    assert operator.get("/api/tokens").json() == []
    assert operator.delete(f"/api/tokens/{new['id']}").status_code == 404


def test_only_an_admin_sees_and_revokes_other_users_tokens(console: Console) -> None:
    viewer, operator, admin = (console.login(name) for name in ("viewer", "operator", "admin"))
    mine = viewer.post("/api/tokens", json={"label": "v"}).json()
    theirs = operator.post("/api/tokens", json={"label": "o"}).json()
    assert [t["id"] for t in viewer.get("/api/tokens").json()] == [mine["id"]]
    assert {t["id"] for t in admin.get("/api/tokens").json()} == {mine["id"], theirs["id"]}
    assert viewer.delete(f"/api/tokens/{theirs['id']}").status_code == 404
    assert admin.delete(f"/api/tokens/{theirs['id']}").status_code == 204
    assert [t["id"] for t in operator.get("/api/tokens").json()] == []


def test_a_garbage_bearer_is_401(console: Console) -> None:
    client = console.client()
    for token in ("sbt_nope", "not-a-token"):
        client.bearer = token
        assert client.get("/api/me").status_code == 401


# --- user changes take effect at once --------------------------------------------------------


def test_a_disabled_user_loses_sessions_tokens_and_login(console: Console) -> None:
    client = console.login("operator")
    script = console.client()
    script.bearer = client.post("/api/tokens", json={}).json()["token"]
    console.users.disable("operator")
    assert client.get("/api/me").status_code == 401
    assert script.get("/api/me").status_code == 401
    response = console.client().post(
        "/api/login", json={"username": "operator", "password": PASSWORD}
    )
    assert response.status_code == 401
    console.users.enable("operator")
    assert script.get("/api/me").status_code == 401  # tokens stay revoked
    assert console.login("operator").get("/api/me").status_code == 200


def test_role_changes_apply_to_live_sessions_and_tokens(console: Console) -> None:
    client = console.login("viewer")
    script = console.client()
    script.bearer = client.post("/api/tokens", json={}).json()["token"]
    assert client.get("/api/test/operator").status_code == 403
    console.users.set_role("viewer", "operator")
    assert client.get("/api/test/operator").json()["role"] == "operator"
    assert script.get("/api/test/operator").status_code == 200
    console.users.set_role("viewer", "viewer")
    assert client.get("/api/test/operator").status_code == 403
    assert script.get("/api/test/operator").status_code == 403


def test_a_password_reset_ends_sessions(console: Console) -> None:
    client = console.login("viewer")
    console.users.reset("viewer", "a new long password")
    assert client.get("/api/me").status_code == 401
    assert console.login("viewer", "a new long password").get("/api/me").status_code == 200


# --- secrets at rest and in logs -------------------------------------------------------------


def test_no_secret_is_stored_or_logged(console: Console, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    console.client().post("/api/login", json={"username": "viewer", "password": "wrong-secret-1"})
    client = console.login("viewer")
    token = client.post("/api/tokens", json={}).json()["token"]
    cookie = client.cookies["sb_session"]
    assert "failed login for 'viewer'" in caplog.text
    for secret in ("wrong-secret-1", PASSWORD, token, cookie):
        assert secret not in caplog.text
    console.users.close()
    dump = "\n".join(sqlite3.connect(console.node.config.dir.state).iterdump())
    for secret in (PASSWORD, token, cookie, token.removeprefix("sbt_")):
        assert secret not in dump
    assert "$argon2id$" in dump
