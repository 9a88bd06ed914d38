"""The console's OpenAPI schema: behind a login, structurally valid OpenAPI 3 (checked here:
no validator is installed), every API route documented with its role and security.

The checks walk the schema the way a validator would for the parts we rely on: required
top-level fields, operations with responses and unique operation ids, path parameters
declared, every ``$ref`` resolving, security schemes defined.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_kit import Console, make_console
from fastapi.routing import APIRoute, iter_route_contexts

from seabridge.web.auth import PUBLIC_ROUTES, route_role

_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return make_console(tmp_path)


@pytest.fixture
def schema(console: Console) -> dict[str, Any]:
    response = console.login("viewer").get("/api/openapi.json")
    assert response.status_code == 200
    parsed: dict[str, Any] = json.loads(response.text)
    return parsed


def _refs(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _resolve(schema: dict[str, Any], ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: object = schema
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, ref
        node = node[part]
    return node


def test_the_schema_needs_a_login_and_no_docs_pages_exist(console: Console) -> None:
    anonymous = console.client()
    assert anonymous.get("/api/openapi.json").status_code == 401
    for url in ("/docs", "/redoc", "/openapi.json", "/api/docs"):
        assert anonymous.get(url).status_code == 404, url


def test_the_schema_is_structurally_valid_openapi_3(schema: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.\d+\.\d+", schema["openapi"])
    assert schema["info"]["title"] and schema["info"]["version"] == "0.1.0"
    assert isinstance(schema["paths"], dict) and schema["paths"]
    operation_ids = []
    for path, item in schema["paths"].items():
        assert path.startswith("/api/") or path == "/metrics", path
        declared = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in item.items():
            assert method in _METHODS, (path, method)
            assert operation["responses"], (path, method)
            for status in operation["responses"]:
                assert re.fullmatch(r"[1-5]\d\d|default", str(status)), (path, status)
            operation_ids.append(operation["operationId"])
            in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert in_path == declared, (path, method)
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"path", "query", "header", "cookie"}
                assert parameter["in"] != "path" or parameter["required"] is True
    assert len(operation_ids) == len(set(operation_ids))
    refs = list(_refs(schema))
    assert refs
    for ref in refs:
        assert isinstance(_resolve(schema, ref), dict)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sb_session",
        "description": schemes["session"]["description"],
    }
    assert schemes["token"]["type"] == "http" and schemes["token"]["scheme"] == "bearer"


def test_every_api_route_is_documented_with_its_role(
    console: Console, schema: dict[str, Any]
) -> None:
    documented = 0
    for route in iter_route_contexts(console.app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        if route.path_format == "/api/openapi.json":
            assert not route.include_in_schema
            continue
        assert route.include_in_schema, route.path_format
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            documented += 1
            if (method, route.path_format) in PUBLIC_ROUTES:
                assert operation["x-seabridge-role"] == "public"
                assert "security" not in operation
            else:
                assert operation["x-seabridge-role"] == route_role(route)
                assert {"session": []} in operation["security"]
                assert {"token": []} in operation["security"]
    total = sum(len(item) for item in schema["paths"].values())
    assert documented == total  # nothing in the schema that is not a route, and the reverse
