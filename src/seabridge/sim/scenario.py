"""Find, read and validate scenario files; errors name the file, the line and the field.

A scenario is a YAML file (format: :mod:`seabridge.sim.schema`, ``docs/simulator.md``).
Built-in scenarios live in the scenario directory of a pack (``[files] scenarios`` in its
``pack.toml``, by default ``scenarios/``); a scenario there uses that pack's features, zones
and parties unless it names another with ``pack:``. This module reads files and reports bad
ones; it does not resolve names (that is :mod:`seabridge.sim.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from seabridge.errors import InputError, PackError
from seabridge.packs import MANIFEST, Pack, builtin_packs, load_pack
from seabridge.sim.schema import ScenarioSpec

__all__ = [
    "Scenario",
    "ScenarioError",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
]

SUFFIXES = (".yaml", ".yml")
_MAX_ERRORS = 5


class ScenarioError(InputError):
    """A scenario file cannot be used: unreadable, invalid, or naming unknown things."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario file and the pack it draws features, zones and parties from."""

    spec: ScenarioSpec
    path: Path
    pack: Pack | None

    @property
    def name(self) -> str:
        return self.spec.scenario

    def error(self, where: str, message: str) -> ScenarioError:
        """A :class:`ScenarioError` naming this file and a field path such as
        ``vessels[2].behaviours[0].approach.target``."""
        return ScenarioError(f"{self.path}: {where}: {message}")


DEFAULT_DIRECTORY = "scenarios"


def _scenario_dir(pack: Pack) -> Path | None:
    """The pack's scenario directory: ``[files] scenarios``, else ``scenarios/`` if there."""
    directory = pack.path / pack.files.get("scenarios", DEFAULT_DIRECTORY)
    return directory if directory.is_dir() else None


def builtin_scenarios() -> dict[str, Path]:
    """Built-in scenario name -> file, from every built-in pack that lists scenarios."""
    found: dict[str, Path] = {}
    for name in builtin_packs():
        directory = _scenario_dir(load_pack(name))
        if directory is None:
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix in SUFFIXES and path.stem not in found:
                found[path.stem] = path
    return found


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (``ecs-mini``) or a scenario file by path.

    Raises:
        ScenarioError: no such built-in scenario (the message lists them), an unreadable
            file, invalid YAML (with its line) or an invalid field (file, line, field path).
    """
    text = str(name_or_path)
    is_name = isinstance(name_or_path, str) and "/" not in text and not text.endswith(SUFFIXES)
    if is_name:
        known = builtin_scenarios()
        if text not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ScenarioError(
                f"no built-in scenario {text!r} (built-in: {listed}); "
                "give a path to a .yaml file for your own"
            )
        path = known[text]
    else:
        path = Path(name_or_path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc})") from None
    return parse_scenario(source, path)


def parse_scenario(text: str, path: Path) -> Scenario:
    """Validate scenario YAML ``text``; ``path`` names it in errors and locates its pack."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario fields at the top level")
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, root, path)) from None
    return Scenario(spec, path, _pack_for(spec, path))


def _pack_for(spec: ScenarioSpec, path: Path) -> Pack | None:
    """The pack named by ``pack:`` (a name, or a directory relative to the file), else the
    pack whose scenarios directory holds the file, else none."""
    try:
        if spec.pack is not None:
            if "/" in spec.pack or spec.pack.startswith("."):
                return load_pack(path.parent / spec.pack)
            return load_pack(spec.pack)
        candidate = path.resolve().parent.parent
        if (candidate / MANIFEST).is_file():
            pack = load_pack(candidate)
            directory = _scenario_dir(pack)
            if directory is not None and directory.resolve() == path.resolve().parent:
                return pack
    except PackError as exc:
        raise ScenarioError(f"{path}: pack: {exc}") from None
    return None


def _describe(exc: ValidationError, root: Node | None, path: Path) -> str:
    problems = []
    for error in exc.errors()[:_MAX_ERRORS]:
        line, field = _locate(root, tuple(error["loc"]))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (docs/simulator.md lists the fields)"
        elif error["type"] == "missing":
            message = "missing required field"
        where = f"{path}:{line}" if line is not None else str(path)
        problems.append(f"{where}: {field or '(top level)'}: {message}")
    more = exc.error_count() - _MAX_ERRORS
    if more > 0:
        problems.append(f"... and {more} more")
    return "\n".join(problems)


def _locate(root: Node | None, loc: tuple[Any, ...]) -> tuple[int | None, str]:
    """The YAML line of a pydantic error location and its path as written in the file.

    Location parts that are not in the YAML (union branch tags) are skipped; a last part
    that names a missing field is kept.
    """
    node = root
    parts: list[str] = []
    for number, key in enumerate(loc):
        child = _child(node, key)
        if child is not None:
            node = child
        elif not (number == len(loc) - 1 and isinstance(key, str) and key.isidentifier()):
            continue
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    line = node.start_mark.line + 1 if node is not None else None
    return line, "".join(parts).lstrip(".")


def _child(node: Node | None, key: object) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(key):
                found: Node = value_node
                return found
    elif isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        child: Node = node.value[key]
        return child
    return None
