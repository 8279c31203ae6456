"""The OpenAPI document: every operation documents an example of its success body (and
of its request body), so client authors can read what comes back without calling it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cadence.service.api import create_app
from cadence.service.settings import Settings


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home: Path = tmp_path_factory.mktemp("openapi")
    document: dict[str, Any] = create_app(Settings(home=home), migrate_on_start=False).openapi()
    return document


def _has_example(schema: dict[str, Any] | None, components: dict[str, Any]) -> bool:
    if not schema:
        return False
    if "example" in schema or "examples" in schema:
        return True
    if "$ref" in schema:
        return _has_example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "items" in schema:
        return _has_example(schema["items"], components)
    props = schema.get("properties", {})
    return bool(props) and all("example" in p or "examples" in p for p in props.values())


def _documented(content: dict[str, Any], components: dict[str, Any]) -> bool:
    return any(
        "example" in c or "examples" in c or _has_example(c.get("schema"), components)
        for c in content.values()
    )


def test_every_operation_has_examples(spec: dict[str, Any]) -> None:
    components = spec.get("components", {}).get("schemas", {})
    missing = []
    operations = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            operations += 1
            ok = [
                r for code, r in op["responses"].items() if code.startswith("2") and "content" in r
            ]
            if not any(_documented(r["content"], components) for r in ok):
                missing.append(f"{method.upper()} {path}: response")
            body = op.get("requestBody")
            if body is not None and not _documented(body["content"], components):
                missing.append(f"{method.upper()} {path}: request body")
    assert operations >= 15
    assert missing == []


def test_writes_and_retrains_document_their_auth_failures(spec: dict[str, Any]) -> None:
    for path in ("/v1/events", "/v1/statements", "/v1/counts", "/v1/retrain"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"401", "403", "422"} <= set(responses), path
