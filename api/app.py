"""The gateway as one ASGI app: ``create_app(settings)``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from his_clients.client import HisClient
from resolvers.context import Services
from resolvers.schema import build_schema
from services.file_links import FileLinkSigner
from services.identity.accounts import AccountService
from services.identity.operators import OperatorService
from services.identity.principal import SessionTokens
from services.identity.sms import FakeSmsSender
from services.identity.wechat import WeChatLogin
from store.db import Database

from . import files
from .graphql import GraphQLApp
from .paths import NormalisePath
from .ratelimit import RateLimit
from .settings import Settings
from .shims import cards


async def healthz(request: Request) -> Response:
    """Alive: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the store answers. Hospitals being down does not make us unready."""
    services: Services = request.app.state.services
    if await services.db.ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "store unreachable"}, status_code=503)


def create_app(settings: Settings) -> Starlette:
    """Build the gateway. Nothing is read from the environment here: ``settings`` says everything."""
    registry = settings.load_registry()
    db = Database(settings.database_url)
    his = HisClient(
        registry,
        backend=settings.http_backend,
        breaker_threshold=settings.breaker_threshold,
        breaker_reset_s=settings.breaker_reset_s,
        cache=settings.make_cache(),
    )
    wechat = (
        WeChatLogin(
            appid=settings.wechat_appid,
            secret=settings.wechat_secret.get_secret_value(),
            base_url=settings.wechat_base_url,
        )
        if settings.wechat_secret is not None and settings.wechat_appid
        else None
    )
    sms = FakeSmsSender(announce=settings.dev)
    services = Services(
        his=his,
        registry=registry,
        db=db,
        request_deadline_s=settings.request_deadline_s,
        max_hospitals_per_request=settings.graphql_limits.max_hospitals_per_request,
        accounts=AccountService(db=db, his=his, sms=sms, wechat=wechat),
        operators=OperatorService(db),
        sessions=SessionTokens(settings.session_secret.get_secret_value().encode(), ttl_s=settings.session_ttl_s),
        dev_login=settings.dev,
        file_links=FileLinkSigner(
            settings.file_link_secret.get_secret_value().encode(), ttl_s=settings.file_link_ttl_s
        ),
    )
    schema = build_schema(limits=settings.graphql_limits, production=not settings.dev)
    graphql_app = GraphQLApp(services, schema=schema, graphiql=settings.dev)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await db.migrate()
        try:
            yield
        finally:
            await his.aclose()
            if wechat is not None:
                await wechat.aclose()
            await db.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        *files.routes,
        *cards.routes,
    ]
    middleware = [Middleware(NormalisePath), Middleware(RateLimit, settings=settings)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.sms = sms
    app.state.settings = settings
    return app
