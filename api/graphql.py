"""The /graphql endpoint: Strawberry over Starlette with our typed per-request context."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from resolvers.context import Context, Services
from resolvers.schema import Schema
from services.identity.principal import Principal, SessionTokens


def principal_of(request: Request | WebSocket, sessions: SessionTokens) -> Principal | None:
    """Who sent this request: the session token in ``Authorization: Bearer``, or nobody."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return sessions.read(token.strip())


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, services: Services, *, schema: Schema, graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False)
        self._services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context.for_request(self._services, principal=principal_of(request, self._services.sessions))

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        context: Context = kwargs["context"] if "context" in kwargs else args[3]
        try:
            return await super().execute_operation(*args, **kwargs)
        finally:
            context.cancel_leftovers()
