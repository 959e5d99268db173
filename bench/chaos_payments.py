"""The payment chaos run: 1,000 payments across the flows, with everything going wrong on the way.

    .venv/bin/python bench/chaos_payments.py --payments 1000 [--seed N] [--database-url URL] [--keep]

Three processes: the simulated region (hospitals 253-257), a fake WeChat Pay that delivers and
re-sends its notifications (duplicates and out of order on purpose), and the gateway (`hisgraph
serve`, payment_provider=wechatpay, its own SQLite file unless --database-url names one). A patient
signed in with logInForDevelopment orders through the real GraphQL mutations (outpatient bills 3.1, recharge
7.1, deposits 10.1, today's registration 20.1, appointments 21.2) and pays at the provider, while
the hospitals time out, answer HTTP 500, broken JSON or "try again" codes, or apply a payment and
lose the reply; the provider answers 500 now and then; and the gateway is killed with SIGKILL at
moments spread over the run and started again on the same database. Then the faults are lifted,
the gateway settles, and the run is judged against what WeChat, the hospitals and the ledger hold:
every paid order NOTIFIED or REFUNDED and never both, nothing parked, each payment applied at most
once, no refund beyond the payment, and the three-way reconciliation without a difference.

Time is compressed where it would only make the run wait: the sagas' retry delays
(payment_retry_scale), the job lease after a crash, and WeChat's re-send schedule. The last line is

    payments=N notified=N refunded=N parked=0 both=0 applied_twice=0 over_refunded=0 reconciliation_diffs=0

and the exit status is 0 only when the run is clean.

    .venv/bin/python bench/chaos_payments.py --gateways 3 --database postgresql --payments 1000

runs a region instead: its own database `hisgraph_chaos_<pid>` on the PostgreSQL server at 127.0.0.1:5432
(created, and dropped at the end unless --keep), `hisgraph migrate` once, three gateways (`serve --workers 1
--no-migrate`, one port each) behind a round-robin TCP proxy on loopback, and each kill SIGKILLs one of
them, chosen at random, while the others keep serving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chaos_run.faults import FaultMonkey
from bench.chaos_run.patient import (
    CANCELLABLE,
    FLOWS,
    HOSPITALS,
    Created,
    GatewayGone,
    Patient,
    harness_call,
    learn_schedules,
)
from bench.chaos_run.processes import (
    Child,
    Gateway,
    RoundRobinProxy,
    create_postgres_database,
    drop_postgres_database,
    migrate,
    start_provider,
    start_simulator,
    write_registry,
)
from bench.chaos_run.verdict import Verdict, judge, settle
from store.db import Database

FLOW_WEIGHTS = {
    "outpatient": 25,
    "recharge": 20,
    "deposit": 15,
    "registration_today": 20,
    "registration_appointment": 20,
}


def report(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Run:
    """One chaos run: its processes, its patient, its counters."""

    def __init__(self, args: argparse.Namespace, folder: Path, rng: random.Random) -> None:
        self.args = args
        self.folder = folder
        self.rng = rng
        self.paid: list[Created] = []
        self.reserved = 0
        self.attempts = 0
        self.driving = True
        self.kill_log: list[str] = []
        self.to_cancel: list[Created] = []
        """Paid bookings the patient will cancel once the hospital has made them (after-sale refunds)."""
        self.cancels: dict[str, int] = {}
        self.progressed = asyncio.Event()
        """Set at each payment and when the driving ends (the killer waits on it)."""

    async def drive(self, patient: Patient, gateways: list[Gateway]) -> None:
        """Orders and payments until `--payments` were paid, while the monkey and the killer work."""
        flows, weights = list(FLOW_WEIGHTS), list(FLOW_WEIGHTS.values())
        assert set(flows) == set(FLOWS)
        limit = self.args.payments * 20

        async def one_patient_session() -> None:
            refusals_in_a_row = 0
            while self.reserved < self.args.payments:
                self.attempts += 1
                if self.attempts > limit:
                    raise RuntimeError(
                        f"{self.attempts} attempts for {self.args.payments} payments: refusals {patient.refusals}"
                    )
                self.reserved += 1
                paid = False
                try:
                    created = await patient.create(self.rng.choices(flows, weights)[0], self.rng.choice(HOSPITALS))
                    if created is not None:
                        await asyncio.sleep(self.rng.uniform(0, 0.2))  # the payer looks at the sheet first
                        paid = await patient.pay(created.out_trade_no)
                        if paid:
                            self.paid.append(created)
                            self.progressed.set()
                            if created.flow in CANCELLABLE and self.rng.random() < self.args.cancel_rate:
                                self.to_cancel.append(created)
                finally:
                    if not paid:
                        self.reserved -= 1
                if not paid:
                    refusals_in_a_row += 1
                    await asyncio.sleep(min(2.0, 0.1 * refusals_in_a_row))  # the patient tries again, slower
                else:
                    refusals_in_a_row = 0

        sessions = [asyncio.create_task(one_patient_session()) for _ in range(self.args.concurrency)]
        killer = asyncio.create_task(self.kill_now_and_then(gateways))
        progress = asyncio.create_task(self.progress())
        try:
            await asyncio.gather(*sessions)
        finally:
            self.driving = False
            self.progressed.set()
            for task in sessions:
                task.cancel()
        await killer
        progress.cancel()

    async def kill_now_and_then(self, gateways: list[Gateway]) -> None:
        """SIGKILL a gateway (one of them, at random) at `--kills` moments spread over the run (sagas in
        flight), then start it again."""
        total = self.args.payments
        points = sorted(
            int(total * (index + self.rng.uniform(0.3, 0.7)) / self.args.kills) for index in range(self.args.kills)
        )
        for point in points:
            while len(self.paid) < point and self.driving:
                self.progressed.clear()
                await self.progressed.wait()
            await asyncio.sleep(self.rng.uniform(0.0, 0.4))
            gateway = self.rng.choice(gateways)
            await asyncio.to_thread(gateway.kill)
            down_s = self.rng.uniform(0.1, 1.0)
            await asyncio.sleep(down_s)
            took = await gateway.start()
            self.kill_log.append(
                f"kill {len(self.kill_log) + 1} ({gateway.child.name}) at {len(self.paid)} paid, "
                f"down {down_s + took:.1f} s"
            )
            report(self.kill_log[-1])

    async def cancel_paid_bookings(self, patient: Patient) -> None:
        """Cancel the chosen paid bookings as soon as the hospital has made them, until none is left."""
        while self.driving or self.to_cancel:
            for booking in list(self.to_cancel):
                outcome = await patient.cancel(booking.out_trade_no)
                if outcome != "wait":
                    self.to_cancel.remove(booking)
                    self.cancels[outcome] = self.cancels.get(outcome, 0) + 1
            await asyncio.sleep(1.0)

    async def progress(self) -> None:
        while True:
            await asyncio.sleep(5)
            report(f"paid {len(self.paid)}/{self.args.payments}, attempts {self.attempts}")


async def main_async(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    rng = random.Random(seed)
    folder = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="chaos-payments-"))
    folder.mkdir(parents=True, exist_ok=True)
    report(f"seed {seed}; logs and the gateway's database in {folder}")
    began = time.monotonic()
    started = datetime.now(UTC)
    children: list[Child] = []
    run = Run(args, folder, rng)
    verdict: Verdict | None = None
    proxy = RoundRobinProxy([])
    own_database = f"hisgraph_chaos_{os.getpid()}"
    created_database = False
    try:
        simulator, simulator_url = start_simulator(folder, seed=7)
        children.append(simulator)
        provider, provider_url, merchant = start_provider(
            # WeChat's re-sends (15 s, 15 s, 30 s, 3 m...) compressed further than the retries: a gateway that
            # was down must not wait minutes for its notifications once it is back.
            folder,
            seed=seed,
            schedule_scale=args.time_scale / 4,
            duplicate_rate=0.3,
            spread_s=0.5,
        )
        children.append(provider)
        registry = write_registry(folder, simulator_url)
        if args.database_url:
            database_url = args.database_url
        elif args.database == "postgresql":
            database_url = await create_postgres_database(args.postgres_server, own_database)
            created_database = True
        else:
            database_url = f"sqlite+aiosqlite:///{folder / 'gateway.sqlite3'}"
        many = args.gateways > 1
        if many:
            await asyncio.to_thread(migrate, folder, database_url)  # once, before any instance starts
        public_url = proxy.reserve() if many else None
        session_secret = secrets.token_urlsafe(32)
        gateways = [
            Gateway.prepare(
                folder,
                registry=registry,
                database_url=database_url,
                merchant=merchant,  # with notify_url: WeChat tells the gateway each refund's outcome as well
                session_secret=session_secret,  # one secret: a token made by one instance works at another
                retry_scale=args.time_scale,
                lease_s=5.0,
                public_url=public_url,
                name=f"gateway-{index + 1}" if many else "gateway",
                instance_of_many=many,
            )
            for index in range(args.gateways)
        ]
        for gateway in gateways:
            children.append(gateway.child)
        await asyncio.gather(*(gateway.start() for gateway in gateways))
        if many:
            proxy.set_backends([gateway.url for gateway in gateways])
            await proxy.start()
            report(f"{len(gateways)} gateways behind {proxy.url}")
        front_url = proxy.url if many else gateways[0].url
        db = Database(database_url)
        async with httpx.AsyncClient(timeout=30.0) as client:
            patient = Patient(
                client=client,
                gateway_url=front_url,
                provider_url=provider_url,
                simulator_url=simulator_url,
                schedules=await learn_schedules(client, simulator_url),
                rng=rng,
            )
            await patient.sign_in()
            monkey = FaultMonkey(
                client=client,
                simulator_url=simulator_url,
                provider_url=provider_url,
                rng=rng,
                every_s=args.fault_every_s,
            )
            stop = asyncio.Event()
            monkey_task = asyncio.create_task(monkey.run(stop))
            canceller = asyncio.create_task(run.cancel_paid_bookings(patient))
            try:
                await run.drive(patient, gateways)
            except BaseException:
                canceller.cancel()
                raise
            finally:
                stop.set()
                await monkey_task
            drove_s = time.monotonic() - began
            report(f"{len(run.paid)} paid in {drove_s:.0f} s; faults {dict(monkey.injected)}; lifting them")
            await monkey.lift()
            try:  # the last bookings are cancelled once the gateway has caught up with them
                await asyncio.wait_for(canceller, timeout=args.settle_timeout)
            except TimeoutError:
                report(f"bookings never made, so never cancelled: {[b.out_trade_no for b in run.to_cancel]}")
            still_moving = await settle(db, client, provider_url, timeout_s=args.settle_timeout, report=report)
            report(f"settled in {time.monotonic() - began - drove_s:.0f} s" if not still_moving else "not settled")
            for gateway in gateways:
                await asyncio.to_thread(gateway.child.stop)
            verdict = await judge(
                db=db,
                client=client,
                simulator_url=simulator_url,
                provider_url=provider_url,
                merchant=merchant,
                registry_path=registry,
                started=started,
                still_moving=still_moving,
            )
            notifications = (await harness_call(client, "GET", f"{provider_url}/admin/ledger")).json()["notifications"]
        await db.dispose()
    except GatewayGone as gone:
        report(f"the run could not go on: {gone}")
    finally:
        await proxy.stop()
        for child in reversed(children):
            await asyncio.to_thread(child.stop)
        if created_database and not args.keep:
            await drop_postgres_database(args.postgres_server, own_database)
    if verdict is None:
        return 2
    took = time.monotonic() - began
    for finding in verdict.findings[:40]:
        report(f"finding: {finding}")
    print(
        f"seed={seed} took={took:.0f}s kills={len(run.kill_log)} gateways={args.gateways} "
        f"database={database_url.split(':', 1)[0]} retries={patient.retries}"
    )
    if many:
        print(f"connections per gateway through the proxy: {proxy.connections}")
    print(f"faults: {dict(monkey.injected)}; refusals at creation: {patient.refusals}; cancellations: {run.cancels}")
    print(
        f"notifications: {notifications['sent']} sent ({notifications['duplicates']} duplicates), "
        f"{notifications['delivered']} delivered, {notifications['failedAttempts']} failed tries "
        f"{notifications['errors']}"
    )
    print(f"paths: {dict(verdict.paths)}; after-sale refunds: {dict(verdict.after_sale)}")
    if verdict.unsettled:
        print(f"NOT SETTLED within {args.settle_timeout:.0f} s: {verdict.unsettled} still moving")
    for flow, states in sorted(verdict.by_flow.items()):
        print(f"  {flow}: {dict(states)}")
    print(verdict.line())
    if verdict.clean and not args.keep and not args.workdir:
        shutil.rmtree(folder, ignore_errors=True)  # only the folder the run made itself
    elif not verdict.clean:
        report(f"not clean: logs kept in {folder}")
    return 0 if verdict.clean else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1000, help="how many payments to take (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="patients ordering at once")
    parser.add_argument("--kills", type=int, help="gateway SIGKILLs (default: one per 100 payments, at least 2)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--cancel-rate", type=float, default=0.15, help="share of paid bookings the patient cancels")
    parser.add_argument("--fault-every-s", type=float, default=0.3, help="a new hospital or provider fault this often")
    parser.add_argument("--time-scale", type=float, default=0.02, help="retry delays and re-sends are multiplied by it")
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--gateways", type=int, default=1, help="gateway instances behind a round-robin proxy")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="sqlite: a file in the run's folder; postgresql: a database of its own on --postgres-server",
    )
    parser.add_argument(
        "--postgres-server",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="the PostgreSQL server (trust auth) on which --database postgresql creates and drops its database",
    )
    parser.add_argument("--database-url", help="the gateways' store, as given (overrides --database)")
    parser.add_argument("--workdir", help="folder for logs and the database (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the folder even when the run is clean")
    args = parser.parse_args()
    if args.kills is None:
        args.kills = max(2, args.payments // 100)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
