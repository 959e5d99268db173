"""One async call path for every HIS method: build, send, read the envelope, parse leniently.

    client = HisClient(registry)
    bills = await client.call(QUERY_WAIT_PAY, "253", QueryWaitPayRequest(...), deadline=...)

``deadline`` is an absolute time on the event loop's clock (``loop.time()``), a required keyword of
every call (``call``, ``call_for_hospitals``, ``open_file_stream``), so that mypy finds a call made
without one; ``None`` is said out loud (tests, tools) and leaves only the hospital's ``timeout_s``.
Each call also keeps its hospital's own ``timeout_s``. Failures are raised as the tree in ``errors.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from . import budget, guard, jsonio, observe
from .caching import ReferenceCache
from .envelope import read_envelope
from .errors import (
    HisCircuitOpen,
    HisConnectError,
    HisError,
    HisHttpError,
    HisNotOpened,
    HisProtocolError,
    HisRejected,
    HisTimeout,
    HisUnavailable,
)
from .file_streams import FILE_ERROR_BODY_LIMIT, FileStream, open_stream
from .method import Access, Envelope, HisMethod, ReplyT, RequestT
from .registry import Hospital, Registry, Upstream
from .resilience import Bulkhead, CircuitBreaker, CircuitState, Clock, GatewaySaturated, HospitalClock
from .soap import SoapTransport
from .transport import (
    HttpBackend,
    HttpJsonTransport,
    RawReply,
    Transport,
    TransportConnectError,
    TransportProtocolError,
    TransportTimeout,
)

log = logging.getLogger("hisgraph.his")

READ_RETRIES = 1
"""Reads are retried once after a broken connection or a 5xx, if the deadline allows."""

LATENCY_WEIGHT = 0.2
"""Weight of the newest call in each hospital's moving-average latency."""


def _encode(wire: dict[str, Any]) -> bytes:
    return jsonio.dumps(wire)


def describe_validation_error(error: ValidationError) -> str:
    """Where the reply failed to validate, without the values (they may be personal data)."""
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or '<data>'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)[:5]
    ]
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def addressed(wire: dict[str, Any], hospital_id: str) -> dict[str, Any]:
    """The body with ``hospitalId`` set to the hospital called; a request whose hospitalId is ``""`` sends
    none: 40.1.2 and 41.1.2 "如果接口…未返回hospitalId字段…则调用此接口时不会传递此参数"."""
    if wire.get("hospitalId") == "":
        return {key: value for key, value in wire.items() if key != "hospitalId"}
    return {**wire, "hospitalId": hospital_id}


