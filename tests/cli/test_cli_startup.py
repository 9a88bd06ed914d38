"""CLI start-up: importing the command line loads typer and rich, not the domain's heavy stack.

``seabridge --version`` and every ``--help`` import ``seabridge.cli`` and nothing more; the
commands import numba, DuckDB, SciPy, pyproj, shapely, FastAPI and uvicorn when they run. This
checks the import graph in a fresh interpreter (not a timing, which would be flaky).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numba", "duckdb", "scipy", "pyproj", "fastapi", "uvicorn", "shapely")


def _imported_after(code: str) -> list[str]:
    """The heavy modules loaded once ``code`` has run in a new interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_dependency() -> None:
    assert _imported_after("import seabridge.cli") == []


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["hotline", "--help"], ["zones", "check", "--help"]],
    ids=["version", "help", "group-help", "command-help"],
)
def test_version_and_help_load_no_heavy_dependency(argv: list[str]) -> None:
    run = (
        "import sys, contextlib, io\n"
        f"sys.argv = ['seabridge', *{argv!r}]\n"
        "import seabridge.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    seabridge.cli.main()"
    )
    assert _imported_after(run) == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check can fail: a command module's own imports do load the stack."""
    assert "duckdb" in _imported_after("import seabridge.tracks")
