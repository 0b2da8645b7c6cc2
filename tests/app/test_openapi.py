"""The OpenAPI document is one a client can be generated from (clients/typescript is, in CI):
short unique operation ids, described tags, the one error envelope on every error status,
unique schema names, every reference resolvable, and the committed copy up to date.

That every error status the suite meets is documented for its operation is checked over the
whole test session (tests/conftest.py, `pytest_sessionfinish`)."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from scripts.openapi import render
from src.exceptions import ChatsightError
from src.main import app

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_operation_ids_are_the_handlers_names_and_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z_]*", op_id) for op_id in ids), ids
    assert {"import_chat", "list_messages", "ask", "request_insight"} <= set(ids)


def test_every_operation_has_a_described_tag(document: dict[str, Any]) -> None:
    described = {tag["name"] for tag in document["tags"] if tag.get("description")}
    for method, path, operation in operations(document):
        assert operation.get("tags"), (method, path)
        assert set(operation["tags"]) <= described, (method, path, operation["tags"])


def test_every_error_answer_is_the_envelope_with_an_example(document: dict[str, Any]) -> None:
    codes = set(document["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"])
    for method, path, operation in operations(document):
        statuses = {int(status) for status in operation["responses"]}
        assert 500 in statuses, (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert 422 in statuses, (method, path)
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = response["content"]["application/json"]
            assert content["schema"] == ENVELOPE, (method, path, status)
            assert content["example"]["error"]["code"] in codes, (method, path, status)


def test_the_error_codes_are_an_enum_of_every_code_the_app_answers(
    document: dict[str, Any],
) -> None:
    codes = set(document["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"])
    pending: list[type[ChatsightError]] = [ChatsightError]
    while pending:
        cls = pending.pop()
        assert cls.code in codes, cls
        pending.extend(cls.__subclasses__())
    assert {"validation_error", "payload_too_large", "not_found", "rate_limited"} <= codes


def test_schema_names_are_unique_and_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert not [name for name in schemas if "__" in name], "a name FastAPI had to qualify"
    assert "HTTPValidationError" not in schemas
    text = json.dumps(document)
    referenced = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert referenced <= set(schemas)
    assert not re.findall(r'"\$ref": "#/(?!components/)', text)


def test_the_answer_stream_is_documented_event_by_event(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/rag/conversations/{conversation_id}/messages"]["post"]
    stream = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert stream["discriminator"]["propertyName"] == "event"
    assert set(stream["discriminator"]["mapping"]) == {"citations", "token", "done", "error"}


def test_every_route_is_in_the_document(document: dict[str, Any]) -> None:
    documented = {(m.upper(), p) for m, p, _ in operations(document)}
    from src.main import API_PREFIX

    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                assert (method, route.path) in documented or (
                    method,
                    API_PREFIX + route.path,
                ) in documented


def test_the_committed_document_is_the_served_one(document: dict[str, Any]) -> None:
    committed = (ROOT / "clients" / "typescript" / "openapi.json").read_text()
    assert committed == render(document), "run `make client` and commit the result"
