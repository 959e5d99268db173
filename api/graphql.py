"""The /graphql endpoint: Strawberry over Starlette with our typed per-request context.

HTTP behaviour follows the GraphQL-over-HTTP spec, and no input gets a 500 (issue 10 item 9,
issue 12 item 6):

- **Methods.** POST runs operations. GET answers only GraphiQL, in dev mode. Anything else (HEAD,
  PUT, OPTIONS...) is HTTP 405 with ``Allow`` naming what is answered, as a JSON GraphQL error.
- **Bodies.** ``application/json`` (any capitalisation) holding one request object or a batch (a
  list of them). Invalid UTF-8, invalid JSON, JSON nested too deep, a body that is neither an
  object nor a list of objects, ``query`` that is not a non-empty string, ``variables`` or
  ``extensions`` that are not objects, ``operationName`` that is not a string: each is HTTP 400 with
  a GraphQL error whose ``extensions.code`` is the spec's (20001 missing, 20002 wrong type, 20003
  malformed). Another Content-Type is 415.
- **Batches.** At most ``max_operations_per_batch`` operations (else 400, ``BATCH_LIMIT``); a costly
  mutation field appears at most once in the whole batch (else 400, ``COSTLY_FIELD_REPEATED``), as
  within one document (resolvers/limits.py). The batch shares one context, so one budget of
  hospital calls (his_clients/budget.py).
- **Persisted queries.** Apollo's APQ (``extensions.persistedQuery``), or an allowlist of operations
  in production: api/persisted_queries.py.
- **Responses.** ``Accept: application/graphql-response+json`` (preferred over application/json, or
  alone) gets that media type and the spec's statuses: 200 when execution began (``data`` present,
  null or not), 400 for a request error (no ``data``). Otherwise ``application/json``, 200 for every
  well-formed request, as legacy clients expect.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import DocumentNode, GraphQLError, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from his_clients import jsonio
from his_clients.budget import call_budget
from his_clients.guard import call_guard
from resolvers.context import Context, Services
from resolvers.limits import repeated_costly_field
from resolvers.schema import Schema
from services.identity.principal import Principal, SessionTokens

from .graphiql import page_response as graphiql_page
from .persisted_queries import NOT_FOUND as PERSISTED_QUERY_NOT_FOUND
from .persisted_queries import PersistedQueries, PersistedQueryRefused, load_manifest

GRAPHQL_RESPONSE: Final = "application/graphql-response+json"
JSON: Final = "application/json"
MediaType = Literal["application/graphql-response+json", "application/json"]


_PRINCIPAL: Final = "hisgraph.principal"
"""Where a request's scope keeps what its token was read as: the rate limit and the endpoint ask alike."""


def principal_of(request: Request | WebSocket, sessions: SessionTokens) -> Principal | None:
    """Who sent this request: the session token in ``Authorization: Bearer``, or nobody. Read once per request:
    the token's signature is checked once, however many layers ask."""
    scope = request.scope
    if _PRINCIPAL in scope:
        known: Principal | None = scope[_PRINCIPAL]
        return known
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = None if scheme.lower() != "bearer" or not token.strip() else sessions.read(token.strip())
    scope[_PRINCIPAL] = principal
    return principal


@functools.lru_cache(maxsize=256)  # clients send a handful of Accept headers; a flood of others only evicts
def response_media_type(accept: str | None) -> MediaType:
    """The response type the client prefers, by the quality values of its Accept header.

    ``application/graphql-response+json`` when it is accepted at least as gladly as
    ``application/json``; ``application/json`` otherwise, including without Accept or with
    ``*/*`` (legacy clients), and for an Accept that names neither (we answer JSON anyway).
    """
    if not accept:
        return JSON
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        best[media] = max(best.get(media, 0.0), quality)
    graphql_response = best.get(GRAPHQL_RESPONSE, 0.0)
    json_like = max(best.get(JSON, 0.0), best.get("application/*", 0.0), best.get("*/*", 0.0))
    if graphql_response > 0 and graphql_response >= json_like:
        return GRAPHQL_RESPONSE
    return JSON


