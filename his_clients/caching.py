"""Reference data (departments, schedules, packages, catalogues, notices) cached per hospital.

Only methods with a TTL here are cached, and never a call that carries a card number, an ID number
or a name: patient and payment state always comes fresh from the hospital. Identical concurrent
misses make one upstream call (coalescing): at 08:00 a registration rush asks the same department
list hundreds of times a second, and the hospital should see it once per TTL, not once per patient.

The cache lives in-process by default and in Redis when configured, so several workers share it
(and its coalescing: the first worker to miss takes a short Redis lock, the others wait for its
value). Entries are the reply's ``data`` as JSON; each hospital has a generation number in the key,
so everything cached for a hospital can be dropped at once (``invalidate``) when it pushes changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from cachetools import LRUCache

from . import jsonio, observe

DEFAULT_TTL_S: Mapping[str, float] = {
    # 20 当日挂号: departments, doctors and schedules change a few times a day; slots by the minute.
    "hospital.interface.todayRegisterGetDepts": 300,
    "hospital.interface.todayRegisterGetDoctors": 120,
    "hospital.interface.todayRegisterGetRemain": 10,
    "hospital.interface.todayRegisterCounts": 10,
    "hospital.interface.todayRegisterGetDeptLimit": 300,
    "hospital.interface.todayRegisterGetDiscount": 300,
    # 21 预约挂号
    "hospital.interface.remainApp": 10,
    "hospital.interface.querySurcharge": 300,
    # 15 分诊
    "hospital.interface.getClinicDoctors": 120,
    # 23 入院指引
    "hospital.interface.admissionGuide.getAdmissionGuideById": 3600,
    # 24 检查预约
    "hospital.interface.appointment.getBookableProject": 600,
    "hospital.interface.appointment.getPlanDataOfWeek": 60,
    "hospital.interface.appointment.getPlanDataOfDay": 30,
    # 25 互联网医院 catalogues
    "hospital.inerface.internetHospital.queryHospitalDrugCharge": 3600,
    "hospital.inerface.internetHospital.queryHospitalLisCharge": 3600,
    "hospital.inerface.internetHospital.queryHospitalPacsCharge": 3600,
    "hospital.inerface.internetHospital.queryHospitalSingleCharge": 3600,
    # 28 体检
    "hospital.interface.physical.getPackageList": 600,
    "hospital.interface.physical.getPackageDetailList": 600,
    "hospital.interface.physical.getTjBookingTime": 60,
    "hospital.interface.physical.getPhysicalRemain": 30,
    "hospital.interface.physical.getNotice": 3600,
    "hospital.interface.physical.getItemList": 600,
    "hospital.interface.physical.getOrgGroup": 600,
    "hospital.interface.physical.getOrgGroupComb": 600,
    # 29 自助开单, 33 检验预约
    "hospital.interface.selfPrescription.getSelfHisChargeList": 600,
    "hospital.interface.selfPrescription.selfAppointmentDate": 60,
    "hospital.interface.projectAppt.getProjectSchedule": 60,
    "hospital.interface.projectAppt.getNumberSource": 30,
    # 43 发热门诊: a queue, so only briefly
    "hospital.interface.getFeverClinicWaitingList": 5,
}

PERSONAL_KEYS = frozenset(
    {
        "medicalcardnumber",
        "medicalcard",
        "outcardno",
        "idcard",
        "idcardno",
        "patientid",
        "patientname",
        "patname",
        "name",
        "phone",
        "telephone",
        "patientphone",
        "admissionnumber",
    }
)
"""Request keys that make a call personal, whatever the method (compared stripped and lower-cased)."""


class CacheBackend(Protocol):
    """Where cached replies live."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_s: float) -> None: ...

    async def generation(self, hospital_id: str) -> int: ...

    async def bump_generation(self, hospital_id: str) -> None: ...

    async def try_lock(self, key: str, *, ttl_s: float) -> bool:
        """Take a short lock for loading ``key``; False when another worker holds it."""
        ...

    async def unlock(self, key: str) -> None: ...

    async def is_locked(self, key: str) -> bool: ...

    async def aclose(self) -> None: ...


WEIGHT_BYTES = 4096
"""In the memory backend an entry weighs one, and one more per 4 KB of reply (see ``MemoryBackend``)."""


def _weight(entry: tuple[float, bytes]) -> int:
    return 1 + len(entry[1]) // WEIGHT_BYTES


