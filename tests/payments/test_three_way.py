"""The daily three-way check: the ledger, the sandbox's trade bill and the simulated hospital's records."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
from hypothesis import given
from hypothesis import strategies as st

from his_clients.client import HisClient
from services.payments.clock import CHINA_TIME, ManualClock
from services.payments.orders import PaymentService
from services.payments.providers.base import BillRow
from services.payments.providers.sandbox import SandboxProvider
from services.payments.three_way import (
    HisHospitalRecords,
    HospitalRecord,
    HospitalSide,
    LedgerOrder,
    LedgerRefund,
    MismatchKind,
    ThreeWayCheck,
    compare,
)
from services.payments.worker import OutboxWorker
from simulator.server import RunningSimulator
from store.db import Database
from store.orders import OrderState, RefundState
from tests.conftest import inject
from tests.payments.conftest import CARD

HOSPITAL = "253"


async def test_all_agree_then_each_kind_of_difference_is_found(
    clean_region: httpx.Client,
    simulator: RunningSimulator,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    his: HisClient,
    db: Database,
    clock: ManualClock,
) -> None:
    recharge = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("20")
    )
    deposit = await payments.create_deposit_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        patient_name="张三",
        admission_number="060508",
        amount=Decimal("100.00"),
    )
    bill = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    for created in (recharge, deposit, bill):
        await payments.record_payment(provider.pay(created.order.out_trade_no))
    inject(clean_region, hospitalId=HOSPITAL, method="hospital.interface.clinicPayment", kind="code", code="60101")
    await worker.run_until_idle()
    in_flight = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("5")
    )
    await payments.record_payment(provider.pay(in_flight.order.out_trade_no))  # PAID, the hospital not yet told

    day = clock.now().astimezone(CHINA_TIME).date()
    check = ThreeWayCheck(db=db, provider=provider, hospitals=HisHospitalRecords(his))
    report = await check.run(day, [HOSPITAL])
    assert report.mismatches == ()
    assert report.clean
    assert [line.out_trade_no for line in report.in_flight] == [in_flight.order.out_trade_no]
    assert report.ledger_total == report.provider_total == Decimal("125.00")  # the bill was paid and refunded

    # One side made to differ at a time.
    ghost = "ZJZF-ghost0001"
    await provider.prepay(
        out_trade_no=ghost,
        amount=Decimal("3.00"),
        description="x",
        payer_openid=None,
        notify_url="",
        expires_at=clock.now(),
    )
    provider.pay(ghost)
    hospital = simulator.app.state.simulator.hospitals[HOSPITAL]
    recharge_trade = next(t for t in hospital.trades if t.trade_no == recharge.order.out_trade_no)
    hospital.trades.append(dataclasses.replace(recharge_trade))  # applied twice
    hospital.trades[:] = [t for t in hospital.trades if t.trade_no != deposit.order.out_trade_no]  # never applied
    report = await check.run(day, [HOSPITAL])
    found = {(m.kind, m.out_trade_no) for m in report.mismatches}
    assert found == {
        (MismatchKind.MISSING_IN_LEDGER, ghost),
        (MismatchKind.APPLIED_TWICE, recharge.order.out_trade_no),
        (MismatchKind.MISSING_AT_HOSPITAL, deposit.order.out_trade_no),
    }
    assert not report.clean
    # A hospital operator's view leaves out provider lines of no known hospital.
    own = await check.run(day, [HOSPITAL], include_unattributed=False)
    assert (MismatchKind.MISSING_IN_LEDGER, ghost) not in {(m.kind, m.out_trade_no) for m in own.mismatches}

    hospital.trades[:] = [t for t in hospital.trades if t is not recharge_trade]
    recharge_trade_left = next(t for t in hospital.trades if t.trade_no == recharge.order.out_trade_no)
    recharge_trade_left.amount = Decimal("19.00")
    report = await check.run(day, [HOSPITAL], include_unattributed=False)
    (changed,) = [m for m in report.mismatches if m.out_trade_no == recharge.order.out_trade_no]
    assert changed.kind is MismatchKind.AMOUNT_DIFFERS
    assert (changed.ledger_amount, changed.hospital_amount) == (Decimal("20.00"), Decimal("19.00"))


DAY = date(2025, 11, 26)
cents = st.integers(min_value=1, max_value=10_000_00).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def ledgers(draw: st.DrawFn) -> list[LedgerOrder]:
    orders = []
    for index in range(draw(st.integers(min_value=0, max_value=12))):
        amount = draw(cents)
        state = draw(st.sampled_from([OrderState.NOTIFIED, OrderState.REFUNDED, OrderState.PAID, OrderState.CREATED]))
        at = datetime(2025, 11, 26, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 600)))
        refunds: tuple[LedgerRefund, ...] = ()
        if state is OrderState.REFUNDED:
            refunds = (LedgerRefund(f"R{index}", amount, RefundState.SUCCEEDED, at),)
        elif state is OrderState.NOTIFIED and draw(st.booleans()):
            part = min(draw(cents), amount)
            refunds = (LedgerRefund(f"R{index}", part, RefundState.SUCCEEDED, at),)
        paid_at = None if state is OrderState.CREATED else at
        orders.append(LedgerOrder(f"ZJZF-{index}", HOSPITAL, state, amount, paid_at, refunds))
    return orders


def sides_agreeing(orders: list[LedgerOrder]) -> tuple[list[BillRow], HospitalSide]:
    rows, records = [], []
    for order in orders:
        if order.paid_at is None:
            continue
        rows.append(
            BillRow(order.out_trade_no, "tx", "SUCCESS", order.online_amount, Decimal("0"), None, order.paid_at)
        )
        for refund in order.refunds:
            assert refund.succeeded_at is not None
            rows.append(
                BillRow(
                    order.out_trade_no,
                    "tx",
                    "REFUND",
                    order.online_amount,
                    refund.amount,
                    refund.out_refund_no,
                    refund.succeeded_at,
                )
            )
        if order.state is OrderState.NOTIFIED:
            records.append(HospitalRecord(order.out_trade_no, order.online_amount))
            records.extend(
                HospitalRecord(order.out_trade_no, -r.amount, refund_no=r.out_refund_no) for r in order.refunds
            )
    return rows, HospitalSide(HOSPITAL, records)


@given(orders=ledgers(), drop=st.integers(min_value=0))
def test_the_reports_lines_add_up_to_the_ledgers_totals(orders: list[LedgerOrder], drop: int) -> None:
    rows, side = sides_agreeing(orders)
    report = compare(DAY, [HOSPITAL], orders, rows, [side])
    moved = sum((o.online_amount for o in orders if o.paid_at is not None), Decimal("0"))
    back = sum((r.amount for o in orders for r in o.refunds), Decimal("0"))
    assert report.mismatches == ()
    assert report.ledger_total == moved - back == report.provider_total
    lines = sum((line.ledger_amount for line in report.lines if line.ledger_amount is not None), Decimal("0"))
    assert lines == report.ledger_total
    assert report.hospital_total == sum(
        (
            o.online_amount - sum((r.amount for r in o.refunds), Decimal("0"))
            for o in orders
            if o.state is OrderState.NOTIFIED
        ),
        Decimal("0"),
    )
    if rows:
        missing = rows[drop % len(rows)]
        settled = next(o for o in orders if o.out_trade_no == missing.out_trade_no).state is not OrderState.PAID
        report = compare(DAY, [HOSPITAL], orders, [r for r in rows if r is not missing], [side])
        kinds = [m.kind for m in report.mismatches]
        assert kinds == ([MismatchKind.MISSING_AT_PROVIDER] if settled else [])
