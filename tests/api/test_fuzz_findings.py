"""What Schemathesis found fuzzing the shims (tests/integrators/test_fuzz.py, issue 16 item 2), one test each.

1. A shim asked with another method (TRACE, PUT, ...) answers HTTP 405 with the envelope and code 40002 (the
   request guard), but the document listed neither the status nor the code: the guard's refusals (400, 403, 405,
   413, 415) are now documented for every shim, with their codes, from api/guards.py.
2. The WebService endpoint asked with another method than GET or POST answered Starlette's plain text
   "Method Not Allowed", neither the envelope nor a SOAP Fault: it now answers a SOAP Fault (HTTP 405).

And fuzzing the graph:

3. A ``Money`` argument that is no amount ("abc", "NaN") failed inside our scalar with a ValueError: GraphQL
   wrapped it as our own exception, logged with a traceback as a bug, and masked in production as "Unexpected
   error." although the client sent it. ``Money`` now raises GraphQL's validation error, as strawberry's own
   scalars do; a non-finite amount is refused too. As a variable, GraphQL wraps that error in its own ("Variable
   '$amount' has invalid value"), which was logged as a bug too (any scalar, ``Date`` included): an error whose
   original is GraphQL's own is a refusal (resolvers/errors.py).
4. ``operator { reconciliationCheck(date: "0187-06-01") }`` failed inside (pydantic's ValidationError in the
   error, with its URL): the 14.2.1 window was written with strftime's ``%Y``, which writes year 187 as "187",
   not four digits; it is written from the ISO date now.
5. The same for instants (``spec_instant``, every ``from``/``to: DateTime`` window sent to a hospital, e.g.
   ``operator { transactionStatistics }``), and an instant with no Beijing time (9999-12-31T20:00:00Z) failed
   with an OverflowError inside: it is refused (20004).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from api.guards import LIMITS
from api.openapi import OPENAPI_PATH
from tests.conftest import run_graphql, sign_in_operator

GEN_CARD = "/prefront/patient/genCard"  # 1.3.2
UPLOAD = "/prefront/yyghService/hospital"  # 21.1.x: {success, message, status} replies
WEBSERVICE = "/prefront/services/prefrontWebService"


@pytest.fixture
async def hospital(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    """The gateway as a hospital calls it: no patient's session; the simulated region's IP allowlist."""
    gateway.headers.pop("Authorization", None)
    return gateway


async def documented(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get(OPENAPI_PATH)).json()
    operation: dict[str, Any] = document["paths"][path]["post"]
    return operation


def assert_documented(operation: dict[str, Any], response: httpx.Response) -> None:
    """The reply's status is documented for the operation, its body validates, its code is listed."""
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"HTTP {response.status_code} is not documented"
    schema = documented["content"]["application/json"]["schema"]
    body = response.json()
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
    assert errors == [], body
    assert body["code"] in {c["code"] for c in operation["x-return-codes"]}, body


@pytest.mark.parametrize("path", [GEN_CARD, UPLOAD])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE"])
async def test_another_method_is_refused_as_documented(hospital: httpx.AsyncClient, path: str, method: str) -> None:
    """Finding 1: 405 with the envelope and 40002, both in the path's document."""
    operation = await documented(hospital, path)
    response = await hospital.request(method, path, json={"hospitalId": "253"})
    assert response.status_code == 405
    assert response.json()["code"] == "40002"
    assert_documented(operation, response)


