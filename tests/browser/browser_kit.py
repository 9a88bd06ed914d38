"""Builders for the console's browser tests: the two-node demo as a subprocess, Debian's
Chromium under Playwright, a record of every request the pages make, and screenshots.

The nodes run as ``seabridge demo`` runs them (:mod:`seabridge.node.demo`: JCG and CCG
federated over mutual TLS, consoles on plain HTTP, one simulator feeding both on a replay
clock, an operator login per node). A subprocess keeps the nodes' work off the test's GIL and
is stopped the way an operator stops it (SIGINT), killed if it does not end in time.

Nothing here reaches beyond 127.0.0.1: the pages' requests to any other host are aborted
before they leave (and recorded, so the tests fail naming them).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Route

from support import demo_ports_base, free_ports

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ENV",
    "CONSOLE",
    "LOCAL_HOSTS",
    "DemoConsoles",
    "RequestLog",
    "chromium_executable",
    "free_ports",
    "strings",
]

REPO: Final = Path(__file__).resolve().parents[2]
CONSOLE: Final = REPO / "src" / "seabridge" / "web" / "console"
ARTIFACTS: Final = REPO / "test-artifacts" / "browser"
"""Screenshots of every flow (git-ignored; CI keeps the folder as an artifact)."""
LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost"})
CHROMIUM_ENV: Final = "SEABRIDGE_CHROMIUM"
_NOT_LOCAL: Final = re.compile(r"^(?:https?|wss?)://(?!(?:127\.0\.0\.1|localhost)(?::\d+)?/)")
_LOGIN: Final = re.compile(r"^(\w+)\s+(\S+)\s+user\s+(\S+)\s+password\s+(\S+)\s*$")


def chromium_executable() -> str | None:
    """Debian's Chromium (``$SEABRIDGE_CHROMIUM`` overrides the path), or None if absent."""
    override = os.environ.get(CHROMIUM_ENV)
    if override is not None:
        return override if Path(override).is_file() and os.access(override, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def strings(lang: str) -> dict[str, str]:
    """The console's UI strings in ``lang`` (``i18n/<lang>.json``, the file the page loads)."""
    data: dict[str, str] = json.loads((CONSOLE / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


@dataclass(frozen=True)
class Login:
    """One node's console and its operator login (from the demo's ``demo-logins.txt``)."""

    party: str
    url: str
    user: str
    password: str


@dataclass
class DemoConsoles:
    """``seabridge demo`` (JCG and CCG with consoles) in a subprocess.

    :meth:`start` returns at once; :meth:`wait_ready` waits (bounded) until both consoles
    answer. :meth:`stop` sends SIGINT (the demo's Ctrl-C) and kills it after ``stop_s``.
    """

    workdir: Path
    scenario: str = "ecs-mini"
    speed: float = 60.0
    stop_s: float = 20.0
    logins: dict[str, Login] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir.with_name(self.workdir.name + ".log")

    def start(self) -> None:
        exe = Path(sys.executable).with_name("seabridge")
        command = [str(exe)] if exe.is_file() else [sys.executable, "-m", "seabridge.cli"]
        command += [
            "demo", "--workdir", str(self.workdir), "--scenario", self.scenario,
            "--speed", f"{self.speed:g}", "--ports-base", str(demo_ports_base()),
        ]  # fmt: skip
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> dict[str, Login]:
        """Both consoles answer ``/api/health``; returns the logins by party."""
        deadline = time.monotonic() + timeout_s
        while not self._ready():
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"seabridge demo ended before serving:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"seabridge demo not serving after {timeout_s:g} s:\n{self.output()}"
                )
            time.sleep(0.2)  # polling a subprocess's sockets: there is no event to wait on
        return self.logins

    def _ready(self) -> bool:
        if not self.logins:
            path = self.workdir / "demo-logins.txt"
            if not path.is_file():
                return False
            for line in path.read_text("utf-8").splitlines():
                if match := _LOGIN.match(line):
                    party, url, user, password = match.groups()
                    self.logins[party] = Login(party, url, user, password)
            if set(self.logins) != {"jcg", "ccg"}:
                self.logins.clear()
                return False
        return all(_answers(login.url + "api/health") for login in self.logins.values())

    def output(self) -> str:
        """The demo's log so far (its last 4,000 characters)."""
        if not self.log_path.is_file():
            return ""
        return self.log_path.read_text("utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(self.stop_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


def _die_with_parent() -> None:
    """In the child: SIGTERM it (the demo's stop) if the test process dies without stopping
    it (prctl(2) PR_SET_PDEATHSIG), so a killed test run leaves no nodes behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class RequestLog:
    """Every URL the recorded browser contexts asked for (pages, fetches, websockets)."""

    urls: list[str] = field(default_factory=list)

    def record(self, context: BrowserContext) -> None:
        """Record ``context``'s requests and abort those to any other host than this one."""
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", self._record_page)
        for page in context.pages:
            self._record_page(page)
        context.route(_NOT_LOCAL, _abort)

    def _record_page(self, page: Page) -> None:
        page.on("websocket", lambda socket: self.urls.append(socket.url))

    def foreign(self, start: int = 0) -> list[str]:
        """The URLs from ``start`` on whose host is not this machine."""
        return [url for url in self.urls[start:] if not _is_local(url)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.urls)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return parts.scheme != "blob" or _is_local(url.removeprefix("blob:"))
    return parts.hostname in LOCAL_HOSTS


def _abort(route: Route, *_: Any) -> None:
    route.abort("blockedbyclient")
