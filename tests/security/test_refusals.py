"""One refusal shape, and production masks by its base class (issue 12 items 3 and 14).

An error reaches a client only when it is expected: a ``services.refusals.Refused`` (with its code), a hospital's
``HisError``, or GraphQL's own validation. A ``ValueError`` from a bug is "Unexpected error." in production, logged
as an error with its traceback, never as a refusal; payment creation no longer turns one into 20004. Everything
goes through the real ASGI app in production mode, real HTTP to the simulated hospitals and a real database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from tests.conftest import running_gateway

SECRET = "Decimal('500.123') in row 42 of orders"
"""What a bug's message might say: it must never reach a client, nor be logged as a refusal."""


def production(region: Registry, tmp_path: Path) -> Settings:
    """Production mode with every start-up risk allowed explicitly (those have tests of their own)."""
    return Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'production.sqlite3'}",
        registry=region,
        session_secret="s" * 40,
        file_link_secret="f" * 40,
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
    )


@pytest.fixture
async def prod(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(production(region, tmp_path)) as client:
        yield client


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text[:500]
    body: dict[str, Any] = response.json()
    return body


def traceback_of(record: logging.LogRecord) -> str:
    """The record's traceback: formatted (and masked) into exc_text by the gateway's log filter (api/logs.py)."""
    if record.exc_info:
        return logging.Formatter().formatException(record.exc_info)
    return record.exc_text or ""


def bug(*_: Any, **__: Any) -> Any:
    raise ValueError(SECRET)


async def test_a_value_error_in_a_resolver_is_masked_and_logged_as_a_bug(
    prod: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 12 item 3: a ValueError is no refusal. Production answers "Unexpected error." without its text or a
    code, and the log holds it as an error with its traceback, never as "refused"."""
    monkeypatch.setattr(services_of(prod).payments, "get", bug)
    with caplog.at_level(logging.INFO):
        body = await post(prod, '{ paymentOrder(outTradeNo: "OP253-1") { outTradeNo } }')
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert SECRET not in str(body)
    assert "code" not in (error.get("extensions") or {})
    [logged] = [r for r in caplog.records if SECRET in r.getMessage()]
    assert logged.levelno == logging.ERROR
    assert "Traceback" in traceback_of(logged)
    assert "ValueError" in traceback_of(logged)
    assert not [r for r in caplog.records if r.name == "hisgraph.graphql" and "refused" in r.getMessage()]


async def test_payment_creation_turns_no_value_error_into_a_refusal(
    prod: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 12 item 3: a bug while an order is made is not 20004 (amount refused): it propagates, masked."""
    monkeypatch.setattr(services_of(prod).payments, "create_outpatient_order", bug)
    with caplog.at_level(logging.INFO):
        body = await post(
            prod,
            'mutation { createOutpatientPayment(hospitalId: "253", medicalCardNumber: "001000056254587") '
            "{ __typename ... on Refusal { code message } } }",
        )
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]
    assert "20004" not in str(body)
    assert "PARAMETER_RANGE" not in str(body)
    [logged] = [r for r in caplog.records if SECRET in r.getMessage()]
    assert logged.levelno == logging.ERROR
    assert "Traceback" in traceback_of(logged)


async def test_a_refused_passes_with_its_code_in_production(prod: httpx.AsyncClient) -> None:
    """issue 12 item 3: a Refused is meant for the caller. As a query error it keeps its wire code and field
    and its Chinese words; in a mutation's result union it is the one Refusal type, by its enum name."""
    body = await post(prod, "{ me { orders(first: 0) { hasNextPage } } }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "20004", "field": "first"}
    assert error["message"].startswith("first 须在")

    refused = await post(
        prod,
        'mutation { cancelPayment(outTradeNo: "OP253-nothing") '
        "{ __typename ... on Refusal { code message field outcomeUnknown } } }",
    )
    assert refused["data"]["cancelPayment"] == {
        "__typename": "Refusal",
        "code": "NOT_FOUND",
        "message": "订单不存在。",
        "field": "outTradeNo",
        "outcomeUnknown": False,
    }


async def test_not_signed_in_is_one_code_on_queries_and_mutations(prod: httpx.AsyncClient) -> None:
    """issue 12 item 14: UNAUTHENTICATED, the same on a query and on a payment mutation, shown in production."""
    del prod.headers["Authorization"]
    query = await post(prod, '{ patient(medicalCardNumber: "001000056254587") { medicalCardNumber } }')
    mutation = await post(
        prod,
        'mutation { createRechargePayment(hospitalId: "253", medicalCardNumber: "001000056254587", amount: "1.00") '
        "{ __typename } }",
    )
    for body in (query, mutation):
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
        assert body["errors"][0]["message"] != "Unexpected error."


async def test_one_code_means_one_thing(prod: httpx.AsyncClient) -> None:
    """issue 12 item 14: a wrong SMS code is SMS_CODE_INVALID (field code); a malformed phone is 20003
    PARAMETER_FORMAT naming the field phone; neither is the other's code."""
    wrong_code = await post(
        prod,
        'mutation { confirmCardBinding(hospitalId: "253", medicalCardNumber: "9999", code: "000000") '
        "{ __typename ... on Refusal { code field } } }",
    )
    assert wrong_code["data"]["confirmCardBinding"] == {
        "__typename": "Refusal",
        "code": "SMS_CODE_INVALID",
        "field": "code",
    }
    bad_phone = await post(
        prod,
        'mutation { createHealthCard(hospitalId: "253", name: "王五", sex: MALE, birthDate: "1990-01-01", '
        'phone: "12345") { __typename ... on Refusal { code field message } } }',
    )
    assert bad_phone["data"]["createHealthCard"] == {
        "__typename": "Refusal",
        "code": "PARAMETER_FORMAT",
        "field": "phone",
        "message": "手机号须为11位手机号码。",
    }