class HisClient:
    """Calls hospitals' HIS methods, one breaker per hospital and one bulkhead per upstream."""

    def __init__(
        self,
        registry: Registry,
        *,
        backend: HttpBackend = "lean",
        breaker_threshold: int = 5,
        breaker_reset_s: float = 10.0,
        clock: Clock = time.monotonic,
        transports: Mapping[str, Transport] | None = None,
        cache: ReferenceCache | None = None,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self._backend: HttpBackend = backend
        self._breaker_threshold = breaker_threshold
        self._breaker_reset_s = breaker_reset_s
        self._clock = clock
        self._transports: dict[str, Transport] = dict(transports or {})
        self._bulkheads: dict[str, Bulkhead] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._latency_s: dict[str, float] = {}
        self._closed = False

    # -- public -------------------------------------------------------------------------------

    async def call(
        self,
        method: HisMethod[RequestT, ReplyT],
        hospital_id: str,
        request: RequestT,
        *,
        deadline: float | None,
    ) -> ReplyT:
        """Call ``method`` at one hospital and return its parsed reply."""
        hospital = self._hospital(method, hospital_id)
        await guard.check(method.name, request)  # the request's guard: whom this caller may name, if any
        # Every example in the spec carries hospitalId; regional HIS need it to tell hospitals apart.
        wire = addressed(request.to_wire(), hospital_id)
        if method.envelope is Envelope.FILE:
            data = await self._exchange(method, hospital, wire, deadline=deadline)
            return self._parse(method, hospital_id, data)
        body = _encode(wire)
        cache = self.cache
        ttl_s = cache.ttl_for(method.name, wire) if cache is not None and method.access is Access.READ else None
        if cache is None or ttl_s is None:
            data = await self._exchange(method, hospital, body, deadline=deadline)
        else:
            data = await cache.get_or_load(
                hospital_id=hospital_id,
                method=method.name,
                body=body,
                ttl_s=ttl_s,
                load=lambda: self._exchange(method, hospital, body, deadline=deadline),
            )
        return self._parse(method, hospital_id, data)

    async def call_for_hospitals(
        self,
        method: HisMethod[RequestT, ReplyT],
        hospital_ids: list[str],
        request: RequestT,
        *,
        deadline: float | None,
    ) -> ReplyT:
        """One call carrying ``hospitalId: "id1,id2"`` to the regional endpoint they share.

        Only for ``method.multi_hospital`` methods; the caller splits the records by their hospitalId.
        """
        if not method.multi_hospital:
            raise ValueError(f"{method.name} does not take several hospital ids in one call")
        hospitals = [self._hospital(method, hospital_id) for hospital_id in hospital_ids]
        await guard.check(method.name, request)
        if len({h.endpoint for h in hospitals}) != 1 or hospitals[0].endpoint is None:
            raise ValueError("hospitals of one call must share one regional endpoint")
        label = ",".join(hospital_ids)
        body = _encode({**request.to_wire(), "hospitalId": label})
        data = await self._exchange(method, hospitals[0], body, deadline=deadline, label=label)
        return self._parse(method, label, data)

    async def open_file_stream(
        self,
        method: HisMethod[RequestT, Any],
        hospital_id: str,
        request: RequestT,
        *,
        deadline: float | None,
    ) -> FileStream:
        """Open a file method's byte stream (16.1.4: a GET with query parameters and no envelope).

        A JSON answer is the hospital refusing, raised as the usual HisError (10002 as HisNoData).
        """
        if method.envelope is not Envelope.FILE:
            raise ValueError(f"{method.name} does not answer a file stream")
        hospital = self._hospital(method, hospital_id)
        await guard.check(method.name, request)
        breaker = self._breaker(hospital.id)
        if not breaker.allow():
            raise HisCircuitOpen(
                "failing repeatedly; not called until it recovers", hospital_id=hospital_id, method=method.name
            )
        upstream = self.registry.upstream(hospital)
        params = {key: str(value) for key, value in addressed(request.to_wire(), hospital_id).items()}
        try:
            stream = await open_stream(
                upstream.url_for(method.name),
                params,
                timeout_s=min(upstream.timeout_s, max(self._time_left(deadline), 0.001)),
                hospital_id=hospital_id,
                label=method.name,
            )
            if stream.status != 200 or stream.content_type.lower().startswith("application/json"):
                await self._raise_refusal(stream, method, hospital_id)
        except HisRejected:
            breaker.record_success()  # a refusal is an answer: the hospital is alive
            raise
        except HisError:
            breaker.record_failure()
            raise
        except BaseException:
            breaker.release_trial()
            raise
        breaker.record_success()
        return stream

    async def open_url_stream(self, hospital_id: str, url: str, *, what: str) -> FileStream:
        """Open a file a hospital named by URL (pdfUrl, reportUrl, a PACS image URL).

        Only on the hospital's registered ``file_hosts``, and redirects are never followed: a HIS
        reply must not be able to send the gateway anywhere else. ``what`` names the method whose
        reply held the URL, for errors and logs. Any status but 200 is a HisHttpError.
        """
        hospital = self.registry.hospital(hospital_id)
        if hospital is None or not hospital.allows_file_url(url):
            raise ValueError(f"hospital {hospital_id}: {url!r} is not on its registered file hosts")
        stream = await open_stream(url, None, timeout_s=hospital.timeout_s, hospital_id=hospital_id, label=what)
        if stream.status != 200:
            await stream.aclose()
            raise HisHttpError(f"HTTP {stream.status}", hospital_id=hospital_id, method=what, status=stream.status)
        return stream

    async def _raise_refusal(self, stream: FileStream, method: HisMethod[Any, Any], hospital_id: str) -> None:
        """A file method that answered something other than a file: raise what it means."""
        try:
            body = b""
            if stream.content_type.lower().startswith("application/json"):
                async for chunk in stream.chunks():
                    body += chunk
                    if len(body) > FILE_ERROR_BODY_LIMIT:
                        break
        finally:
            await stream.aclose()
        if body and len(body) <= FILE_ERROR_BODY_LIMIT:
            read_envelope(body, method=method, hospital_id=hospital_id)
            if stream.status == 200:
                raise HisProtocolError("expected a file, got a JSON reply", hospital_id=hospital_id, method=method.name)
        raise HisHttpError(f"HTTP {stream.status}", hospital_id=hospital_id, method=method.name, status=stream.status)

    def expected_latency_s(self, hospital_id: str) -> float:
        """How long this hospital's calls have lately taken (a moving average; 0 before the first call).

        Fan-outs send to the slowest hospitals first: the slowest answer decides when a fan-out ends,
        so its request should not wait behind fifty others to go out.
        """
        return self._latency_s.get(hospital_id, 0.0)

    def circuit_state(self, hospital_id: str) -> CircuitState:
        return self._breaker(hospital_id).state

    def circuit_since(self, hospital_id: str) -> float | None:
        """Wall-clock time at which the hospital's breaker opened or half-opened; None while closed (or unused)."""
        breaker = self._breakers.get(hospital_id)
        entered = None if breaker is None else breaker.entered_state_at()
        if breaker is None or entered is None:
            return None
        return time.time() - (breaker.clock() - entered)

    def in_flight(self, upstream_key: str) -> int:
        """Calls in flight to one upstream (a hospital's own HIS, or a regional endpoint) against its bulkhead."""
        bulkhead = self._bulkheads.get(upstream_key)
        return 0 if bulkhead is None else bulkhead.in_flight

    async def aclose(self) -> None:
        self._closed = True  # a call still unwinding must not open a new connection pool now
        transports, self._transports = self._transports, {}
        await asyncio.gather(*(t.aclose() for t in transports.values()), return_exceptions=True)
        if self.cache is not None:
            await self.cache.aclose()

    async def __aenter__(self) -> HisClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the call path ------------------------------------------------------------------------

    def _hospital(self, method: HisMethod[Any, Any], hospital_id: str) -> Hospital:
        hospital = self.registry.hospital(hospital_id)
        if hospital is None:
            raise HisRejected(
                "医院信息不存在: not in the registry",
                hospital_id=hospital_id,
                method=method.name,
                code="60001",
            )
        if not hospital.has_opened(method.name):
            raise HisNotOpened(hospital_id=hospital_id, method=method.name)
        return hospital

    @observe.his_call  # a span and the call's metrics (his_clients/observe.py)
    async def _exchange(
        self,
        method: HisMethod[Any, Any],
        hospital: Hospital,
        payload: bytes | dict[str, str],
        *,
        deadline: float | None,
        label: str | None = None,
    ) -> Any:
        hospital_id = label or hospital.id
        budget.charge(hospital_id=hospital_id, method=method.name)  # the request's budget of calls, if any
        breaker = self._breaker(hospital.id)
        if not breaker.allow():
            raise HisCircuitOpen(
                "failing repeatedly; not called until it recovers",
                hospital_id=hospital_id,
                method=method.name,
            )
        upstream = self.registry.upstream(hospital)
        attempts = 1 + (READ_RETRIES if method.access is Access.READ else 0)
        started = time.perf_counter()
        outcome = "ok"
        try:
            for attempt in range(attempts):
                try:
                    raw = await self._send(method, upstream, payload, hospital_id=hospital_id, deadline=deadline)
                    data = self._read(method, raw, hospital_id)
                except (HisConnectError, HisHttpError) as exc:
                    retryable = not isinstance(exc, HisHttpError) or exc.status >= 500
                    if attempt + 1 < attempts and retryable and self._time_left(deadline) > 0.05:
                        continue
                    raise
                breaker.record_success()
                return data
            raise AssertionError("unreachable")  # pragma: no cover
        except HisRejected as exc:
            breaker.record_success()  # a refusal is an answer: the hospital is alive
            outcome = f"rejected:{exc.code}"
            raise
        except GatewaySaturated as exc:
            breaker.release_trial()  # our own queue ran out of time: says nothing about the hospital
            outcome = exc.code
            raise
        except (HisUnavailable, HisProtocolError) as exc:
            breaker.record_failure()
            outcome = exc.code
            raise
        except BaseException:
            breaker.release_trial()
            outcome = "cancelled"
            raise
        finally:
            elapsed = time.perf_counter() - started
            previous = self._latency_s.get(hospital.id)
            self._latency_s[hospital.id] = (
                elapsed if previous is None else previous + LATENCY_WEIGHT * (elapsed - previous)
            )
            log.info(
                "his call",
                extra={
                    "hospital_id": hospital_id,
                    "method": method.name,
                    "outcome": outcome,
                    "ms": round(elapsed * 1000, 2),
                },
            )

    def _time_left(self, deadline: float | None) -> float:
        if deadline is None:
            return float("inf")
        return deadline - asyncio.get_running_loop().time()

    async def send_unparsed(
        self,
        method: HisMethod[Any, Any],
        upstream: Upstream,
        payload: bytes,
        *,
        hospital_id: str,
        deadline: float | None,
    ) -> RawReply:
        """The hospital's reply as it came, before any lenient reading: for the go-live probe (services/probe.py),
        which judges the raw reply against the spec. Same transport, bulkhead and deadline; no cache, no breaker."""
        return await self._send(method, upstream, payload, hospital_id=hospital_id, deadline=deadline)

    async def _send(
        self,
        method: HisMethod[Any, Any],
        upstream: Upstream,
        payload: bytes | dict[str, str],
        *,
        hospital_id: str,
        deadline: float | None,
    ) -> RawReply:
        """POST the JSON body, or GET with query parameters for file streams (16.1.4)."""
        # Time queued in the gateway is never the hospital's (issue 13 item 3): a deadline gone before sending,
        # or spent waiting for one of this upstream's connections, is GatewaySaturated, not a breaker failure;
        # the hospital's timeout runs from sending, less the loop's stalls (resilience.HospitalClock).
        timeout_s = min(upstream.timeout_s, self._time_left(deadline))
        if timeout_s <= 0:
            raise GatewaySaturated(
                "the request's deadline passed before calling", hospital_id=hospital_id, method=method.name
            )
        transport = self._transport(upstream)
        bulkhead = self._bulkhead(upstream)
        if not bulkhead.try_acquire():  # a free place is taken at once, without arming a timer for the wait
            try:
                async with asyncio.timeout(timeout_s):
                    await bulkhead.acquire()
            except TimeoutError:
                raise GatewaySaturated(
                    "queued for a connection until the time ran out", hospital_id=hospital_id, method=method.name
                ) from None
        clock = HospitalClock(upstream.timeout_s, deadline)
        try:
            async with clock:
                url = upstream.url_for(method.name)
                if isinstance(payload, dict):
                    return await transport.get(url, payload, timeout_s=timeout_s)
                if isinstance(transport, SoapTransport):  # a WebService HIS: by method, not by URL
                    return await transport.call(method.name, payload, timeout_s=timeout_s)
                return await transport.post_json(url, payload, timeout_s=timeout_s)
        except (TimeoutError, TransportTimeout):
            if clock.gateways_fault():
                raise GatewaySaturated(
                    "the gateway's loop stalled until the time ran out", hospital_id=hospital_id, method=method.name
                ) from None
            raise HisTimeout(
                f"no answer within {clock.hospital_s():.2f}s", hospital_id=hospital_id, method=method.name
            ) from None
        except TransportConnectError as exc:
            raise HisConnectError(str(exc), hospital_id=hospital_id, method=method.name) from None
        except TransportProtocolError as exc:  # too large, unsafe XML, a SOAP Fault (its faultstring masked)
            raise HisProtocolError(str(exc), hospital_id=hospital_id, method=method.name) from None
        finally:
            bulkhead.release()

    def _read(self, method: HisMethod[Any, Any], raw: RawReply, hospital_id: str) -> Any:
        if raw.status != 200:
            raise HisHttpError(f"HTTP {raw.status}", hospital_id=hospital_id, method=method.name, status=raw.status)
        if method.envelope is Envelope.FILE:
            if raw.content_type.lower().startswith("application/json"):
                # A file method answering JSON is refusing; an envelope that claims success is no file.
                read_envelope(raw.body, method=method, hospital_id=hospital_id)
                raise HisProtocolError("expected a file, got a JSON reply", hospital_id=hospital_id, method=method.name)
            return raw.body
        return read_envelope(raw.body, method=method, hospital_id=hospital_id)

    @staticmethod
    def _parse(method: HisMethod[Any, ReplyT], hospital_id: str, data: Any) -> ReplyT:
        try:
            return method.parse_reply(data)
        except ValidationError as exc:
            raise HisProtocolError(
                f"data did not validate: {describe_validation_error(exc)}",
                hospital_id=hospital_id,
                method=method.name,
            ) from None

    # -- per-upstream state -------------------------------------------------------------------

    def _transport(self, upstream: Upstream) -> Transport:
        transport = self._transports.get(upstream.key)
        if transport is None:
            if self._closed:
                raise HisUnavailable("the client is shut down", hospital_id=upstream.key, method="")
            if upstream.soap is not None:
                transport = SoapTransport(
                    upstream.soap,
                    dict(upstream.method_paths),
                    backend=self._backend,
                    max_connections=upstream.max_connections,
                )
            else:
                transport = HttpJsonTransport(backend=self._backend, max_connections=upstream.max_connections)
            self._transports[upstream.key] = transport
        return transport

    def _bulkhead(self, upstream: Upstream) -> Bulkhead:
        bulkhead = self._bulkheads.get(upstream.key)
        if bulkhead is None:
            bulkhead = self._bulkheads[upstream.key] = Bulkhead(upstream.max_connections)
        return bulkhead

    def _breaker(self, hospital_id: str) -> CircuitBreaker:
        breaker = self._breakers.get(hospital_id)
        if breaker is None:
            breaker = self._breakers[hospital_id] = CircuitBreaker(
                failure_threshold=self._breaker_threshold,
                reset_after_s=self._breaker_reset_s,
                clock=self._clock,
            )
        return breaker


__all__ = ["HisClient", "HisError"]
