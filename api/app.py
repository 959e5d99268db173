"""The gateway as one ASGI app: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sized
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from his_clients.client import HisClient
from resolvers.context import Services
from resolvers.schedules.slot_ids import SlotIds
from resolvers.schema import build_schema
from services.file_links import FileLinkSigner
from services.identity.accounts import AccountService
from services.identity.client_address import RememberClientAddress
from services.identity.operator_sessions import OperatorSessionPolicy
from services.identity.operators import OperatorService
from services.identity.principal import SessionTokens
from services.identity.real_name import FakeRealNameVerifier
from services.identity.sms import FakeSmsSender, SmsSender
from services.identity.sms_tencent import TencentSmsSender
from services.identity.throttles import Throttles
from services.identity.wechat import WeChatLogin
from services.jobs import JobScheduler
from services.messages.config import DeliveryService
from services.operations.health import hospital_health, publish_forever
from services.payments.orders import PaymentService
from services.payments.providers.base import PaymentProvider
from services.payments.providers.sandbox import SandboxProvider
from services.payments.providers.wechatpay import WeChatPayProvider
from services.payments.worker import OutboxWorker
from services.sealing import LedgerSealer
from services.shims.ledger import seal_bodies
from store.db import Database

from . import files, metrics, tracing, webservice
from . import payments as payments_routes
from .addresses import address_of
from .dashboard import routes as dashboard_routes
from .graphiql import routes as graphiql_routes
from .graphql import GraphQLApp, principal_of
from .guards import RequestGuard
from .logs import RequestIds
from .openapi import OpenApiRoutes
from .overload import LoopLagGuard, overload_max_lag_s
from .paths import NormalisePath
from .ratelimit import MemoryBuckets, RateLimit
from .settings import Settings
from .shims import (
    card_updates,
    cards,
    education,
    insurance,
    internet_hospital,
    messages,
    reconciliation,
    refunds,
    registration_state,
    registration_uploads,
)
from .shims.replay import replay_dispatch
from .survey import make_survey_service
from .survey import routes as survey_routes


async def healthz(request: Request) -> Response:
    """Alive: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the store answers. Hospitals being down does not make us unready, but the body names the degraded
    ones (circuit not closed, failing or slow: services/operations/health.py), read without calling any."""
    services: Services = request.app.state.services
    if not await services.db.ping():
        return JSONResponse({"status": "store unreachable"}, status_code=503)
    degraded = [
        {"hospitalId": h.hospital_id, "because": h.degraded_because}
        for h in await hospital_health(services.his, services.registry)
        if h.degraded
    ]
    # Named only when there are some: {"status": "ready"} is what a quiet region answers.
    return JSONResponse({"status": "ready", "degradedHospitals": degraded} if degraded else {"status": "ready"})


def make_payment_provider(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "wechatpay":
        if settings.wechatpay is None:
            raise ValueError("payment_provider is wechatpay but no wechatpay settings are given")
        return WeChatPayProvider(settings.wechatpay)
    return SandboxProvider()


def create_app(settings: Settings) -> Starlette:
    """Build the gateway. Nothing is read from the environment here: ``settings`` says everything."""
    settings.check_production()  # production with dev-only settings refuses to start, saying why
    metrics_access = settings.metrics_access  # protected without a token refuses here
    tracing.configure()  # the OTEL_* variables; no exporter unless they name one (api/tracing.py)
    metrics.install()  # HIS calls and cache lookups counted (his_clients/observe.py)
    registry = settings.load_registry()
    db = Database(settings.database_url)
    # Refunds' and pushes' bodies as sent, sealed in the inbound ledger for region operators' replays.
    seal_bodies(db, LedgerSealer(settings.ledger_seal_key, ttl=timedelta(days=settings.ledger_seal_days)))
    tracing.instrument_engine(db.engine.sync_engine)
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
    sms: SmsSender = TencentSmsSender(settings.sms) if settings.sms else FakeSmsSender(announce=settings.dev)
    if settings.real_name_verification == "fake" and not settings.dev:
        raise ValueError("real_name_verification = fake is for dev mode only")
    # SMS codes per card and phone, logins per username and address: counted in the store (issue 10 item 2).
    throttles = Throttles(db, secret=settings.session_secret.get_secret_value().encode())
    provider = make_payment_provider(settings)
    payments = PaymentService(
        db=db,
        his=his,
        provider=provider,
        notify_url=f"{settings.public_base_url.rstrip('/')}/payments/notify",
        medical_record_tariff=settings.medical_record_tariff,
    )
    services = Services(
        his=his,
        registry=registry,
        db=db,
        request_deadline_s=settings.request_deadline_s,
        max_hospitals_per_request=settings.graphql_limits.max_hospitals_per_request,
        accounts=AccountService(
            db=db,
            his=his,
            sms=sms,
            wechat=wechat,
            throttles=throttles,
            verifier=FakeRealNameVerifier() if settings.real_name_verification == "fake" else None,
        ),
        operators=OperatorService(
            db,
            throttles=throttles,
            policy=OperatorSessionPolicy(
                lifetime=timedelta(hours=settings.operator_session_hours),
                idle=timedelta(minutes=settings.operator_idle_minutes),
            ),
        ),
        sessions=SessionTokens(settings.session_secret.get_secret_value().encode(), ttl_s=settings.session_ttl_s),
        dev_login=settings.dev,
        national_card_qr_index=settings.national_card_qr_index,
        payments=payments,
        payment_provider=provider,
        slot_ids=SlotIds(settings.ledger_seal_key),
        file_links=FileLinkSigner(
            settings.file_link_secret.get_secret_value().encode(),
            ttl_s=settings.file_link_ttl_s,
            base_url=settings.public_base_url,
        ),
    )
    deliveries = (
        DeliveryService(db=db, config=settings.wechat_official)
        if settings.message_worker_on and settings.wechat_official is not None
        else None
    )
    schema = build_schema(
        limits=settings.graphql_limits, production=not settings.dev, observers=[tracing.ObserveOperations]
    )
    graphql_app = GraphQLApp(services, schema=schema, graphiql=settings.dev)
    # What this process holds in memory, each bounded, as gauges (api/metrics.py LiveGauges).
    buckets = MemoryBuckets() if settings.rate_limits.backend == "memory" else None
    reference_cache = his.cache.backend if his.cache is not None else None
    live_gauges = metrics.LiveGauges(
        his,
        sizes={
            "apq": lambda: len(graphql_app.persisted_queries),
            "his_cache": lambda: len(reference_cache) if isinstance(reference_cache, Sized) else 0,
            "rate_limit": lambda: len(buckets) if buckets is not None else 0,
        },
    )
    surveys = make_survey_service(settings, db)
    jobs = JobScheduler(db=db, his=his, config=settings.jobs, survey_links=surveys.links) if settings.run_jobs else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await db.migrate()
        stop = asyncio.Event()
        gauges_task = asyncio.create_task(live_gauges.run(stop)) if metrics_access != "off" else None
        worker_task = (
            asyncio.create_task(
                OutboxWorker(
                    db=db,
                    his=his,
                    provider=provider,
                    lease=timedelta(seconds=settings.payment_worker_lease_s),
                    retry_scale=settings.payment_retry_scale,
                ).run_forever(stop=stop)
            )
            if settings.run_payment_worker
            else None
        )
        jobs_task = asyncio.create_task(jobs.run_forever(stop=stop)) if jobs is not None else None
        message_task = asyncio.create_task(deliveries.run(stop)) if deliveries is not None else None
        # hospitalHealth across workers: each publishes its breakers and call ring to the shared Redis.
        health_task = (
            asyncio.create_task(publish_forever(his, registry, stop)) if settings.cache_backend == "redis" else None
        )
        try:
            yield
        finally:
            stop.set()
            if gauges_task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(gauges_task, timeout=5)
            if health_task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(health_task, timeout=5)
            if deliveries is not None and message_task is not None:
                await deliveries.stop(message_task)  # what it was sending is resent by the next start
            if jobs_task is not None:
                # A run in progress stops between hospitals; the next start (or another instance) resumes it.
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(jobs_task, timeout=10)
            if worker_task is not None:
                # The worker leaves every job it has not finished to the store: a restart resumes it.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(worker_task, timeout=10)
            # The series this worker added up since it last wrote them (api/metrics.py): written before the
            # clients close, whatever their closing raises.
            metrics.flush()
            await provider.aclose()
            await his.aclose()
            if wechat is not None:
                await wechat.aclose()
            await db.dispose()

    routes = [
        # First: nearly every request is one of its (routes are tried in order; no other path overlaps it).
        Route("/graphql", graphql_app),  # every method reaches it: it answers 405 itself, as a GraphQL error
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *files.routes,
        *payments_routes.routes,
        *cards.routes,
        *card_updates.routes,
        *messages.routes,
        *education.routes,
        *registration_uploads.routes,
        *reconciliation.routes,
        *registration_state.routes,
        *internet_hospital.routes,
        *refunds.routes,
        *insurance.routes,
        *survey_routes,
        webservice.route,
        *dashboard_routes,  # the operators' dashboard page (api/dashboard.py)
    ]
    # The shims' OpenAPI document, generated from the catalog and the shims' own checks (api/openapi.py).
    routes += OpenApiRoutes(routes, server_url=settings.public_base_url).routes
    if settings.dev:
        routes += graphiql_routes  # GraphiQL's pinned assets, no CDN (api/graphiql.py)
    metrics_port: list[Middleware] = []
    if metrics_access != "off":
        secret = settings.metrics_token if metrics_access == "protected" else None
        token = secret.get_secret_value() if secret is not None else None
        endpoint = metrics.metrics_endpoint(store_stats=metrics.StoreStats(db), token=token, live=live_gauges)
        if settings.metrics_port is None:
            routes.append(Route("/metrics", endpoint, methods=["GET"]))
        else:  # its own port (api/metrics.py MetricsPort): none on the main port
            metrics_port.append(Middleware(metrics.MetricsPort, port=settings.metrics_port, endpoint=endpoint))

    def account_key(request: Request) -> str | None:
        """The signed-in account or operator, from the bearer token (no body read, no store call)."""
        principal = principal_of(request, services.sessions)
        return principal.subject if principal is not None else None

    middleware = [
        *metrics_port,  # the metrics port, when set, answers /metrics before anything else runs
        Middleware(RequestIds),  # first: every log line of the request carries its id
        # A lagging loop refuses new requests at once with 503 + Retry-After (health endpoints excepted).
        Middleware(
            LoopLagGuard,
            max_lag_s=overload_max_lag_s(settings.overload_max_lag_ms, production=not settings.dev),
            retry_after_s=settings.overload_retry_after_s,
        ),
        Middleware(tracing.TraceRequests),  # a span per request, under the caller's traceparent (api/tracing.py)
        Middleware(NormalisePath),
        Middleware(RateLimit, settings=settings, account_key=account_key, buckets=buckets),
        Middleware(RequestGuard, settings=settings),  # bounded, typed, same-site bodies (api/guards.py)
        # The client address for counters kept per address (operators' logins), as the rate limits see it.
        Middleware(RememberClientAddress, resolve=lambda scope: address_of(scope, settings.trusted_proxies)),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.redirect_slashes = False
    app.state.services = services
    services.surveys = surveys
    services.replay_inbound = replay_dispatch(app)
    app.state.sms = sms
    app.state.settings = settings
    return app
