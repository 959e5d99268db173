"""The daily three-way check: the ledger, the sandbox's trade bill and the simulated hospital's records.

The first test runs the whole check against the simulator; the rest hold the pure comparison, one test per
kind of mismatch (issue 12 item 19), and Hypothesis over ledgers the other sides agree with.
"""

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
    Mismatch,
    MismatchKind,
    ThreeWayCheck,
    ThreeWayReport,
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
AT = datetime(2025, 11, 26, 2, tzinfo=UTC)  # 10:00 in Beijing, on DAY
cents = st.integers(min_value=1, max_value=10_000_00).map(lambda n: Decimal(n).scaleb(-2))


def order(
    state: OrderState = OrderState.NOTIFIED,
    amount: str = "20.00",
    *,
    number: str = "ZJZF-1",
    refunds: tuple[LedgerRefund, ...] = (),
) -> LedgerOrder:
    paid_at = None if state in (OrderState.CREATED, OrderState.CANCELLED) else AT
    return LedgerOrder(
        out_trade_no=number,
        hospital_id=HOSPITAL,
        state=state,
        online_amount=Decimal(amount),
        paid_at=paid_at,
        refunds=refunds,
    )


def refund(state: RefundState = RefundState.SUCCEEDED, amount: str = "5.00", number: str = "R1") -> LedgerRefund:
    succeeded_at = AT if state is RefundState.SUCCEEDED else None
    return LedgerRefund(out_refund_no=number, amount=Decimal(amount), state=state, succeeded_at=succeeded_at)


def paid_line(number: str = "ZJZF-1", amount: str = "20.00") -> BillRow:
    return BillRow(
        out_trade_no=number,
        transaction_id="tx",
        state="SUCCESS",
        amount=Decimal(amount),
        refund_amount=Decimal("0"),
        out_refund_no=None,
        at=AT,
    )


def refund_line(number: str = "ZJZF-1", refund_no: str = "R1", amount: str = "5.00") -> BillRow:
    return BillRow(
        out_trade_no=number,
        transaction_id="tx",
        state="REFUND",
        amount=Decimal("20.00"),
        refund_amount=Decimal(amount),
        out_refund_no=refund_no,
        at=AT,
    )


def record(
    number: str = "ZJZF-1", amount: str = "20.00", *, complete: bool = True, refund_no: str | None = None
) -> HospitalRecord:
    return HospitalRecord(trade_no=number, amount=Decimal(amount), complete=complete, refund_no=refund_no)


def check(
    ledger: list[LedgerOrder],
    rows: list[BillRow] | None,
    records: list[HospitalRecord],
    *,
    include_unattributed: bool = True,
) -> ThreeWayReport:
    sides = [HospitalSide(hospital_id=HOSPITAL, records=records)]
    return compare(DAY, [HOSPITAL], ledger, rows, sides, include_unattributed=include_unattributed)


def only(report: ThreeWayReport) -> Mismatch:
    (mismatch,) = report.mismatches
    return mismatch


def test_agreeing_sides_give_no_mismatch() -> None:
    """issue 12 item 19: the baseline each test below changes one side of."""
    report = check([order()], [paid_line()], [record()])
    assert report.mismatches == ()
    assert report.clean
    assert report.ledger_total == report.provider_total == report.hospital_total == Decimal("20.00")


def test_missing_at_provider() -> None:
    """issue 12 item 19: MISSING_AT_PROVIDER, for a payment and for a refund."""
    mismatch = only(check([order()], [], [record()]))
    assert (mismatch.kind, mismatch.ledger_amount, mismatch.provider_amount) == (
        MismatchKind.MISSING_AT_PROVIDER,
        Decimal("20.00"),
        None,
    )
    after_sale = order(refunds=(refund(),))
    mismatch = only(check([after_sale], [paid_line()], [record(), record(amount="-5.00", refund_no="R1")]))
    assert (mismatch.kind, mismatch.out_refund_no) == (MismatchKind.MISSING_AT_PROVIDER, "R1")


def test_missing_at_hospital() -> None:
    """issue 12 item 19: MISSING_AT_HOSPITAL, for a notified payment and for its after-sale refund."""
    mismatch = only(check([order()], [paid_line()], []))
    assert (mismatch.kind, mismatch.out_refund_no, mismatch.hospital_amount) == (
        MismatchKind.MISSING_AT_HOSPITAL,
        None,
        None,
    )
    after_sale = order(refunds=(refund(),))
    mismatch = only(check([after_sale], [paid_line(), refund_line()], [record()]))
    assert (mismatch.kind, mismatch.out_refund_no, mismatch.ledger_amount) == (
        MismatchKind.MISSING_AT_HOSPITAL,
        "R1",
        Decimal("-5.00"),
    )


