"""hospitalHealth and /readyz: each hospital's state from the breakers and the call ring, no hospital called.

Per hospital: the circuit breaker's state and since when, p50/p95 latency and error rate over the last 5 and
15 minutes (his_clients/health.py's ring of call outcomes), the last error, calls in flight against the
bulkhead's limit, and how old the reference data loaded from it is.

Sharing. Each gateway worker holds its own breakers and ring. With Redis configured (cache_backend = redis),
every worker publishes its raw figures under ``<cache_prefix>:health:<instance>`` with a short TTL
(``SHARE_TTL_S``) whenever it is asked, every ``PUBLISH_EVERY_S`` and soon after a failure or a circuit change
(``publish_forever``, started with the app),
and a reader merges every live worker's figures (the worst circuit state and its earliest start, outcomes
pooled, in-flight and limits added). Without Redis, or while Redis does not answer, the figures are this
worker's only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from his_clients.client import HisClient
from his_clients.health import FAILURE_KINDS, NOT_SENT_KINDS, CallRing, percentile, ring_of
from his_clients.registry import Registry

log = logging.getLogger("hisgraph.operations.health")

WINDOWS_S: Final = (300.0, 900.0)
SHARE_TTL_S: Final = 30.0
PUBLISH_EVERY_S: Final = 10.0
PUBLISH_CHANGE_S: Final = 0.5
SLOW_SHARE: Final = 0.5
"""A hospital whose p95 over 5 minutes passes this share of its timeout is degraded (slow)."""
ERROR_RATE_DEGRADED: Final = 0.5
MIN_CALLS: Final = 3
"""Fewer calls than this in 5 minutes say nothing about the error rate."""
SEVERITY: Final = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True, slots=True)
class Window:
    minutes: int
    calls: int
    not_sent: int
    errors: int
    error_rate: float | None
    p50_s: float | None
    p95_s: float | None


@dataclass(frozen=True, slots=True)
class LastError:
    code: str
    method: str
    at: float


@dataclass(frozen=True, slots=True)
class HospitalHealth:
    hospital_id: str
    name: str
    circuit: str
    circuit_since: float | None
    windows: list[Window]
    last_error: LastError | None
    in_flight: int
    bulkhead_limit: int
    reference_loaded_at: float | None
    degraded_because: list[str]
    instances: int

    @property
    def degraded(self) -> bool:
        return bool(self.degraded_because)


def _breaker_since(his: HisClient, ring: CallRing, hospital_id: str, state: str) -> float | None:
    """When the breaker entered its state, on the wall clock (its own clock is monotonic)."""
    since = his.circuit_since(hospital_id)
    if since is not None and state != "closed":
        return since
    seen = ring.circuit_seen(hospital_id)
    return seen[1] if seen is not None and seen[0] == state else None


def local_figures(his: HisClient, registry: Registry) -> dict[str, dict[str, Any]]:
    """This process's raw figures per hospital (what is published to Redis and merged)."""
    now = time.time()
    figures: dict[str, dict[str, Any]] = {}
    ring = ring_of(his)
    for hospital in registry.hospitals:
        state = str(his.circuit_state(hospital.id))
        upstream = registry.upstream(hospital)
        error = ring.last_error(hospital.id)
        figures[hospital.id] = {
            "circuit": state,
            "since": _breaker_since(his, ring, hospital.id, state),
            "outcomes": [[o.at, o.seconds, o.kind] for o in ring.recent(hospital.id, max(WINDOWS_S), now=now)],
            "lastError": None if error is None else [error.code, error.method, error.at],
            "inFlight": his.in_flight(upstream.key),
            "limit": upstream.max_connections,
            "referenceLoadedAt": ring.reference_loaded_at(hospital.id),
        }
    return figures


