"""Strict YAML for pack files (rulebooks, mechanism, phrasebook).

Safe YAML (no Python objects), and a key given twice in one mapping is an error instead of
the second silently winning: in a document two parties sign, a duplicated threshold must
never pass unnoticed. Errors are :class:`~seabridge.errors.PackError` naming the file, line
and column.
"""

from __future__ import annotations

from typing import Any

import yaml

from seabridge.errors import PackError

__all__ = ["load_yaml"]


class _Loader(yaml.SafeLoader):
    """Safe YAML that rejects a key given twice (the second would silently win)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str, source: str) -> Any:
    """The YAML document in ``text``; ``source`` names it in errors.

    Raises:
        PackError: invalid YAML, or a key given twice, with line and column.
    """
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PackError(f"{source}: invalid YAML{at}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise PackError(f"{source}: invalid YAML: {exc}") from None
