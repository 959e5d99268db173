"""Prometheus metrics: ``/metrics`` in the text format, through ``prometheus-client``.

Several workers (``hisgraph serve --workers N``) share one view: the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` to a
fresh directory before the workers start, each worker writes its series there, and whichever worker answers a
scrape adds them up (``MultiProcessCollector``). Without it, this process's own registry is served.

In that mode a write to the shared files costs a lock, a check of the pid and a pack into the mapped file, and a
HIS call made five of them (in flight up and down, the histogram's sum and bucket, the outcome): the series
recorded on the request path (HIS calls, cache lookups, operations, shim answers) are added up in memory by the
worker's event loop and written at most every ``FLUSH_EVERY_S`` (``_Tally``), when the worker answers a scrape,
and when it stops. A scrape answered by another worker sees this one's counts at most that much later.

Who may scrape (setting ``metrics``): ``public`` (dev's default), ``protected`` with ``Authorization: Bearer
<metrics_token>``, or ``off`` (production's default, unless a metrics port is set): a patient never sees them.
Where (setting ``metrics_port``): on the main port, or, when set, on that port only (``MetricsPort``: the
same server listens on both; the metrics port answers ``/metrics`` and nothing else, the main port no
``/metrics``). The demo serves them on their own port; in production the port can stay off the balancer.

Series:

- ``his_call_seconds{hospital,method}`` (histogram) and ``his_calls_total{hospital,method,code,kind}``: every
  HIS call's latency and outcome, by 附四 code and failure kind (his_clients/observe.py: ``KINDS``);
- ``his_breaker_state{hospital}`` (0 closed, 1 half-open, 2 open; the worst worker's) and
  ``his_inflight_calls{hospital}`` (calls holding or awaiting a bulkhead slot, all workers);
- ``his_cache_lookups_total{hospital,method,result}``: reference-data cache hits and misses;
- ``graphql_operation_seconds{operation}`` and ``graphql_operation_errors_total{operation}``;
- ``shim_calls_total{path,code}``: every answer of the spec's REST shims;
- from the store, at most every ``STORE_STATS_TTL_S`` and only when scraped: ``outbox_jobs_pending``,
  ``outbox_oldest_job_age_seconds``, ``payment_orders{state}``, ``payment_orders_parked``,
  ``outbound_messages{state}``, ``job_runs{result}``;
- what this process holds in memory, each bounded (``LiveGauges``, set every ``SAMPLE_EVERY_S`` and when
  scraped; summed over workers): ``apq_cache_entries`` (persisted queries), ``his_cache_entries`` (cached HIS
  reference replies, memory backend) and ``rate_limit_buckets`` (memory backend).

Labels are bounded: hospitals and methods come from the registry, shim paths from the routes, codes from
附四 (a hospital's code outside it counts as ``other``), and GraphQL operation names pass only when well
formed and among the first ``MAX_OPERATION_NAMES`` (others count as ``other``), so neither a client nor a
hospital can grow the series without end. No label ever carries a request id, a card or a person.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hmac
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from his_clients import observe
from his_clients.codes import ReturnCode
from store.jobs import JobRun
from store.messages import OutboundMessage
from store.orders import Order, OrderState
from store.outbox import JobState, OutboxJob

if TYPE_CHECKING:
    from his_clients.client import HisClient
    from store.db import Database

log = logging.getLogger("hisgraph.metrics")

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_STATS_TTL_S: Final = 10.0
MAX_OPERATION_NAMES: Final = 200
SAMPLE_EVERY_S: Final = 5.0
FLUSH_EVERY_S: Final = 1.0
BREAKER_VALUES: Final = {"closed": 0.0, "half_open": 1.0, "open": 2.0}

HIS_CALL_SECONDS = Histogram(
    "his_call_seconds", "HIS call latency, per hospital and method", ("hospital", "method"), buckets=LATENCY_BUCKETS
)
HIS_CALLS = Counter(
    "his_calls", "HIS calls by outcome: 附四 code and failure kind", ("hospital", "method", "code", "kind")
)
HIS_BREAKER_STATE = Gauge(
    "his_breaker_state", "Circuit breaker per hospital: 0 closed, 1 half-open, 2 open", ("hospital",),
    multiprocess_mode="livemax",
)  # fmt: skip
HIS_INFLIGHT = Gauge(
    "his_inflight_calls", "HIS calls in flight per hospital (bulkhead slots held or awaited)", ("hospital",),
    multiprocess_mode="livesum",
)  # fmt: skip
CACHE_LOOKUPS = Counter(
    "his_cache_lookups", "Reference-data cache lookups per hospital and method", ("hospital", "method", "result")
)
GRAPHQL_SECONDS = Histogram(
    "graphql_operation_seconds", "GraphQL operation duration", ("operation",), buckets=LATENCY_BUCKETS
)
GRAPHQL_ERRORS = Counter("graphql_operation_errors", "GraphQL operations that answered errors", ("operation",))
SHIM_CALLS = Counter("shim_calls", "Shim answers per path and 附四 code", ("path", "code"))
OUTBOX_PENDING = Gauge("outbox_jobs_pending", "Outbox jobs not done yet", multiprocess_mode="mostrecent")
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_job_age_seconds",
    "Age of the oldest pending outbox job (0 when none)",
    multiprocess_mode="mostrecent",
)
ORDERS = Gauge("payment_orders", "Payment orders per state", ("state",), multiprocess_mode="mostrecent")
ORDERS_PARKED = Gauge(
    "payment_orders_parked", "Orders waiting for an operator (PARKED)", multiprocess_mode="mostrecent"
)
MESSAGES = Gauge("outbound_messages", "Messages to patients per state", ("state",), multiprocess_mode="mostrecent")
JOB_RUNS = Gauge("job_runs", "Scheduled job runs per result", ("result",), multiprocess_mode="mostrecent")
APQ_ENTRIES = Gauge(
    "apq_cache_entries", "Automatic persisted queries kept in memory (bounded LRU)", multiprocess_mode="livesum"
)
HIS_CACHE_ENTRIES = Gauge(
    "his_cache_entries", "HIS reference replies cached in memory (bounded LRU; 0 in Redis)", multiprocess_mode="livesum"
)
RATE_LIMIT_BUCKETS = Gauge(
    "rate_limit_buckets", "Rate-limit buckets kept in memory (bounded; 0 with Redis)", multiprocess_mode="livesum"
)
SIZE_GAUGES: Final = {"apq": APQ_ENTRIES, "his_cache": HIS_CACHE_ENTRIES, "rate_limit": RATE_LIMIT_BUCKETS}
"""What ``LiveGauges`` may be given a size for, by name."""
_KNOWN_CODES: Final = frozenset(code.value for code in ReturnCode)


def code_label(code: str, *, ours: bool = True) -> str:
    """A 附四 code as is; with ``ours``, also our own codes (upper-case words: ``HIS_TIMEOUT``, ``HTTP_502``);
    anything else (a hospital's own code, a typo) is ``other``."""
    if code in _KNOWN_CODES:
        return code
    if ours and len(code) <= 40 and code.replace("_", "").isalnum() and code.isascii() and code.isupper():
        return code
    return "other"


_breaker_written: dict[str, float] = {}
"""The value last written to each hospital's breaker gauge by this process."""


class _Tally:
    """What this worker's event loop recorded since it last wrote to the shared files (multi-process mode only:
    see the module). Only the loop that holds the tally adds to it; a call from another thread, or with no loop
    running, writes at once, as does everything while the tally is off."""

    __slots__ = ("counts", "histograms", "loop", "on", "timer")

    def __init__(self) -> None:
        self.on = False
        self.counts: dict[Counter | Gauge, float] = {}
        """A counter's or a gauge's child: what to add to it."""
        self.histograms: dict[Histogram, list[float]] = {}
        """A histogram's child: [sum of the observations, then how many fell in each bucket (not cumulative)]."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timer: asyncio.TimerHandle | None = None

    def here(self) -> bool:
        """Whether this call may add to the tally (its writing then scheduled on this loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if loop is not self.loop:
            held = self.loop
            if held is not None and held.is_running():
                return False  # another thread's loop holds it
            flush()  # a finished loop's tally (tests run several): written now, in this thread
            self.loop = loop
        if self.timer is None:
            self.timer = loop.call_later(FLUSH_EVERY_S, flush)
        return True


_tally = _Tally()


def defer_writes(on: bool) -> None:
    """Add up the request path's series in memory and write them every ``FLUSH_EVERY_S`` (``install`` turns it on
    in multi-process mode), or, turning it off, write what is pending and every later value at once."""
    if not on:
        flush()
    _tally.on = on


def flush() -> None:
    """Write what the tally holds to the series (the shared files in multi-process mode)."""
    tally = _tally
    if tally.timer is not None:
        tally.timer.cancel()
        tally.timer = None
    counts, histograms = tally.counts, tally.histograms
    if not counts and not histograms:
        return
    tally.counts, tally.histograms = {}, {}
    try:
        for child, amount in counts.items():
            if amount:  # in flight up and down again: nothing to write
                child.inc(amount)
        for histogram, (total, *in_bucket) in histograms.items():
            # What Histogram.observe does for each observation (prometheus-client 0.26, pinned; the equality is
            # tests/observability/test_metrics_tally.py's): the sum, and the first bucket whose bound holds it.
            histogram._sum.inc(total)
            for bucket, count in zip(histogram._buckets, in_bucket, strict=True):
                if count:
                    bucket.inc(count)
    except Exception:  # a metric is not worth a worker (a full disk under the shared directory): say so, go on
        log.warning("metrics not written", exc_info=True)


def _tallied() -> bool:
    """Whether what is recorded now goes through the tally (asked once per recording: ``here`` asks for the running
    loop, and Python 3.11's check of it costs a ``getpid`` system call)."""
    return _tally.on and _tally.here()


def _count(child: Counter | Gauge, amount: float, tallied: bool) -> None:
    """``child.inc(amount)``, through the tally when ``tallied`` (``_tallied()``, asked once per recording)."""
    if tallied:
        counts = _tally.counts
        counts[child] = counts.get(child, 0.0) + amount
    else:
        child.inc(amount)


def _observe(child: Histogram, amount: float, tallied: bool) -> None:
    """``child.observe(amount)``, through the tally when ``tallied``."""
    if tallied:
        tally = _tally.histograms.get(child)
        bounds = child._upper_bounds
        if tally is None:
            tally = _tally.histograms[child] = [0.0] * (len(bounds) + 1)
        tally[0] += amount
        tally[1 + bisect.bisect_left(bounds, amount)] += 1  # the first bound >= amount, as observe's loop finds
    else:
        child.observe(amount)


class _Recorder:
    """The series of one (hospital, method), bound once; outcome children cached per (code, kind)."""

    __slots__ = ("_breaker", "_hospital", "_inflight", "_latency", "_method", "_outcomes")

    def __init__(self, hospital_id: str, method: str) -> None:
        self._hospital = hospital_id
        self._method = method
        self._latency = HIS_CALL_SECONDS.labels(hospital_id, method)
        self._inflight = HIS_INFLIGHT.labels(hospital_id)
        self._breaker = HIS_BREAKER_STATE.labels(hospital_id)
        self._outcomes: dict[tuple[str, str], Counter] = {}

    def started(self) -> None:
        _count(self._inflight, 1.0, _tallied())

    def finished(self, seconds: float, code: str, kind: str, breaker_state: str) -> None:
        tallied = _tallied()
        _count(self._inflight, -1.0, tallied)
        _observe(self._latency, seconds, tallied)
        outcome = self._outcomes.get((code, kind))
        if outcome is None:
            # A refusal's code is the hospital's own text: only 附四's codes pass. Other kinds' codes are ours.
            label = code_label(code, ours=False) if kind == "rejected" else code
            outcome = self._outcomes.get((label, kind))
            if outcome is None:
                outcome = HIS_CALLS.labels(self._hospital, self._method, label, kind)
            if len(self._outcomes) < 256:  # a hospital sending ever new codes cannot grow this either
                self._outcomes[(code, kind)] = outcome
        _count(outcome, 1.0, tallied)
        # The breaker's gauge is written when its value changes, not after every call: a set costs as much as an
        # observation (a lock, and a write to the shared file under several workers). One note per hospital,
        # shared by its methods' recorders, since they share the gauge.
        value = BREAKER_VALUES.get(breaker_state, 0.0)
        if _breaker_written.get(self._hospital) != value:
            self._breaker.set(value)
            _breaker_written[self._hospital] = value


class HisCallMetrics:
    """``observe.CallMetrics`` on Prometheus: what ``observe.install`` is given."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, bool], Counter] = {}

    def bind(self, hospital_id: str, method: str) -> _Recorder:
        return _Recorder(hospital_id, method)

    def cache_lookup(self, method: str, hit: bool, hospital_id: str = "") -> None:
        key = (hospital_id, method, hit)
        child = self._cache.get(key)
        if child is None:
            child = self._cache[key] = CACHE_LOOKUPS.labels(hospital_id, method, "hit" if hit else "miss")
        _count(child, 1.0, _tallied())


_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_operation_children: dict[str, tuple[Histogram, Counter]] = {}


def record_operation(name: str | None, seconds: float, *, failed: bool) -> None:
    """One GraphQL operation's duration, and whether it answered errors (labels bounded: see the module)."""
    label = name or "anonymous"
    children = _operation_children.get(label)
    if children is None:
        if not _OPERATION_NAME.fullmatch(label) or len(_operation_children) >= MAX_OPERATION_NAMES:
            label = "other"
            children = _operation_children.get(label)
        if children is None:
            children = _operation_children[label] = (GRAPHQL_SECONDS.labels(label), GRAPHQL_ERRORS.labels(label))
    tallied = _tallied()
    _observe(children[0], seconds, tallied)
    if failed:
        _count(children[1], 1.0, tallied)


def record_shim(path: str, code: str) -> None:
    _count(SHIM_CALLS.labels(path, code if code == "none" else code_label(code)), 1.0, _tallied())


class StoreStats:
    """Counts read from the store when scraped, at most every ``ttl_s`` (one scrape's queries, not per request)."""

    def __init__(self, db: Database, *, ttl_s: float = STORE_STATS_TTL_S) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._read_at = float("-inf")
        self._seen: dict[Gauge, set[str]] = {MESSAGES: set(), JOB_RUNS: set()}

    async def refresh(self) -> None:
        now = time.monotonic()
        if now - self._read_at < self._ttl_s:
            return
        self._read_at = now
        async with self._db.session() as session:
            pending = (
                await session.execute(
                    select(func.count(), func.min(OutboxJob.created_at)).where(OutboxJob.state != JobState.DONE.value)
                )
            ).one()
            orders = (await session.execute(select(Order.state, func.count()).group_by(Order.state))).all()
            messages = (
                await session.execute(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state))
            ).all()
            runs = (await session.execute(select(JobRun.state, func.count()).group_by(JobRun.state))).all()
        OUTBOX_PENDING.set(pending[0])
        oldest: datetime | None = pending[1]
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        OUTBOX_OLDEST_AGE.set(max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest else 0.0)
        by_state = {str(state): int(count) for state, count in orders}
        for order_state in OrderState:
            ORDERS.labels(order_state.value).set(by_state.get(order_state.value, 0))
        ORDERS_PARKED.set(by_state.get(OrderState.PARKED.value, 0))
        self._set_counts(MESSAGES, {str(state): int(count) for state, count in messages})
        self._set_counts(JOB_RUNS, {str(state): int(count) for state, count in runs})

    def _set_counts(self, gauge: Gauge, counts: Mapping[str, int]) -> None:
        """Each state's count; a state seen before and gone now reads 0, not its last count."""
        seen = self._seen[gauge]
        seen.update(counts)
        for state in seen:
            gauge.labels(state).set(counts.get(state, 0))


def registry_for_scrape() -> CollectorRegistry:
    """Every worker's series when ``PROMETHEUS_MULTIPROC_DIR`` is set, else this process's."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        forget_dead_workers(directory)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class LiveGauges:
    """This worker's gauges that change without a call: breaker states (a breaker opens or half-opens with
    time, between calls) and the sizes of what it holds in memory. Set when this worker answers a scrape and
    every ``SAMPLE_EVERY_S`` in each worker (``run``), so a scrape answered by another worker is current too."""

    def __init__(self, his: HisClient | None = None, sizes: Mapping[str, Callable[[], int]] | None = None) -> None:
        unknown = set(sizes or {}) - set(SIZE_GAUGES)
        if unknown:
            raise ValueError(f"no size gauge for {sorted(unknown)}")
        self._his = his
        self._sizes = dict(sizes or {})

    def refresh(self) -> None:
        his = self._his
        if his is not None:
            for hospital_id in his.registry.by_id:
                HIS_BREAKER_STATE.labels(hospital_id).set(BREAKER_VALUES.get(str(his.circuit_state(hospital_id)), 0.0))
        for name, size in self._sizes.items():
            SIZE_GAUGES[name].set(size())

    async def run(self, stop: asyncio.Event, *, every_s: float = SAMPLE_EVERY_S) -> None:
        while not stop.is_set():
            try:
                self.refresh()
            except Exception:  # a gauge is not worth a worker: say so and go on
                log.warning("live gauges not refreshed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)


def metrics_endpoint(
    *,
    store_stats: StoreStats,
    token: str | None,
    his: HisClient | None = None,
    live: LiveGauges | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """The ``/metrics`` endpoint; with ``token``, only for ``Authorization: Bearer <token>``."""
    live = live if live is not None else LiveGauges(his)

    async def endpoint(request: Request) -> Response:
        if token is not None and not bearer_matches(request, token):
            return PlainTextResponse("unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            await store_stats.refresh()
        except Exception:  # the store down: the HIS series still answer (readyz says the store is down)
            log.warning("store statistics unavailable", exc_info=True)
        live.refresh()
        flush()  # this worker's own counts are current; the others' at most FLUSH_EVERY_S old
        return Response(generate_latest(registry_for_scrape()), media_type=CONTENT_TYPE_LATEST)

    return endpoint


def serving_port(scope: Scope) -> int | None:
    """The local port a request came in on (uvicorn's ``scope["server"]``), or None (a Unix socket, a test)."""
    server = scope.get("server")
    return int(server[1]) if server and len(server) > 1 and server[1] is not None else None


class MetricsPort:
    """ASGI middleware (outermost) for ``metrics_port``: a request on that port is answered ``/metrics`` (GET)
    and nothing else, before any other middleware (no rate limit, no overload refusal, no request log); a
    request on any other port goes on to the app, which has no ``/metrics`` route then."""

    def __init__(self, app: ASGIApp, *, port: int, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = app
        self.port = port
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or serving_port(scope) != self.port:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response: Response
        if scope["path"] != "/metrics":
            response = PlainTextResponse("not found: this port serves /metrics only\n", status_code=404)
        elif scope["method"] not in ("GET", "HEAD"):
            response = PlainTextResponse("method not allowed\n", status_code=405, headers={"Allow": "GET"})
        else:
            response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def install() -> None:
    """Count HIS calls and cache lookups from now on (idempotent); in multi-process mode through the tally."""
    _breaker_written.clear()  # fresh recorders write every breaker's gauge again
    defer_writes(bool(os.environ.get(MULTIPROC_ENV)))
    observe.install(HisCallMetrics())


def forget_dead_workers(directory: str) -> None:
    """Drop the live gauges (breakers, in-flight calls) of workers that are gone, so a crashed or replaced worker's
    last values stop counting. Counters and histograms keep what dead workers counted, as Prometheus expects."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            prometheus_multiprocess.mark_process_dead(int(pid), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
