"""``seabridge users ...`` over a real node directory: passwords from a file, stdin or a hidden
prompt (never echoed), exit codes, and the changes the running console sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seabridge.cli.users as users_cli
from seabridge.cli import app
from seabridge.clock import ManualClock
from seabridge.errors import LoginError
from seabridge.node import init_node
from seabridge.node.users import UserStore

T0_MS = 1_777_593_600_000  # 2026-05-01T00:00:00Z
SECRET = "a long enough secret"
runner = CliRunner()


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    clock = ManualClock(T0_MS)
    monkeypatch.setattr(users_cli, "CLOCK", clock)
    init_node(tmp_path / "jcg", "jcg", "JCG", "127.0.0.1:18443", "127.0.0.1:18444", clock)
    yield tmp_path / "jcg"


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["users", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _store(node: Path) -> UserStore:
    return UserStore(node / "state.sqlite", ManualClock(T0_MS))


def test_add_from_stdin_then_list(node: Path) -> None:
    code, stdout, stderr = _run(
        "add", "tanaka", "--node", str(node), "--role", "operator", "--password-stdin",
        stdin=SECRET + "\n",
    )  # fmt: skip
    assert code == 0, stderr
    assert stdout.strip() == "added user tanaka (operator, enabled)"
    assert SECRET not in stdout + stderr
    code, stdout, _ = _run("list", "--node", str(node), "--json")
    assert code == 0
    assert json.loads(stdout) == [
        {
            "name": "tanaka",
            "role": "operator",
            "disabled": False,
            "created": "2026-05-01T00:00:00Z",
            "updated": "2026-05-01T00:00:00Z",
        }
    ]
    with _store(node) as store:
        assert store.authenticate("tanaka", SECRET).role == "operator"


def test_add_from_a_password_file(node: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\nignored second line\n")
    code, _, stderr = _run("add", "li", "--node", str(node), "--password-file", str(secret_file))
    assert code == 0, stderr
    with _store(node) as store:
        assert store.authenticate("li", SECRET).role == "viewer"


def test_the_prompt_asks_twice_and_hides_the_input(node: Path) -> None:
    code, stdout, stderr = _run("add", "sato", "--node", str(node), stdin=f"{SECRET}\n{SECRET}\n")
    assert code == 0, stderr
    assert SECRET not in stdout + stderr
    assert "Password" in stderr and "Again" in stderr
    code, _, stderr = _run("add", "wang", "--node", str(node), stdin=f"{SECRET}\nother one!\n")
    assert code == 2 and "differ" in stderr
    with _store(node) as store:
        assert [user.name for user in store.list()] == ["sato"]


def test_there_is_no_plain_password_option(node: Path) -> None:
    code, _, _ = _run("add", "x", "--node", str(node), "--password", SECRET)
    assert code == 2


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "Bad Name", "--password-stdin"], SECRET, "user name"),
        (["add", "short", "--password-stdin"], "2short", "8 to 1024"),
        (["add", "ok", "--role", "captain", "--password-stdin"], SECRET, "unknown role"),
        (["disable", "ghost"], None, "no user 'ghost'"),
        (["role", "ghost", "admin"], None, "no user 'ghost'"),
    ],
    ids=["bad-name", "short-password", "bad-role", "unknown-disable", "unknown-role"],
)
def test_bad_input_exits_2(node: Path, args: list[str], stdin: str | None, message: str) -> None:
    code, _, stderr = _run(*args, "--node", str(node), stdin=stdin)
    assert code == 2
    assert message in stderr


def test_no_node_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEABRIDGE_NODE", raising=False)
    code, _, stderr = _run("list")
    assert code == 2 and "--node DIR" in stderr
    code, _, stderr = _run("list", "--node", str(tmp_path / "none"))
    assert code == 2


def test_disable_enable_role_reset_and_the_last_admin(node: Path) -> None:
    for name, role in (("boss", "admin"), ("aide", "viewer")):
        code, _, stderr = _run(
            "add", name, "--node", str(node), "--role", role, "--password-stdin", stdin=SECRET
        )
        assert code == 0, stderr
    code, _, stderr = _run("disable", "boss", "--node", str(node))
    assert code == 1 and "last enabled admin" in stderr
    code, stdout, _ = _run("role", "aide", "admin", "--node", str(node))
    assert code == 0 and stdout.strip() == "changed user aide (admin, enabled)"
    code, stdout, _ = _run("disable", "boss", "--node", str(node))
    assert code == 0 and stdout.strip() == "disabled user boss (admin, disabled)"
    with _store(node) as store, pytest.raises(LoginError):
        store.authenticate("boss", SECRET)
    assert _run("enable", "boss", "--node", str(node))[0] == 0
    code, _, _ = _run(
        "reset", "boss", "--node", str(node), "--password-stdin", stdin="new secret!!"
    )
    assert code == 0
    with _store(node) as store:
        assert store.authenticate("boss", "new secret!!").name == "boss"


def test_token_is_printed_once_alone_and_works(node: Path) -> None:
    _run("add", "bot", "--node", str(node), "--password-stdin", stdin=SECRET)
    code, stdout, stderr = _run("token", "bot", "--node", str(node), "--label", "cron")
    assert code == 0, stderr
    token = stdout.strip()
    assert token.startswith("sbt_") and "\n" not in token
    assert "shown once" in stderr
    with _store(node) as store:
        owner = store.token_owner(token)
        assert owner is not None and owner.name == "bot"
        assert [t.label for t in store.tokens("bot")] == ["cron"]