class MemoryBackend:
    """One process's cache: a bounded LRU with per-entry expiry.

    Bounded in entries and in bytes at once: ``max_entries`` is a budget where an entry weighs one, and one more
    per 4 KB of its reply, so 10,000 hold at most ~40 MB of replies however large a hospital's catalogues are
    or however many distinct parameters callers try (issue 13 item 4); a reply larger than the whole budget is
    not kept."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: LRUCache[str, tuple[float, bytes]] = LRUCache(maxsize=max_entries, getsizeof=_weight)
        self._generations: dict[str, int] = {}
        self._clock = clock

    async def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires_at, value = found
        if expires_at <= self._clock():
            self._entries.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        with contextlib.suppress(ValueError):  # larger than the whole budget: not kept
            self._entries[key] = (self._clock() + ttl_s, value)

    async def generation(self, hospital_id: str) -> int:
        return self._generations.get(hospital_id, 0)

    async def bump_generation(self, hospital_id: str) -> None:
        self._generations[hospital_id] = self._generations.get(hospital_id, 0) + 1

    async def try_lock(self, key: str, *, ttl_s: float) -> bool:
        return True  # within one process, coalescing in ReferenceCache already makes misses single

    async def unlock(self, key: str) -> None:
        return None

    async def is_locked(self, key: str) -> bool:
        return False

    def __len__(self) -> int:
        """Entries held now (expired ones included until they are read or pushed out; at most max_entries)."""
        return len(self._entries)

    async def aclose(self) -> None:
        self._entries.clear()


class RedisBackend:
    """A cache shared by every worker, in Redis."""

    def __init__(self, url: str, *, prefix: str = "hisgraph") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(f"{self._prefix}:ref:{key}")
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        await self._redis.set(f"{self._prefix}:ref:{key}", value, px=max(1, int(ttl_s * 1000)))

    async def generation(self, hospital_id: str) -> int:
        value = await self._redis.get(f"{self._prefix}:gen:{hospital_id}")
        return int(value) if value is not None else 0

    async def bump_generation(self, hospital_id: str) -> None:
        await self._redis.incr(f"{self._prefix}:gen:{hospital_id}")

    async def try_lock(self, key: str, *, ttl_s: float) -> bool:
        taken = await self._redis.set(f"{self._prefix}:lock:{key}", b"1", nx=True, px=max(1, int(ttl_s * 1000)))
        return bool(taken)

    async def unlock(self, key: str) -> None:
        await self._redis.delete(f"{self._prefix}:lock:{key}")

    async def is_locked(self, key: str) -> bool:
        return bool(await self._redis.exists(f"{self._prefix}:lock:{key}"))

    async def aclose(self) -> None:
        await self._redis.aclose()


def is_personal(wire: Mapping[str, Any]) -> bool:
    """Whether a request names a patient (then it is never cached across requests)."""
    return any(
        isinstance(key, str) and key.strip().lower() in PERSONAL_KEYS and value not in (None, "")
        for key, value in wire.items()
    )


class ReferenceCache:
    """Caches the ``data`` of reference-data calls and coalesces identical concurrent misses."""

    LOCK_TTL_S = 10.0
    WAIT_POLL_S = 0.02

    def __init__(self, backend: CacheBackend, *, ttl_s: Mapping[str, float] | None = None) -> None:
        self.backend = backend
        self._ttl_s = {**DEFAULT_TTL_S, **(ttl_s or {})}
        self._in_flight: dict[str, asyncio.Future[bytes]] = {}

    def ttl_for(self, method: str, wire: Mapping[str, Any]) -> float | None:
        """The TTL for this call, or None when it must not be cached."""
        ttl = self._ttl_s.get(method)
        if ttl is None or ttl <= 0 or is_personal(wire):
            return None
        return ttl

    async def invalidate(self, hospital_id: str) -> None:
        """Drop everything cached for a hospital (it pushed new schedules, doctors, ...)."""
        await self.backend.bump_generation(hospital_id)

    async def get_or_load(
        self,
        *,
        hospital_id: str,
        method: str,
        body: bytes,
        ttl_s: float,
        load: Callable[[], Awaitable[Any]],
    ) -> Any:
        """The cached ``data`` for this call, or ``load()``'s, stored for ``ttl_s``."""
        generation = await self.backend.generation(hospital_id)
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        key = f"{hospital_id}:{generation}:{method}:{digest}"
        cached = await self.backend.get(key)
        observe.cache_lookup(method, hit=cached is not None, hospital_id=hospital_id)
        if cached is not None:
            return jsonio.loads(cached)
        in_flight = self._in_flight.get(key)
        if in_flight is None:
            in_flight = asyncio.ensure_future(self._load_once(key, ttl_s, load))
            self._in_flight[key] = in_flight
            in_flight.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # shield: one waiter giving up (its own deadline) must not cancel the load the others share.
        return jsonio.loads(await asyncio.shield(in_flight))

    async def _load_once(self, key: str, ttl_s: float, load: Callable[[], Awaitable[Any]]) -> bytes:
        if not await self.backend.try_lock(key, ttl_s=self.LOCK_TTL_S):
            # Another worker is loading it: wait for its value while it holds the lock; if it lets go
            # without storing one (its call failed), load it ourselves.
            while await self.backend.is_locked(key):
                await asyncio.sleep(self.WAIT_POLL_S)
                cached = await self.backend.get(key)
                if cached is not None:
                    return cached
        try:
            value = jsonio.dumps(await load())
            await self.backend.set(key, value, ttl_s=ttl_s)
            return value
        finally:
            await self.backend.unlock(key)

    async def aclose(self) -> None:
        await self.backend.aclose()