def test_missing_in_ledger() -> None:
    """issue 12 item 19: MISSING_IN_LEDGER from the provider (payment, refund) and from the hospital."""
    report = check([], [paid_line("ZJZF-ghost")], [])
    assert [(m.kind, m.hospital_id, m.out_trade_no) for m in report.mismatches] == [
        (MismatchKind.MISSING_IN_LEDGER, None, "ZJZF-ghost")
    ]
    assert check([], [paid_line("ZJZF-ghost")], [], include_unattributed=False).mismatches == ()
    report = check([order()], [paid_line(), refund_line(refund_no="R9")], [record()])
    assert [(m.kind, m.out_refund_no, m.provider_amount) for m in report.mismatches] == [
        (MismatchKind.MISSING_IN_LEDGER, "R9", Decimal("-5.00"))
    ]
    report = check([order()], [paid_line()], [record(), record("ZJZF-other", "7.00")])
    assert [(m.kind, m.hospital_id, m.out_trade_no, m.hospital_amount) for m in report.mismatches] == [
        (MismatchKind.MISSING_IN_LEDGER, HOSPITAL, "ZJZF-other", Decimal("7.00"))
    ]
    report = check([order()], [paid_line()], [record(), record(amount="-3.00", refund_no="H7")])
    assert [(m.kind, m.out_refund_no) for m in report.mismatches] == [(MismatchKind.MISSING_IN_LEDGER, "H7")]


def test_amount_differs() -> None:
    """issue 12 item 19: AMOUNT_DIFFERS at the provider and at the hospital, for payments and refunds."""
    mismatch = only(check([order()], [paid_line(amount="19.00")], [record()]))
    assert (mismatch.kind, mismatch.provider_amount) == (MismatchKind.AMOUNT_DIFFERS, Decimal("19.00"))
    mismatch = only(check([order()], [paid_line()], [record(amount="19.00")]))
    assert (mismatch.kind, mismatch.ledger_amount, mismatch.hospital_amount) == (
        MismatchKind.AMOUNT_DIFFERS,
        Decimal("20.00"),
        Decimal("19.00"),
    )
    after_sale = order(refunds=(refund(),))
    hospital = [record(), record(amount="-5.00", refund_no="R1")]
    mismatch = only(check([after_sale], [paid_line(), refund_line(amount="4.00")], hospital))
    assert (mismatch.kind, mismatch.out_refund_no, mismatch.provider_amount) == (
        MismatchKind.AMOUNT_DIFFERS,
        "R1",
        Decimal("-4.00"),
    )
    hospital = [record(), record(amount="-4.00", refund_no="R1")]
    mismatch = only(check([after_sale], [paid_line(), refund_line()], hospital))
    assert (mismatch.kind, mismatch.out_refund_no, mismatch.hospital_amount) == (
        MismatchKind.AMOUNT_DIFFERS,
        "R1",
        Decimal("-4.00"),
    )


def test_applied_twice() -> None:
    """issue 12 item 19: APPLIED_TWICE, the hospital recorded one payment two times."""
    mismatch = only(check([order()], [paid_line()], [record(), record()]))
    assert (mismatch.kind, mismatch.hospital_amount) == (MismatchKind.APPLIED_TWICE, Decimal("40.00"))


def test_state_differs() -> None:
    """issue 12 item 19: STATE_DIFFERS, each way the sides can agree money exists but not on what happened."""
    mismatch = only(check([order()], [paid_line()], [record(complete=False)]))
    assert (mismatch.kind, mismatch.detail) == (
        MismatchKind.STATE_DIFFERS,
        "the hospital says the payment is not complete",
    )
    refunded = order(OrderState.REFUNDED, refunds=(refund(amount="20.00"),))
    rows = [paid_line(), refund_line(amount="20.00")]
    mismatch = only(check([refunded], rows, [record()]))
    assert (mismatch.kind, mismatch.ledger_state) == (MismatchKind.STATE_DIFFERS, "REFUNDED")
    assert check([refunded], rows, [record(), record(amount="-20.00")]).mismatches == ()  # undone there too
    unpaid = order(OrderState.CREATED)
    report = check([unpaid], [paid_line()], [record()])
    assert [(m.kind, m.detail) for m in report.mismatches] == [
        (MismatchKind.STATE_DIFFERS, "unpaid in the ledger, paid at the provider"),
        (MismatchKind.STATE_DIFFERS, "unpaid in the ledger, applied at the hospital"),
    ]
    failed = order(refunds=(refund(RefundState.FAILED),))
    mismatch = only(check([failed], [paid_line(), refund_line()], [record()]))
    assert (mismatch.kind, mismatch.out_refund_no, mismatch.ledger_state) == (
        MismatchKind.STATE_DIFFERS,
        "R1",
        RefundState.FAILED.value,
    )


