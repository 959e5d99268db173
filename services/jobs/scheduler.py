"""The scheduler: each tick, run every job's due slot once across all instances.

Every instance ticks; for each enabled job the due slot is its most recent one (services.jobs.config
explains the catch-up). The slot's row in ``job_runs`` is claimed by INSERT: the instance whose
insert lands runs it, the others skip. A run asks its hospitals a few at a time; one hospital failing
(a HisError, or anything else) is recorded in the run and never stops the others. Messages go to the
outbox (store.messages) under keys that make a re-run of the same slot, a takeover, or an overlapping
job queue nothing twice; the delivery worker sends them.

A run beats its row after each hospital. An instance that dies mid-run leaves the row ``running``:
after ``lease_s`` without a beat another instance takes it over and runs the slot again (the keys keep
the messages already queued from being queued twice). An instance that is stopped marks its run
``interrupted``, which the next tick of any instance takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.exc import IntegrityError

from his_clients.client import HisClient
from his_clients.errors import HisError
from his_clients.fanout import group_for_one_call
from services.masking import mask_text
from services.payments.clock import Clock, SystemClock
from services.shims.ledger import NewMessage
from services.surveys.links import SurveyLinks
from store.db import Database
from store.jobs import JobRun, JobRuns, JobRunState
from store.messages import MessageOutbox

from . import runtime
from .config import JobsConfig, JobSpec
from .context import RegionalGroup, Task, TaskContext
from .inpatients import DAILY_BILLS, DEPOSIT_REMINDERS
from .revisits import CHECKUP_REVISIT_REMINDERS, CLINIC_REVISIT_REMINDERS
from .surveys import DISCHARGE_SURVEYS, OUTPATIENT_SURVEYS

log = logging.getLogger("hisgraph.jobs")

TASKS: Final[dict[str, Task]] = {
    task.section: task
    for task in (
        DEPOSIT_REMINDERS,
        DAILY_BILLS,
        CLINIC_REVISIT_REMINDERS,
        CHECKUP_REVISIT_REMINDERS,
        OUTPATIENT_SURVEYS,
        DISCHARGE_SURVEYS,
    )
}
KEY_CHUNK: Final = 500
"""Dedupe keys looked up per query (SQLite bounds a statement's parameters)."""
MESSAGE_LIMIT: Final = 300
"""Characters of a failure's message kept in the run."""


@dataclass
class RunReport:
    """What one run did: for tests, logs and the operators' view."""

    job: str
    task: str
    scheduled_for: datetime
    state: JobRunState
    hospitals: int = 0
    queued: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    hospital_queued: dict[str, int] = field(default_factory=dict)
    """Messages queued per hospital asked (0 for a hospital that failed)."""
    run_id: int | None = None


def instance_name() -> str:
    """This process among the deployment's instances: host, pid and a random tag."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


async def queue_messages(db: Database, hospital_id: str, messages: Sequence[NewMessage]) -> int:
    """Queue the messages whose keys are not queued yet, in one transaction; how many were queued."""
    unique: dict[str, NewMessage] = {}
    for message in messages:
        unique.setdefault(message.dedupe_key, message)  # the first of a repeated key wins
    keys = list(unique)
    for attempt in range(2):
        try:
            async with db.session() as session:
                outbox = MessageOutbox(session)
                taken: set[str] = set()
                for start in range(0, len(keys), KEY_CHUNK):
                    taken |= await outbox.taken_keys(keys[start : start + KEY_CHUNK])
                queued = 0
                for key in keys:
                    if key in taken:
                        continue
                    message = unique[key]
                    await outbox.queue(
                        kind=message.kind,
                        hospital_id=hospital_id,
                        medical_card_number=message.medical_card_number,
                        id_card_number=message.id_card_number,
                        payload=message.payload,
                        dedupe_key=key,
                        inbound_call_id=None,
                    )
                    queued += 1
                return queued
        except IntegrityError:
            # A push or another run queued one of these keys between our read and our write: read again.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class JobScheduler:
    """Runs the configured jobs; several instances may run one each, every slot is run once."""

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        config: JobsConfig,
        survey_links: SurveyLinks,
        clock: Clock | None = None,
        instance: str | None = None,
    ) -> None:
        self._db = db
        self._his = his
        self.config = config
        self._survey_links = survey_links
        self._clock = clock or SystemClock()
        self.instance = instance or instance_name()
        self._stop = asyncio.Event()
        self._manual: set[asyncio.Task[RunReport]] = set()
        runtime.register(db, self)

    def spec(self, name: str) -> JobSpec | None:
        """The configured job of this name, or None."""
        return next((spec for spec in self.config.jobs if spec.name == name), None)

    def now(self) -> datetime:
        return self._clock.now()

    async def run_now(self, name: str) -> JobRun | None:
        """Start job `name` at once (an operator's runJobNow), for a slot of this moment; the claimed run,
        already recorded as running, or None when a run of the same job was claimed this very second.

        The run goes on in the background (a whole region is asked); its row tells how it ends. Its
        messages carry the same keys as the scheduled runs', so nothing is queued twice. KeyError for a
        job the configuration does not have.
        """
        spec = self.spec(name)
        if spec is None:
            raise KeyError(name)
        now = self._clock.now()
        slot = now.replace(microsecond=0)
        async with self._db.session() as session:
            run = await JobRuns(session).claim(
                job=spec.name, task=spec.task, scheduled_for=slot, instance=self.instance, now=now
            )
        if run is None:
            return None
        # A fresh context: the run is the scheduler's, not the operator's request's (no request guard, no
        # request deadline or trace carried over).
        task = asyncio.create_task(self._run(spec, run), context=contextvars.Context())
        self._manual.add(task)
        task.add_done_callback(self._manual.discard)
        return run

    async def wait_manual_runs(self) -> None:
        """Wait for the runs runJobNow started (tests; a stopping instance leaves them to the lease)."""
        while self._manual:
            await asyncio.gather(*list(self._manual), return_exceptions=True)

    async def tick(self) -> list[RunReport]:
        """Run every enabled job whose due slot nobody has run yet; the runs this instance made."""
        reports = []
        for spec in self.config.jobs:
            if not spec.enabled or self._stop.is_set():
                continue
            try:
                report = await self.run_due(spec)
            except Exception:
                # The store went away mid-tick, say: the next tick tries again.
                log.exception("job could not run", extra={"job": spec.name})
                continue
            if report is not None:
                reports.append(report)
        return reports

    async def run_forever(self, *, stop: asyncio.Event) -> None:
        """Tick every ``tick_s`` until `stop` is set; a run in progress stops between hospitals."""
        self._stop = stop
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.tick_s)

    async def run_due(self, spec: JobSpec) -> RunReport | None:
        """Run `spec`'s due slot if this instance claims it; None when it is not this instance's to run."""
        now = self._clock.now()
        slot = spec.latest_slot(now)
        run = await self._claim(spec, slot, now)
        if run is None:
            return None
        return await self._run(spec, run)

    async def _claim(self, spec: JobSpec, slot: datetime, now: datetime) -> JobRun | None:
        async with self._db.session() as session:
            runs = JobRuns(session)
            existing = await runs.get(job=spec.name, scheduled_for=slot)
            if existing is None:
                return await runs.claim(
                    job=spec.name, task=spec.task, scheduled_for=slot, instance=self.instance, now=now
                )
            if existing.state in (JobRunState.RUNNING, JobRunState.INTERRUPTED):
                stale_before = now - timedelta(seconds=self.config.lease_s)
                if await runs.take_over(existing, instance=self.instance, now=now, stale_before=stale_before):
                    log.warning("job run taken over", extra={"job": spec.name, "attempt": existing.attempt})
                    return existing
            return None

    def _hospitals(self, spec: JobSpec, task: Task) -> list[str]:
        registry = self._his.registry
        if spec.hospitals is not None:
            chosen = list(spec.hospitals)
        else:
            chosen = [h.id for h in registry.hospitals if h.has_opened(task.method.name)]
        return [h for h in chosen if h not in spec.exclude]

    async def _run(self, spec: JobSpec, run: JobRun) -> RunReport:
        task = TASKS[spec.task]
        report = RunReport(
            job=spec.name, task=spec.task, scheduled_for=run.scheduled_for, state=JobRunState.RUNNING, run_id=run.id
        )
        log.info("job run started", extra={"job": spec.name, "slot": run.scheduled_for.isoformat()})
        attempt = run.attempt
        lost = False
        gate = asyncio.Semaphore(self.config.hospital_concurrency)

        async def one(hospital_id: str) -> None:
            nonlocal lost
            async with gate:
                if lost or self._stop.is_set():
                    return
                try:
                    queued = await self._hospital(task, hospital_id, run.scheduled_for, groups.get(hospital_id))
                except HisError as exc:
                    report.failures.append(_failure(hospital_id, exc.code, exc.message))
                    report.hospital_queued[hospital_id] = 0
                except Exception as exc:
                    log.exception("job failed at a hospital", extra={"job": spec.name, "hospital_id": hospital_id})
                    report.failures.append(_failure(hospital_id, "INTERNAL_ERROR", type(exc).__name__))
                    report.hospital_queued[hospital_id] = 0
                else:
                    report.queued += queued
                    report.hospital_queued[hospital_id] = queued
                report.hospitals += 1
                async with self._db.session() as session:
                    kept = await JobRuns(session).beat(
                        run.id,
                        attempt=attempt,
                        now=self._clock.now(),
                        hospitals=report.hospitals,
                        queued=report.queued,
                        hospital_queued=report.hospital_queued,
                    )
                lost = lost or not kept

        hospitals = self._hospitals(spec, task)
        groups: dict[str, RegionalGroup] = {}
        for members in group_for_one_call(self._his.registry, task.method, hospitals):
            if len(members) > 1:
                group = RegionalGroup(tuple(members))
                groups.update(dict.fromkeys(members, group))
        await asyncio.gather(*(one(h) for h in hospitals))
        report.failures.sort(key=lambda f: f["hospitalId"])
        report.state = _outcome(report, asked=len(hospitals), stopped=self._stop.is_set() or lost)
        async with self._db.session() as session:
            await JobRuns(session).finish(
                run.id,
                attempt=attempt,
                state=report.state,
                now=self._clock.now(),
                hospitals=report.hospitals,
                queued=report.queued,
                failures=report.failures,
                error=_summary(report.failures, asked=len(hospitals)),
                hospital_queued=report.hospital_queued,
            )
        outcome = {"state": report.state.value, "queued": report.queued, "failed": len(report.failures)}
        log.info("job run ended", extra={"job": spec.name, **outcome})
        return report

    async def _hospital(self, task: Task, hospital_id: str, slot: datetime, group: RegionalGroup | None) -> int:
        if self._his.registry.hospital(hospital_id) is None:
            raise _UnknownHospital(hospital_id, task.method.name)
        ctx = TaskContext(
            his=self._his,
            hospital_id=hospital_id,
            slot=slot,
            config=self.config,
            survey_links=self._survey_links,
            group=group,
        )
        messages = await task.collect(ctx)
        return await queue_messages(self._db, hospital_id, messages)


class _UnknownHospital(HisError):
    code = "UNKNOWN_HOSPITAL"

    def __init__(self, hospital_id: str, method: str) -> None:
        super().__init__("not in the hospital registry", hospital_id=hospital_id, method=method)


def _failure(hospital_id: str, code: str, message: str) -> dict[str, str]:
    return {"hospitalId": hospital_id, "code": str(code), "message": mask_text(message)[:MESSAGE_LIMIT]}


def _outcome(report: RunReport, *, asked: int, stopped: bool) -> JobRunState:
    if stopped and report.hospitals < asked:
        return JobRunState.INTERRUPTED
    if not report.failures:
        return JobRunState.SUCCEEDED
    if len(report.failures) < report.hospitals:
        return JobRunState.PARTIAL
    return JobRunState.FAILED


def _summary(failures: list[dict[str, str]], *, asked: int) -> str | None:
    if not failures:
        return None
    listed = "; ".join(f"{f['hospitalId']} {f['code']}" for f in failures[:20])
    more = f" (+{len(failures) - 20} more)" if len(failures) > 20 else ""
    return f"{len(failures)} of {asked} hospitals failed: {listed}{more}"