def _merge(snapshots: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for snapshot in snapshots:
        for hospital_id, f in snapshot.items():
            m = merged.get(hospital_id)
            if m is None:
                merged[hospital_id] = {**f, "outcomes": list(f["outcomes"]), "instances": 1}
                continue
            m["instances"] += 1
            if SEVERITY.get(f["circuit"], 0) > SEVERITY.get(m["circuit"], 0):
                m["circuit"], m["since"] = f["circuit"], f["since"]
            elif f["circuit"] == m["circuit"] and f["since"] is not None:
                m["since"] = f["since"] if m["since"] is None else min(m["since"], f["since"])
            m["outcomes"].extend(f["outcomes"])
            if f["lastError"] is not None and (m["lastError"] is None or f["lastError"][2] > m["lastError"][2]):
                m["lastError"] = f["lastError"]
            m["inFlight"] += f["inFlight"]
            m["limit"] += f["limit"]
            if f["referenceLoadedAt"] is not None:
                m["referenceLoadedAt"] = max(m["referenceLoadedAt"] or 0.0, f["referenceLoadedAt"])
    return merged


def _window(outcomes: list[list[Any]], seconds: float, now: float) -> Window:
    window = [o for o in outcomes if o[0] >= now - seconds]
    recent = [o for o in window if o[2] not in NOT_SENT_KINDS]
    errors = sum(1 for o in recent if o[2] in FAILURE_KINDS)
    latencies = sorted(o[1] for o in recent)
    return Window(
        minutes=int(seconds // 60),
        calls=len(recent),
        not_sent=len(window) - len(recent),
        errors=errors,
        error_rate=errors / len(recent) if recent else None,
        p50_s=percentile(latencies, 0.5) if latencies else None,
        p95_s=percentile(latencies, 0.95) if latencies else None,
    )


def _health(registry: Registry, merged: dict[str, dict[str, Any]], now: float) -> list[HospitalHealth]:
    out: list[HospitalHealth] = []
    for hospital in registry.hospitals:
        f = merged.get(hospital.id)
        if f is None:
            continue
        windows = [_window(f["outcomes"], seconds, now) for seconds in WINDOWS_S]
        recent = windows[0]
        why: list[str] = []
        if f["circuit"] != "closed":
            why.append(f"circuit {f['circuit']}")
        if recent.calls >= MIN_CALLS and (recent.error_rate or 0.0) >= ERROR_RATE_DEGRADED:
            why.append(f"error rate {recent.error_rate:.0%} over 5 minutes")
        slow = SLOW_SHARE * registry.upstream(hospital).timeout_s
        if recent.p95_s is not None and recent.p95_s >= slow:
            why.append(f"p95 latency {recent.p95_s:.2f}s over 5 minutes")
        error = f["lastError"]
        out.append(
            HospitalHealth(
                hospital_id=hospital.id,
                name=hospital.name,
                circuit=f["circuit"],
                circuit_since=f["since"],
                windows=windows,
                last_error=None if error is None else LastError(code=error[0], method=error[1], at=error[2]),
                in_flight=f["inFlight"],
                bulkhead_limit=f["limit"],
                reference_loaded_at=f["referenceLoadedAt"],
                degraded_because=why,
                instances=f["instances"],
            )
        )
    return out


def _redis_of(his: HisClient) -> tuple[Any, str] | None:
    """The Redis the reference cache shares, and its key prefix; None without one."""
    backend = getattr(his.cache, "backend", None)
    client = getattr(backend, "_redis", None)
    return None if client is None else (client, str(getattr(backend, "_prefix", "hisgraph")))


async def publish(his: HisClient, registry: Registry) -> dict[str, dict[str, Any]]:
    """This process's figures, published to Redis (when configured) for the other workers to merge."""
    ring_of(his).changed = False
    mine = local_figures(his, registry)
    shared = _redis_of(his)
    if shared is not None:
        client, prefix = shared
        body = json.dumps(mine, separators=(",", ":"))
        try:
            expires = time.time() + SHARE_TTL_S
            instance = ring_of(his).instance
            await client.set(f"{prefix}:health:{instance}", body, px=int(SHARE_TTL_S * 1000))
            await client.zadd(f"{prefix}:health:instances", {instance: expires})
        except Exception:  # Redis down: this process's figures still answer
            log.warning("could not publish hospital health to Redis", exc_info=True)
    return mine


async def hospital_health(his: HisClient, registry: Registry) -> list[HospitalHealth]:
    """Every hospital's health: this process's, merged with every live worker's when Redis is configured."""
    mine = await publish(his, registry)
    snapshots = [mine]
    shared = _redis_of(his)
    if shared is not None:
        client, prefix = shared
        try:
            index = f"{prefix}:health:instances"
            await client.zremrangebyscore(index, "-inf", time.time())
            others = [i.decode() if isinstance(i, bytes) else str(i) for i in await client.zrange(index, 0, -1)]
            others = [i for i in others if i != ring_of(his).instance]
            if others:
                for body in await client.mget([f"{prefix}:health:{i}" for i in others]):
                    if body:
                        snapshots.append(json.loads(body))
        except Exception:
            log.warning("could not read other workers' hospital health from Redis", exc_info=True)
    return _health(registry, _merge(snapshots), time.time())


async def publish_forever(his: HisClient, registry: Registry, stop: asyncio.Event) -> None:
    """Keep this worker's figures in Redis while it runs (only started when Redis is configured): every
    ``PUBLISH_EVERY_S``, and within ``PUBLISH_CHANGE_S`` of a failure or a circuit changing state."""
    ring = ring_of(his)
    while not stop.is_set():
        await publish(his, registry)
        waited = 0.0
        while waited < PUBLISH_EVERY_S and not ring.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PUBLISH_CHANGE_S)
            if stop.is_set():
                return
            waited += PUBLISH_CHANGE_S