def test_parked() -> None:
    """issue 12 item 19: PARKED, an order or a refund the ledger parked is always listed, whatever the others say."""
    parked = order(OrderState.PARKED)
    for rows, records in (([paid_line()], [record()]), ([], []), (None, [])):
        mismatch = only(check([parked], rows, records))
        assert (mismatch.kind, mismatch.out_refund_no, mismatch.ledger_state) == (
            MismatchKind.PARKED,
            None,
            OrderState.PARKED.value,
        )
    parked_refund = order(refunds=(refund(RefundState.PARKED),))
    mismatch = only(check([parked_refund], [paid_line()], [record()]))
    assert (mismatch.kind, mismatch.out_refund_no) == (MismatchKind.PARKED, "R1")


def test_in_flight_is_listed_not_a_mismatch() -> None:
    """issue 12 item 19: a PAID order and a pending refund are in flight, whatever the other sides show."""
    report = check([order(OrderState.PAID)], [], [])
    assert report.mismatches == ()
    assert [line.out_trade_no for line in report.in_flight] == ["ZJZF-1"]
    pending = order(refunds=(refund(RefundState.PENDING),))
    report = check([pending], [paid_line()], [record()])
    assert report.mismatches == ()
    assert [line.out_refund_no for line in report.in_flight] == ["R1"]


def test_what_waits_from_another_day_is_beside_the_day_not_in_it() -> None:
    """issue 15 item 4: an order parked or in flight, or a refund not done, of another day is listed as waiting
    when a quiet day is checked: that day stays clean. Checked on its own day, the parked order is a mismatch."""
    next_day = DAY + timedelta(days=1)
    parked = order(OrderState.PARKED, number="ZJZF-parked")
    in_flight = order(OrderState.PAID, number="ZJZF-moving")
    pending = order(
        number="ZJZF-refunding",
        refunds=(LedgerRefund(out_refund_no="R1", amount=Decimal("5.00"), state=RefundState.PENDING, created_at=AT),),
    )
    quiet = compare(next_day, [HOSPITAL], [parked, in_flight, pending], [], [HospitalSide(hospital_id=HOSPITAL)])
    assert quiet.mismatches == ()
    assert quiet.lines == ()
    assert quiet.clean
    assert [(line.out_trade_no, line.out_refund_no, line.in_flight) for line in quiet.open_lines] == [
        ("ZJZF-moving", None, True),
        ("ZJZF-parked", None, False),
        ("ZJZF-refunding", "R1", True),
    ]
    own_day = check([parked], [paid_line("ZJZF-parked")], [record("ZJZF-parked")])
    assert [(m.kind, m.out_trade_no) for m in own_day.mismatches] == [(MismatchKind.PARKED, "ZJZF-parked")]
    assert own_day.open_lines == ()


def test_an_unread_side_is_not_checked() -> None:
    """issue 12 item 19: a provider bill or hospital records that could not be read give no mismatch, and no clean."""
    report = compare(DAY, [HOSPITAL], [order()], None, [HospitalSide(hospital_id=HOSPITAL, error="E: down")])
    assert report.mismatches == ()
    assert report.hospital_errors == {HOSPITAL: "E: down"}
    assert not report.clean


@st.composite
def ledgers(draw: st.DrawFn) -> list[LedgerOrder]:
    orders = []
    for index in range(draw(st.integers(min_value=0, max_value=12))):
        amount = draw(cents)
        state = draw(st.sampled_from([OrderState.NOTIFIED, OrderState.REFUNDED, OrderState.PAID, OrderState.CREATED]))
        at = datetime(2025, 11, 26, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 600)))
        refunds: tuple[LedgerRefund, ...] = ()
        if state is OrderState.REFUNDED:
            refunds = (
                LedgerRefund(out_refund_no=f"R{index}", amount=amount, state=RefundState.SUCCEEDED, succeeded_at=at),
            )
        elif state is OrderState.NOTIFIED and draw(st.booleans()):
            part = min(draw(cents), amount)
            refunds = (
                LedgerRefund(out_refund_no=f"R{index}", amount=part, state=RefundState.SUCCEEDED, succeeded_at=at),
            )
        paid_at = None if state is OrderState.CREATED else at
        orders.append(
            LedgerOrder(
                out_trade_no=f"ZJZF-{index}",
                hospital_id=HOSPITAL,
                state=state,
                online_amount=amount,
                paid_at=paid_at,
                refunds=refunds,
            )
        )
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
            records.append(HospitalRecord(trade_no=order.out_trade_no, amount=order.online_amount))
            records.extend(
                HospitalRecord(trade_no=order.out_trade_no, amount=-r.amount, refund_no=r.out_refund_no)
                for r in order.refunds
            )
    return rows, HospitalSide(hospital_id=HOSPITAL, records=records)


@given(orders=ledgers(), drop=st.integers(min_value=0))
def test_the_reports_lines_add_up_to_the_ledgers_totals(orders: list[LedgerOrder], drop: int) -> None:
    """issue 12 item 19: a ledger the provider's bill and the hospital's records agree with gives no mismatch;
    one provider line dropped gives exactly MISSING_AT_PROVIDER (none while the order is in flight)."""
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
