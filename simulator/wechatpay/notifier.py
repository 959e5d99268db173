"""Delivering payment notifications as WeChat Pay does: each copy re-sent until answered 2xx.

WeChat re-sends an unanswered (or non-2xx, or slower than 5 s) notification on a fixed schedule,
15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m, 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h, 6 h, then gives up.
A chaos run compresses the schedule (`schedule_scale`) and asks for what WeChat does now and then on
its own: the same notification delivered twice (`duplicate_rate`), and notifications of different
payments arriving in another order than they were paid (`spread_s`: each waits a random part of it).
Every copy of one payment's notification carries the same body (same id), signed afresh each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from .fake import FakeNotification, FakeWeChatPay

WECHAT_SCHEDULE_S: Final = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
REPLY_WITHIN_S: Final = 5.0


@dataclass
class Delivery:
    """One copy of a notification on its way to the merchant."""

    url: str
    body: bytes
    out_trade_no: str
    due: float
    """Loop time of the next try."""
    attempts: int = 0
    duplicate: bool = False


@dataclass
class NotifierStats:
    sent: int = 0
    """Copies queued (duplicates included)."""
    delivered: int = 0
    duplicates: int = 0
    failed_attempts: int = 0
    abandoned: int = 0
    """Copies given up after the last try of the schedule."""
    errors: dict[str, int] = field(default_factory=dict)


class Notifier:
    """Queues notifications and delivers them until answered; `run()` is the delivery loop."""

    def __init__(
        self,
        fake: FakeWeChatPay,
        *,
        schedule_scale: float = 1.0,
        duplicate_rate: float = 0.0,
        spread_s: float = 0.0,
        seed: int | None = None,
        concurrency: int = 16,
    ) -> None:
        self._fake = fake
        self._schedule = tuple(step * schedule_scale for step in WECHAT_SCHEDULE_S)
        self._duplicate_rate = duplicate_rate
        self._spread_s = spread_s
        self._rng = random.Random(seed)  # noqa: S311 - chaos, not secrets
        self._concurrency = asyncio.Semaphore(concurrency)
        self._queue: list[Delivery] = []
        self._in_flight = 0
        self._wake = asyncio.Event()
        self.stats = NotifierStats()

    @property
    def pending(self) -> int:
        """Copies not yet answered 2xx (queued or being sent)."""
        return len(self._queue) + self._in_flight

    def send(self, url: str, notification: FakeNotification, *, out_trade_no: str) -> None:
        """Queue a notification (and, now and then, a second copy of it). Call from the loop's thread."""
        now = asyncio.get_running_loop().time()
        copies = [False] + ([True] if self._rng.random() < self._duplicate_rate else [])
        for duplicate in copies:
            delay = self._rng.uniform(0, self._spread_s) * (3 if duplicate else 1)
            self._queue.append(Delivery(url, notification.body, out_trade_no, now + delay, duplicate=duplicate))
            self.stats.sent += 1
            self.stats.duplicates += duplicate
        self._wake.set()

    def snapshot(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "pending": self.pending,
            "sent": stats.sent,
            "delivered": stats.delivered,
            "duplicates": stats.duplicates,
            "failedAttempts": stats.failed_attempts,
            "abandoned": stats.abandoned,
            "errors": dict(stats.errors),
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due copies until `stop` is set."""
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(timeout=REPLY_WITHIN_S) as client:
            while not stop.is_set():
                now = loop.time()
                due = [delivery for delivery in self._queue if delivery.due <= now]
                for delivery in due:
                    self._queue.remove(delivery)
                    self._in_flight += 1
                    task = asyncio.create_task(self._deliver(client, delivery))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                wait = min((delivery.due for delivery in self._queue), default=now + 1.0) - now
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, min(wait, 1.0)))
            for task in list(tasks):
                task.cancel()

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            async with self._concurrency:
                delivery.attempts += 1
                headers = self._fake.signature_headers(delivery.body) | {"Content-Type": "application/json"}
                try:
                    response = await client.post(delivery.url, content=delivery.body, headers=headers)
                    answered = 200 <= response.status_code < 300
                    problem = f"HTTP {response.status_code}"
                except httpx.HTTPError as error:
                    answered, problem = False, type(error).__name__
            if answered:
                self.stats.delivered += 1
                return
            self.stats.failed_attempts += 1
            self.stats.errors[problem] = self.stats.errors.get(problem, 0) + 1
            if delivery.attempts > len(self._schedule):
                self.stats.abandoned += 1
                return
            delivery.due = asyncio.get_running_loop().time() + self._schedule[delivery.attempts - 1]
            self._queue.append(delivery)
            self._wake.set()
        finally:
            self._in_flight -= 1