@pytest.mark.parametrize("path", [GEN_CARD, UPLOAD])
async def test_the_guards_other_refusals_are_documented(hospital: httpx.AsyncClient, path: str) -> None:
    """Finding 1: a wrong Content-Type (415), a cross-site mark (403) and a body over the limit (413) are each
    answered in the envelope as the path's document says."""
    operation = await documented(hospital, path)
    wrong_type = await hospital.post(path, content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert_documented(operation, wrong_type)
    cross_site = await hospital.post(path, json={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    assert_documented(operation, cross_site)
    limit = LIMITS["upload" if path == UPLOAD else "shim"]
    too_large = await hospital.post(path, content=b" " * (limit + 1), headers={"Content-Type": "application/json"})
    assert too_large.status_code == 413
    assert_documented(operation, too_large)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_the_webservice_refuses_another_method_with_a_soap_fault(
    hospital: httpx.AsyncClient, method: str
) -> None:
    """Finding 2: a SOAP Fault with HTTP 405, never Starlette's plain text; the document lists it."""
    response = await hospital.request(method, WEBSERVICE, content=b"<x/>", headers={"Content-Type": "text/xml"})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/xml")
    assert "<soap:Fault>" in response.text
    assert "Method Not Allowed" not in response.text
    document = (await hospital.get(OPENAPI_PATH)).json()
    assert "405" in document["paths"][WEBSERVICE]["post"]["responses"]


REFUND = """
mutation ($amount: Money) {
  requestCardRefund(hospitalId: "253", medicalCardNumber: "001000056254587", amount: $amount) { __typename }
}
"""


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity", "1e"])
async def test_an_amount_that_is_none_is_a_validation_error_not_ours(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, amount: str
) -> None:
    """Finding 3: as a variable and as a literal, GraphQL refuses it before anything runs; nothing is logged as
    our error."""
    with caplog.at_level(logging.INFO):
        as_variable = await gateway.post("/graphql", json={"query": REFUND, "variables": {"amount": amount}})
        literal = REFUND.replace("($amount: Money)", "").replace("$amount", f'"{amount}"')
        as_literal = await gateway.post("/graphql", json={"query": literal})
    for response in (as_variable, as_literal):
        body = response.json()
        assert body.get("data") is None, body
        message = body["errors"][0]["message"]
        assert "Money" in message, message
        assert "ValueError" not in message, message
        assert "Unexpected error" not in message, message
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_a_reconciliation_day_before_year_1000_is_asked_with_a_four_digit_year(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, sim_admin: httpx.Client
) -> None:
    """Finding 4: the day is checked (each hospital asked for 0187-06-01 00:00:00 to 23:59:59), no error inside."""
    sign_in_operator(gateway)
    query = """
    query { operator { reconciliationCheck(date: "0187-06-01", hospitalId: "253") { date hospitals { status } } } }
    """
    with caplog.at_level(logging.INFO):
        body = await run_graphql(gateway, query)
    assert "errors" not in body, body
    assert body["data"]["operator"]["reconciliationCheck"]["date"] == "0187-06-01"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_an_invalid_date_variable_is_a_validation_error_not_ours(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 3, for strawberry's own scalars as variables: refused by GraphQL, nothing logged as our error."""
    query = "query ($day: Date!) { operator { reconciliationCheck(date: $day) { date } } }"
    with caplog.at_level(logging.INFO):
        response = await gateway.post("/graphql", json={"query": query, "variables": {"day": "20xx-13-45"}})
    body = response.json()
    assert body.get("data") is None, body
    assert "Date" in body["errors"][0]["message"], body
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


STATISTICS = """
query ($from: DateTime!, $to: DateTime!) {
  operator { transactionStatistics(hospitalId: "253", from: $from, to: $to) { hospitalId } }
}
"""


async def test_an_instant_before_year_1000_is_sent_with_a_four_digit_year(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, sim_admin: httpx.Client
) -> None:
    """Finding 5: the hospital is asked (30.1.1 for 0187-06-01 00:00:00 to 0187-06-02 00:00:00); no error inside."""
    sign_in_operator(gateway)
    with caplog.at_level(logging.INFO):
        body = await run_graphql(
            gateway, STATISTICS, **{"from": "0187-06-01T00:00:00+08:00", "to": "0187-06-02T00:00:00+08:00"}
        )
    assert "errors" not in body, body
    assert body["data"]["operator"]["transactionStatistics"] == [{"hospitalId": "253"}]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_an_instant_with_no_beijing_time_is_refused(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 5: 9999-12-31T20:00:00Z is the year 10000 in Beijing: refused with 20004, no error inside."""
    sign_in_operator(gateway)
    with caplog.at_level(logging.INFO):
        body = await run_graphql(gateway, STATISTICS, **{"from": "9999-12-31T20:00:00Z", "to": "9999-12-31T22:00:00Z"})
    assert body["errors"][0]["extensions"]["code"] == "20004", body
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
