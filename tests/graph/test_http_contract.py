"""/graphql speaks the GraphQL-over-HTTP spec: media types, status codes, methods (issue 12 item 6)."""

from __future__ import annotations

import httpx
import pytest

from api.graphql import GRAPHQL_RESPONSE, response_media_type

GOOD = {"query": "{ hospitals { id } }"}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0", "application/json"),
        ("text/html", "application/json"),
        ("application/graphql-response+json;q=oops", "application/json"),
    ],
)
def test_the_response_type_follows_accept(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected


async def test_graphql_response_json_is_answered_with_its_statuses(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 6: with Accept application/graphql-response+json, a request error (syntax,
    validation, variables) is 400 without data; an executed operation is 200, field errors included."""
    headers = {"Accept": "application/graphql-response+json, application/json;q=0.9"}
    ok = await gateway.post("/graphql", json=GOOD, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == GRAPHQL_RESPONSE
    assert ok.json()["data"]["hospitals"]
    for request in (
        {"query": "{ hospitals { id }"},
        {"query": "{ hospitalz { id } }"},
        {"query": "query ($h: String!) { hospitals(hospitalId: $h) { id } }", "variables": {"h": 5}},
        {"query": "query ($h: String!) { hospitals(hospitalId: $h) { id } }"},
    ):
        refused = await gateway.post("/graphql", json=request, headers=headers)
        assert refused.status_code == 400, request
        assert refused.headers["content-type"] == GRAPHQL_RESPONSE
        body = refused.json()
        assert "data" not in body
        assert body["errors"]
    # A field error (unknown hospital) still executed the operation: 200 with data.
    partial = await gateway.post("/graphql", json={"query": '{ hospitals(hospitalId: "999") { id } }'}, headers=headers)
    assert partial.status_code == 200
    assert "data" in partial.json()
    # Refusals before parsing use the asked type too.
    malformed = await gateway.post("/graphql", content=b"[1]", headers={**headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == GRAPHQL_RESPONSE


async def test_application_json_keeps_200_for_well_formed_requests(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 6: legacy clients (application/json, or no Accept) get 200 for every well-formed
    request, validation errors included, with data null as before."""
    body = await gateway.post(
        "/graphql", json={"query": "{ hospitalz { id } }"}, headers={"Accept": "application/json"}
    )
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("application/json")
    assert body.json()["data"] is None


async def test_methods_and_media_types(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 6 and issue 10 item 9: HEAD is not advertised; dev GET serves GraphiQL to a browser and
    405 otherwise; a body that is not JSON is 415; every refusal is a JSON GraphQL error with a code."""
    head = await gateway.head("/graphql")
    assert head.status_code == 405
    assert "HEAD" not in head.headers["allow"]
    ide = await gateway.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()
    api_get = await gateway.get(
        "/graphql", params={"query": "{ hospitals { id } }"}, headers={"Accept": "application/json"}
    )
    assert api_get.status_code == 405
    assert api_get.headers["allow"] == "GET, POST"
    assert api_get.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": content_type} if content_type else {}
        response = await gateway.post("/graphql", content=b'{"query": "{ hospitals { id } }"}', headers=headers)
        assert response.status_code in (403, 415), content_type
        assert response.json()["errors"][0]["extensions"]["code"]
    charset = await gateway.post(
        "/graphql",
        content=b'{"query": "{ hospitals { id } }"}',
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert charset.status_code == 200


async def test_a_batch_is_a_list_of_results(gateway: httpx.AsyncClient) -> None:
    """A batch answers one result per operation, in order, with the asked media type."""
    response = await gateway.post(
        "/graphql", json=[GOOD, {"query": '{ hospital(id: "254") { id } }'}], headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    first, second = response.json()
    assert first["data"]["hospitals"][0]["id"] == "253"
    assert second["data"]["hospital"]["id"] == "254"
