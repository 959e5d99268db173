"""The shims' OpenAPI 3.1 document (issue 16 item 1): generated from the catalog and the shims' own checks,
served at /prefront/openapi.json, valid, and the served shim routes both ways; rendered at /prefront/docs."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.routing import Route

from api.openapi import DOCS_PATH, OPENAPI_PATH, shim_routes
from api.shims.validation import catalog, platform_entry
from store.db import Database
from store.seed import seed_demo


@pytest.fixture
async def hospital(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    """The gateway as a hospital calls it: no patient's session; the simulated region's IP allowlist."""
    db: Database = gateway._transport.app.state.services.db  # type: ignore[attr-defined]
    await seed_demo(db)
    gateway.headers.pop("Authorization", None)
    return gateway


async def document_of(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def served(client: httpx.AsyncClient) -> dict[str, Route]:
    return shim_routes(client._transport.app.routes)  # type: ignore[attr-defined]


async def test_the_document_is_valid_openapi_3_1(hospital: httpx.AsyncClient) -> None:
    """issue 16 item 1: openapi-spec-validator accepts the served document."""
    document = await document_of(hospital)
    assert document["openapi"].startswith("3.1")
    validate(document)


async def test_every_served_shim_is_documented_and_every_documented_path_is_served(
    hospital: httpx.AsyncClient,
) -> None:
    """issue 16 item 1: the served /prefront routes and the document's paths, both ways, methods included."""
    document = await document_of(hospital)
    routes = served(hospital)
    assert routes, "no shim is served?"
    assert set(document["paths"]) == set(routes)
    for path, item in document["paths"].items():
        documented = {method.upper() for method in item}
        assert documented <= (routes[path].methods or set()), path
        assert "POST" in documented, path
    # Every platform entry of the catalog is served and documented, under its own section.
    sections = {s for item in document["paths"].values() for op in item.values() for s in op.get("x-spec-sections", ())}
    assert sections == {e["section"] for e in catalog() if e["direction"] == "platform"}


async def test_each_operation_carries_the_specs_descriptions_codes_examples_and_auth(
    hospital: httpx.AsyncClient,
) -> None:
    """issue 16 item 1: Chinese field descriptions, required fields, formats, 附四 codes, examples, security."""
    document = await document_of(hospital)
    schemes = document["components"]["securitySchemes"]
    assert {"IpAllowlist", "ApiKey", "HmacSignature"} <= set(schemes)
    assert "HISGRAPH-HMAC-SHA256-2" in schemes["HmacSignature"]["description"]  # from api/shims/auth.py
    gen = document["paths"]["/prefront/patient/genCard"]["post"]
    body = gen["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert set(schema["required"]) >= {"name", "phone"}
    assert schema["properties"]["name"]["description"] == "姓名"
    assert schema["properties"]["birthdate"]["format"] == "date"
    assert "01" in schema["properties"]["nation"]["enum"]  # 附一 民族
    assert body["examples"]["s1.3.2"]["value"] == platform_entry("1.3.2")["request_example"]
    codes = {c["code"] for c in gen["x-return-codes"]}
    assert {"10001", "20001", "20002", "20003", "20004", "50001"} <= codes
    # One path, two sections (9.1.1 recharge refund, 13.2.1 deposit refund): both documented.
    refund = document["paths"]["/prefront/hospitalizationCosts/hisRefund"]["post"]
    assert refund["x-spec-sections"] == ["9.1.1", "13.2.1"]
    assert "10002" in {c["code"] for c in refund["x-return-codes"]}
    # An amount is a decimal with at most two places, as the shims check it.
    amounts = [
        member
        for item in document["paths"].values()
        for op in item.values()
        for schema in [op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})]
        for member in schema.get("properties", {}).values()
        if "金额" in member.get("pattern", "") or "金额（元）" in member.get("description", "")
    ]
    assert amounts


