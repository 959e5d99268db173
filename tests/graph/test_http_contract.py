"""/graphql speaks the GraphQL-over-HTTP spec: media types, status codes, methods (issue 12 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from api.graphql import GRAPHQL_RESPONSE, response_media_type
from api.persisted_queries import sha256_of
from api.settings import Settings
from his_clients.registry import Registry
from resolvers.limits import GraphQLLimits
from tests.conftest import running_gateway

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
        "/graphql",
        json=[GOOD, {"query": '{ hospital(hospitalId: "254") { id } }'}],
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    first, second = response.json()
    assert first["data"]["hospitals"][0]["id"] == "253"
    assert second["data"]["hospital"]["id"] == "254"


# -- issue 12 item 7: automatic persisted queries, and the allowlist ---------------------------------------


def _persisted(query: str | None, digest: str) -> dict[str, object]:
    request: dict[str, object] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if query is not None:
        request["query"] = query
    return request


async def test_automatic_persisted_queries(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 7: Apollo's APQ: an unknown hash answers PersistedQueryNotFound (200, as Apollo and urql
    expect), the text with its hash runs and is kept, then the hash alone runs; a wrong hash is refused."""
    query = '{ hospital(hospitalId: "255") { id name } }'
    digest = sha256_of(query)
    unknown = await gateway.post("/graphql", json=_persisted(None, digest))
    assert unknown.status_code == 200
    [error] = unknown.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    first = await gateway.post("/graphql", json=_persisted(query, digest))
    assert first.json()["data"]["hospital"]["id"] == "255"
    again = await gateway.post("/graphql", json=_persisted(None, digest.upper()))
    assert again.json()["data"]["hospital"]["id"] == "255"
    wrong = await gateway.post("/graphql", json=_persisted(query, "0" * 64))
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    for malformed in ({"version": 2, "sha256Hash": digest}, {"version": 1, "sha256Hash": "zz"}, "x"):
        response = await gateway.post("/graphql", json={"extensions": {"persistedQuery": malformed}})
        assert response.status_code == 400, malformed
    # Batches resolve each item's hash too.
    batch = await gateway.post("/graphql", json=[_persisted(None, digest), GOOD])
    assert batch.json()[0]["data"]["hospital"]["id"] == "255"


async def test_the_allowlist_accepts_only_its_operations(region: Registry, tmp_path: Path) -> None:
    """issue 12 item 7: in allowlist mode (production), only the manifest's operations run, by hash or by
    text; any other text is refused before parsing, and nothing is learned from clients."""
    allowed = "query Hospitals { hospitals { id } }"
    manifest = tmp_path / "operations.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": sha256_of(allowed), "name": "Hospitals", "type": "query", "body": allowed}],
            }
        ),
        encoding="utf-8",
    )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'allowlist.sqlite3'}",
        registry=region,
        graphql_limits=GraphQLLimits(persisted_queries="allowlist", persisted_manifest=str(manifest)),
    )
    async with running_gateway(settings, signed_in=False) as client:
        by_hash = await client.post("/graphql", json=_persisted(None, sha256_of(allowed)))
        assert len(by_hash.json()["data"]["hospitals"]) == 5
        by_text = await client.post("/graphql", json={"query": allowed})
        assert len(by_text.json()["data"]["hospitals"]) == 5
        other = '{ hospital(hospitalId: "253") { id } }'
        for request in ({"query": other}, _persisted(other, sha256_of(other)), _persisted(None, sha256_of(other))):
            refused = await client.post("/graphql", json=request)
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


@pytest.mark.redis
async def test_persisted_queries_are_shared_through_redis(region: Registry, tmp_path: Path) -> None:
    """issue 12 item 7: with the cache in Redis, a query registered at one gateway runs by hash at the next
    (a new process: its own memory holds nothing)."""
    import os
    import uuid

    import redis.asyncio

    url = os.environ.get("HISGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    connection = redis.asyncio.Redis.from_url(url)
    try:
        await connection.ping()
    except (OSError, redis.RedisError) as exc:
        await connection.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {url}: {exc}")
    prefix = f"hisgraph-test-{uuid.uuid4().hex}"
    query = '{ hospital(hospitalId: "256") { id } }'
    digest = sha256_of(query)

    def worker() -> Settings:
        return Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}",
            registry=region,
            cache_backend="redis",
            redis_url=url,
            cache_prefix=prefix,
        )

    try:
        async with running_gateway(worker(), signed_in=False) as first:
            assert (await first.post("/graphql", json=_persisted(query, digest))).json()["data"]["hospital"][
                "id"
            ] == "256"
        async with running_gateway(worker(), signed_in=False) as second:
            answer = await second.post("/graphql", json=_persisted(None, digest))
            assert answer.json()["data"]["hospital"]["id"] == "256"
    finally:
        keys = [key async for key in connection.scan_iter(f"{prefix}:*")]
        if keys:
            await connection.delete(*keys)
        await connection.aclose()
