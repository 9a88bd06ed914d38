"""The dependency-direction rules of DESIGN.md, enforced by parsing every import with ``ast``.

- The ground floor (errors, units, clock, config, packs) imports nothing from the project
  but itself; every package may import it.
- ais -> nothing above it. tracks -> ais. geo -> units. detect -> tracks, geo, ais (record
  schemas, the MID table). incidents -> detect. hotline -> clock, errors only. sim -> ais, geo.
  reports -> domain packages, never web or cli. node -> domains, never web or cli.
  web -> node and the domains. cli -> anything.
- No domain package (nor node) imports web, cli, typer, rich, fastapi, starlette or uvicorn.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "seabridge"
GROUND = frozenset({"errors", "units", "clock", "config", "packs", "statedb", "__init__"})
DOMAINS = frozenset({"ais", "tracks", "geo", "detect", "incidents", "hotline", "reports", "sim"})
ALLOWED: dict[str, frozenset[str]] = {
    "ground": GROUND,
    "ais": GROUND,
    "tracks": GROUND | {"ais"},
    "geo": GROUND,
    "detect": GROUND | {"tracks", "geo", "ais"},
    "incidents": GROUND | {"detect"},
    # statedb: the state.sqlite conventions every store shares (ground floor, errors only).
    "hotline": frozenset({"clock", "errors", "statedb", "__init__"}),
    "sim": GROUND | {"ais", "geo"},
    "reports": GROUND | DOMAINS,
    "node": GROUND | DOMAINS,
    "web": GROUND | DOMAINS | {"node"},
    "cli": GROUND | DOMAINS | {"node", "web", "cli"},
    "data": frozenset(),
}
EDGE_LIBRARIES = frozenset({"typer", "rich", "fastapi", "starlette", "uvicorn"})


def _layer(module: str) -> str:
    """The layer of a module path under seabridge: 'ais', 'ground', ..."""
    top = module.split(".")[0]
    return "ground" if top in GROUND else top


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in a file, relative ones resolved."""
    package = ".".join(("seabridge", *path.relative_to(root).with_suffix("").parts[:-1]))
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            if base == "seabridge":  # from seabridge import tracks: a name may be a module
                for alias in node.names:
                    is_module = (root / alias.name).is_dir() or (root / f"{alias.name}.py").exists()
                    found.append((node.lineno, f"seabridge.{alias.name}" if is_module else base))
            else:
                found.append((node.lineno, base))
    return found


def violations(root: Path = SRC) -> list[str]:
    """Every import that breaks a rule, as 'file:line: message'."""
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        layer = _layer(".".join(relative.parts))
        for line, module in _imports(path, root):
            where = f"{path.relative_to(root.parent)}:{line}"
            top = module.split(".")[0]
            if top in EDGE_LIBRARIES and layer not in ("web", "cli"):
                problems.append(f"{where}: {layer} imports {module} (only web and cli may)")
            if top != "seabridge" or module == "seabridge":
                continue
            target = module.split(".")[1]
            target_layer = "ground" if target in GROUND else target
            if target_layer == layer and layer != "ground":
                continue
            allowed = ALLOWED.get(layer, frozenset())
            if target not in allowed and target_layer not in allowed:
                problems.append(f"{where}: {layer} may not import seabridge.{target}")
    return problems


def test_every_import_follows_the_dependency_rules() -> None:
    assert violations() == []


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    root = tmp_path / "seabridge"
    (root / "ais").mkdir(parents=True)
    (root / "ais" / "bad.py").write_text("import rich\nfrom seabridge.detect import engine\n")
    (root / "tracks").mkdir()
    (root / "errors.py").write_text("")
    (root / "ais" / "worse.py").write_text("from seabridge import tracks, errors\n")
    (root / "units.py").write_text("from seabridge.ais import records\n")
    found = violations(root)
    assert len(found) == 4, found
    assert any("worse.py:1: ais may not import seabridge.tracks" in line for line in found)


def test_every_package_of_the_source_tree_has_a_rule() -> None:
    """A new package (or module) under src/seabridge must be given its place in ALLOWED."""
    layers = {_layer(path.name.removesuffix(".py")) for path in SRC.iterdir()}
    layers -= {"__pycache__", "py.typed"}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))