async def test_real_replies_conform_to_the_documented_response(hospital: httpx.AsyncClient) -> None:
    """issue 16 item 1: a refusal and a success of a real shim validate against its path's response schema,
    and the refusal's code is among the codes documented for the path."""
    document = await document_of(hospital)
    path = "/prefront/patient/genCard"
    operation = document["paths"][path]["post"]
    validator = Draft202012Validator(operation["responses"]["200"]["content"]["application/json"]["schema"])
    refusal = (await hospital.post(path, json={"hospitalId": "253"})).json()
    assert refusal["code"] == "20001"
    validator.validate(refusal)
    success = (await hospital.post(path, json=platform_entry("1.3.2")["request_example"])).json()
    assert success["success"] is True
    validator.validate(success)


async def test_the_docs_page_renders_every_path_offline(hospital: httpx.AsyncClient) -> None:
    """issue 16 item 1: /prefront/docs is one HTML page with no script and nothing loaded from elsewhere."""
    response = await hospital.get(DOCS_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    page = response.text
    assert "<script" not in page
    assert " src=" not in page  # no image, frame or script: examples may quote URLs, as text
    hrefs = re.findall(r"href='([^']*)'", page)
    assert hrefs
    assert all(href.startswith(("#", "/", "data:")) for href in hrefs), hrefs
    for path in served(hospital):
        assert path in page


async def test_the_document_is_never_stricter_than_the_shim(hospital: httpx.AsyncClient) -> None:
    """issue 16 item 1: every spec request example that a shim's checks accept validates against the documented
    request schema (keys as the example spells them, aliases and either-or fields as alternatives)."""
    from api.shims.envelope import ShimError
    from api.shims.validation import validate as check
    from api.shims.validation import validate_list

    document = await document_of(hospital)
    checked = 0
    for item in document["paths"].values():
        operation = item["post"]
        content = operation["requestBody"]["content"].get("application/json")
        if content is None:
            continue
        validator = Draft202012Validator(content["schema"])
        for section in operation["x-spec-sections"]:
            example = platform_entry(section)["request_example"]
            try:
                (validate_list if isinstance(example, list) else check)(section, example)
            except ShimError:
                continue  # the spec's own example fails a check the schema cannot state (23.2.2's ID number)
            errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(example)]
            assert errors == [], section
            checked += 1
    assert checked >= 40


async def test_every_shim_refuses_an_empty_body_as_documented(hospital: httpx.AsyncClient) -> None:
    """issue 16 item 1: each served shim's refusal of an empty object has the documented shape and one of the
    codes documented for its path."""
    document = await document_of(hospital)
    for path, item in document["paths"].items():
        operation = item["post"]
        content = operation["requestBody"]["content"].get("application/json")
        if content is None:
            continue  # the WebService takes SOAP (tests/api/test_webservice.py)
        reply = (await hospital.post(path, json={})).json()
        documented = {c["code"] for c in operation["x-return-codes"]}
        assert reply["code"] in documented, (path, reply)
        assert reply["success"] is False, path
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(reply)]
        assert errors == [], (path, reply)


async def test_every_shim_answers_the_specs_example_as_documented(hospital: httpx.AsyncClient) -> None:
    """issue 16 item 1: the spec's own request example, sent to its shim, gets a reply that validates against
    the documented response schema, with a documented code."""
    document = await document_of(hospital)
    for path, item in document["paths"].items():
        operation = item["post"]
        if "application/json" not in operation["requestBody"]["content"]:
            continue
        validator = Draft202012Validator(operation["responses"]["200"]["content"]["application/json"]["schema"])
        documented = {c["code"] for c in operation["x-return-codes"]}
        for section in operation["x-spec-sections"]:
            reply = (await hospital.post(path, json=platform_entry(section)["request_example"])).json()
            errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(reply)]
            assert errors == [], (section, reply)
            if "code" in reply:  # 21.1.x answer {success, message, status}: a code only on a refusal
                assert str(reply["code"]) in documented, (section, reply)