@dataclass
class RequestRefused(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request: refused before anything runs."""

    status: int
    code: str
    message: str
    allow: str | None = None
    json_status: int | None = None
    """The status for an application/json answer, where it differs (PersistedQueryNotFound: 200, as
    Apollo's and urql's persisted-query clients expect)."""


def refusal_response(refusal: RequestRefused, media_type: MediaType) -> Response:
    body = {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code}}]}
    headers = {"Allow": refusal.allow} if refusal.allow else None
    status = refusal.json_status if media_type == JSON and refusal.json_status else refusal.status
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)


_STRAWBERRY_CODES: Final = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA"}


class _SubResponse(Response):
    """Strawberry's per-request sub-response, carrying the response type this request asked for."""

    media: MediaType = JSON


def _is_request_error(result: ExecutionResult) -> bool:
    """Refused before execution began (parse, validation, variables): no ``data`` entry then."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(not e.path for e in errors)


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, services: Services, *, schema: Schema, graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False)
        self._services = services
        self._limits = schema.limits
        self._graphiql = graphiql
        self._allow = "GET, POST" if graphiql else "POST"
        manifest = schema.limits.persisted_manifest
        self._persisted = PersistedQueries(
            schema.limits.persisted_queries,
            backend=services.his.cache.backend if services.his.cache is not None else None,
            manifest=load_manifest(Path(manifest)) if manifest else None,
        )

    @property
    def persisted_queries(self) -> PersistedQueries:
        """The persisted-query store (how many it holds is a gauge: api/metrics.py)."""
        return self._persisted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        media = response_media_type(request.headers.get("accept"))
        response: Response
        try:
            method = request.method
            if (
                method == "GET"
                and self._graphiql
                and self.should_render_graphql_ide(self.request_adapter_class(request))
            ):
                response = await self.run(request)
            elif method != "POST":
                what = "operations take POST" + ("; GET serves GraphiQL to a browser" if self._graphiql else "")
                raise RequestRefused(
                    405, "METHOD_NOT_ALLOWED", f"/graphql does not answer {method}: {what}", self._allow
                )
            else:
                response = await self._post(request, media)
        except RequestRefused as refusal:
            response = refusal_response(refusal, media)
        except HTTPException as error:  # strawberry's own refusals (unknown operationName...)
            code = _STRAWBERRY_CODES.get(error.status_code, "BAD_REQUEST")
            response = refusal_response(RequestRefused(error.status_code, code, error.reason), media)
        await response(scope, receive, send)

    async def _post(self, request: Request, media: MediaType) -> Response:
        """Strawberry's ``run`` for a POST, in its order (the context, the body, the operations, each result),
        without what this endpoint never uses: a sub-response (no resolver sets headers or a status), the
        WebSocket, GraphiQL and streaming branches, and the test of every result against a runtime Protocol
        (~20 us a request in all)."""
        adapter = self.request_adapter_class(request)
        context = await self.get_context(request, None)  # type: ignore[arg-type]  # no sub-response: see above
        request_data = await self.parse_http_body(adapter)
        result = await self.execute_operation(
            request=request,
            request_adapter=adapter,
            request_data=request_data,
            context=context,
            root_value=None,
            sub_response=None,
        )
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]
        if isinstance(result, list):
            response_data = [await self.process_result(request, one) for one in result]
        else:
            response_data = await self.process_result(request, result)
        return self._response(response_data, media)

    def _response(self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], media: MediaType) -> Response:
        """The answer, as JSON of the type the client asked for: a request error (no ``data``) is 400 under
        ``application/graphql-response+json``, 200 under ``application/json``."""
        response = Response(self.encode_json(response_data), media_type=media)
        if media == GRAPHQL_RESPONSE and isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the gateway's own pinned copies, under a strict CSP: no CDN (api/graphiql.py)."""
        return graphiql_page()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = principal_of(request, self._services.sessions)
        # An operator's token names a stored session: checked here on every request (issue 15 item 10).
        principal = await self._services.operators.sessions.check(principal)
        return Context.for_request(self._services, principal=principal)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = _SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]  # strawberry's marker for "not set"
        del sub_response.headers["content-length"]
        sub_response.media = response_media_type(request.headers.get("accept"))
        return sub_response

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request objects of a POST body, or a ``RequestRefused`` saying what is wrong with it."""
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestRefused(415, "UNSUPPORTED_MEDIA", "/graphql takes application/json bodies")
        body = await request.get_body()
        try:
            if isinstance(body, bytes):
                body.decode("utf-8")  # UTF-8 only (json alone would also read UTF-16 and UTF-32)
            data = jsonio.loads(body)
        except UnicodeDecodeError:
            raise RequestRefused(400, "20003", "the body is not UTF-8") from None
        except (ValueError, RecursionError):
            raise RequestRefused(400, "20003", "the body is not JSON, or is nested too deep") from None
        if isinstance(data, dict):
            return await self._request_data(data, where="the body")
        if not isinstance(data, list):
            raise RequestRefused(400, "20002", "the body must be a JSON object, or a list of them for a batch")
        if not data:
            raise RequestRefused(400, "20001", "the batch holds no operation")
        limit = self._limits.max_operations_per_batch
        if len(data) > limit:
            raise RequestRefused(400, "BATCH_LIMIT", f"a batch holds at most {limit} operations, not {len(data)}")
        items = [await self._request_data(item, where=f"batch item {index}") for index, item in enumerate(data)]
        self._check_costly_fields(items)
        return items

    async def _request_data(self, item: object, *, where: str) -> GraphQLRequestData:
        if not isinstance(item, dict):
            raise RequestRefused(400, "20002", f"{where} must be a JSON object")
        query = item.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestRefused(400, "20002", f"{where}: query must be a string")
        variables = item.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise RequestRefused(400, "20002", f"{where}: variables must be an object")
        operation_name = item.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestRefused(400, "20002", f"{where}: operationName must be a string")
        extensions = item.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise RequestRefused(400, "20002", f"{where}: extensions must be an object")
        try:
            query = await self._persisted.resolve(query or None, extensions)
        except PersistedQueryRefused as refused:
            json_status = 200 if refused.code == PERSISTED_QUERY_NOT_FOUND else None
            raise RequestRefused(400, refused.code, refused.message, json_status=json_status) from None
        if not query:
            raise RequestRefused(400, "20001", f"{where} has no query")
        return GraphQLRequestData(
            query=query, variables=variables, operation_name=operation_name, extensions=extensions, protocol="http"
        )

    def _check_costly_fields(self, items: list[GraphQLRequestData]) -> None:
        """A costly mutation field at most once over the whole batch, as within one document."""
        documents: list[DocumentNode] = []
        for item in items:
            try:
                documents.append(parse(item.query or "", max_tokens=self._limits.max_tokens))
            except GraphQLError:
                continue  # executing it reports the syntax error, as for a single request
        repeated = repeated_costly_field(documents)
        if repeated is not None:
            raise RequestRefused(400, "COSTLY_FIELD_REPEATED", f"{repeated} may appear only once per request")

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        context: Context = kwargs["context"] if "context" in kwargs else args[3]
        # One budget of hospital calls for the whole HTTP request: every operation of a batch shares it.
        limits = self._limits
        anonymous = context.principal is None
        # ...and one guard: every hospital call names only what this caller has proven (his_clients/guard.py).
        with (
            call_budget(limits.max_his_calls_anonymous if anonymous else limits.max_his_calls_per_request),
            call_guard(context.guard_call),
        ):
            try:
                return await super().execute_operation(*args, **kwargs)
            finally:
                context.end()

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if response_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE and _is_request_error(result):
            processed.pop("data", None)  # a request error has no data entry (and answers 400)
        return processed

    def encode_json(self, data: object) -> bytes:
        """The response's JSON, as UTF-8 (his_clients/jsonio.py: orjson where it writes what ``json`` would)."""
        return jsonio.dumps(data)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """Strawberry's ``run`` answers through here (POSTs take ``_post``): as ``_response`` does."""
        return self._response(response_data, sub_response.media if isinstance(sub_response, _SubResponse) else JSON)
