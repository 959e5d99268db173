"""Everything a regional operator's dashboard reads, under one object so that a role check has one place."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.reconciliation import (
    RECONCILIATION_DETAIL,
    RECONCILIATION_QUERY_BY_OUT_TRADE_NO,
    RECONCILIATION_QUERY_BY_OUT_TRADE_NO_AND_REFUND_NO,
    ReconciliationDetailRequest,
    ReconciliationQueryByOutTradeNoAndRefundNoRequest,
    ReconciliationQueryByOutTradeNoRequest,
)
from his_clients.models.reconciliation import (
    TradeRecord as TradeRecordReply,
)
from his_clients.models.statistics import (
    DATA_STATISTICS,
    HOSPITAL_STATISTICS,
    DataStatisticsRequest,
    HospitalStatisticsRequest,
    HospitalTransactionStatistics,
)

from ..arguments import FromTime, HospitalIds, ToTime, in_order, spec_instant
from ..context import Info
from ..fanout import per_hospital
from ..results import InputRefused, required
from .accounts import OperatorAccount, operators_field
from .audit_log import AuditLogPage, audit_log_field
from .audit_reads import audited
from .hospital_health import HealthAtHospital, hospital_health_field
from .inbound import InboundCallRecord, inbound_calls_field
from .job_runs import JobRunRecord, job_runs_field
from .ledger_summary import LedgerSummary, ledger_summary_field
from .messages import (
    MessageCount,
    MessageDelivery,
    MessageDeliveryCount,
    MessagingStatus,
    message_counts_field,
    message_deliveries_field,
    message_delivery_counts_field,
    messaging_field,
)
from .orders import LedgerOrder, LedgerOrderPage, order_field, orders_field
from .reconciliation import (
    TradeKind,
    TradeOrder,
    TradeOrdersAtHospital,
    TradeRecord,
    TradeRecordsAtHospital,
    TradeRefund,
    TradeRefundAtHospital,
)
from .reconciliation_check import ReconciliationDay, reconciliation_check_field
from .statistics import TransactionCountsAtHospital, TransactionStatisticsAtHospital, row_for
from .statistics_series import StatisticsSeries, statistics_field
from .survey_results import SurveyResult, survey_results_field
from .visit_results import VisitResult, visit_results_field

HOSPITALS = (
    "One hospital id or several, comma-separated; hospitals are asked at once. One entry per hospital asked; a "
    "hospital that fails gives a null entry and its own error with extensions {hospitalId, code, method}."
)
OutTradeNo = Annotated[str, strawberry.argument(description="The payment's order number (outTradeNo, 订单号).")]
WINDOW = "The window is from/to, both inclusive; a reversed one is refused (20004) before any call."


def spec_window(from_: FromTime, to: ToTime) -> tuple[str, str]:
    """A window of instants as the spec's two yyyy-MM-dd HH:mm:ss times (Beijing), refused when reversed."""
    in_order(from_, to)
    return spec_instant(from_), spec_instant(to)


def named_hospitals(raw: str) -> str:
    """``hospitalId`` as given, once it names at least one hospital: an empty one (or only commas) is an
    error (20001), never an empty list that reads as "nothing happened" (issue 15 item 6)."""
    if not any(part.strip() for part in (raw or "").split(",")):
        raise InputRefused("hospitalId", ReturnCode.MISSING_PARAMETER, "name at least one hospital")
    return raw


@strawberry.type(
    description=(
        "Regional operators' views across hospitals: statistics (30.x) and the hospitals' side of "
        "reconciliation (14.2.x). Reached through Query.operator."
    )
)
class OperatorViews:
    inbound_calls: list[InboundCallRecord] | None = inbound_calls_field
    job_runs: list[JobRunRecord] | None = job_runs_field
    survey_results: list[SurveyResult] | None = survey_results_field
    message_deliveries: list[MessageDelivery] | None = message_deliveries_field
    message_delivery_counts: list[MessageDeliveryCount] | None = message_delivery_counts_field
    message_counts: list[MessageCount] | None = message_counts_field
    messaging: MessagingStatus | None = messaging_field
    visit_results: list[VisitResult] | None = visit_results_field
    operators: list[OperatorAccount] | None = operators_field
    audit_log: AuditLogPage | None = audit_log_field
    orders: LedgerOrderPage | None = orders_field
    order: LedgerOrder | None = order_field
    ledger_summary: LedgerSummary | None = ledger_summary_field
    hospital_health: list[HealthAtHospital] | None = hospital_health_field
    statistics: StatisticsSeries | None = statistics_field
    reconciliation_check: ReconciliationDay | None = reconciliation_check_field

    @strawberry.field(
        description=f"Transaction figures per hospital over a time window (30.1.1). {HOSPITALS} {WINDOW}",
        graphql_type=list[TransactionStatisticsAtHospital | None] | None,
    )
    def transaction_statistics(
        self, info: Info, hospital_id: HospitalIds, from_: FromTime, to: ToTime
    ) -> list[Awaitable[TransactionStatisticsAtHospital]]:
        start, end = spec_window(from_, to)
        return per_hospital(
            info,
            named_hospitals(hospital_id),
            method=DATA_STATISTICS,
            request=DataStatisticsRequest(start_time=start, end_time=end),
            convert=TransactionStatisticsAtHospital.from_reply,
            empty=TransactionStatisticsAtHospital.nothing,
        )

    @strawberry.field(
        description=(
            f"Transaction and appointment counts per hospital over a time window (30.1.2). {HOSPITALS} {WINDOW}"
        ),
        graphql_type=list[TransactionCountsAtHospital | None] | None,
    )
    def hospital_transaction_counts(
        self, info: Info, hospital_id: HospitalIds, from_: FromTime, to: ToTime
    ) -> list[Awaitable[TransactionCountsAtHospital]]:
        start, end = spec_window(from_, to)
        registry = info.context.registry

        def name_of(hospital: str) -> str:
            found = registry.hospital(hospital)
            return found.name if found else ""

        def convert(hospital: str, rows: list[HospitalTransactionStatistics]) -> TransactionCountsAtHospital:
            found = registry.hospital(hospital)
            row = row_for(hospital, rows, regional=found is not None and found.is_regional)
            if row is None:
                return TransactionCountsAtHospital.nothing(hospital, name_of(hospital))
            counts = TransactionCountsAtHospital.from_row(hospital, row)
            counts.hospital_name = counts.hospital_name or name_of(hospital)
            return counts

        return per_hospital(
            info,
            named_hospitals(hospital_id),
            method=HOSPITAL_STATISTICS,
            request=HospitalStatisticsRequest(start_time=start, end_time=end),
            convert=convert,
            empty=lambda hospital: TransactionCountsAtHospital.nothing(hospital, name_of(hospital)),
        )

    @strawberry.field(
        description=(
            "Each hospital's transactions with tradeTime inside a window (14.2.1), optionally only payments or "
            f"refunds (kind) and one payType. {HOSPITALS} {WINDOW}"
        ),
        graphql_type=list[TradeRecordsAtHospital | None] | None,
    )
    def reconciliation_records(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: FromTime,
        to: ToTime,
        kind: Annotated[
            TradeKind | None, strawberry.argument(description="Only payments, or only refunds; both when left out.")
        ] = None,
        pay_type: Annotated[
            str | None, strawberry.argument(description="Only this payType, e.g. WeChatPay; all when left out.")
        ] = None,
    ) -> list[Awaitable[TradeRecordsAtHospital]]:
        start, end = spec_window(from_, to)

        def wanted(record: TradeRecordReply) -> bool:
            # The hospital's method has no such filters: asking it the same way for every filter lets
            # one request's loader share a single call among several filtered fields.
            is_refund = bool(record.refund_no)
            if kind is not None and is_refund != (kind is TradeKind.REFUND):
                return False
            return pay_type is None or record.pay_type == pay_type

        entries = per_hospital(
            info,
            named_hospitals(hospital_id),
            method=RECONCILIATION_DETAIL,
            request=ReconciliationDetailRequest(start_time=start, end_time=end),
            convert=lambda hospital, records: TradeRecordsAtHospital(
                hospital_id=strawberry.ID(hospital), records=[TradeRecord.from_reply(r) for r in records if wanted(r)]
            ),
            empty=lambda hospital: TradeRecordsAtHospital(hospital_id=strawberry.ID(hospital), records=[]),
        )
        # Patients' names and card numbers: each read is audited (issue 15 item 12).
        # Awaited by graphql-core item by item, as per_hospital's entries are.
        return [
            audited(
                info,
                entry,
                view="reconciliationRecords",
                patients=lambda e: [(str(e.hospital_id), r.medical_card_number) for r in e.records],
            )
            for entry in entries
        ]

    @strawberry.field(
        description=f"What each hospital holds under one order number, outTradeNo (14.2.2). {HOSPITALS}",
        graphql_type=list[TradeOrdersAtHospital | None] | None,
    )
    def reconciliation_orders(
        self, info: Info, hospital_id: HospitalIds, out_trade_no: OutTradeNo
    ) -> list[Awaitable[TradeOrdersAtHospital]]:
        trade_no = required("outTradeNo", out_trade_no)
        return per_hospital(
            info,
            named_hospitals(hospital_id),
            method=RECONCILIATION_QUERY_BY_OUT_TRADE_NO,
            request=ReconciliationQueryByOutTradeNoRequest(trade_no=trade_no),
            convert=lambda hospital, orders: TradeOrdersAtHospital(
                hospital_id=strawberry.ID(hospital), orders=[TradeOrder.from_reply(o) for o in orders]
            ),
            empty=lambda hospital: TradeOrdersAtHospital(hospital_id=strawberry.ID(hospital), orders=[]),
        )

    @strawberry.field(
        description=f"What each hospital holds under an order number and a refund number (14.2.3). {HOSPITALS}",
        graphql_type=list[TradeRefundAtHospital | None] | None,
    )
    def reconciliation_refund(
        self,
        info: Info,
        hospital_id: HospitalIds,
        out_trade_no: OutTradeNo,
        refund_no: Annotated[str, strawberry.argument(description="The refund number (refundNo, 退款单号).")],
    ) -> list[Awaitable[TradeRefundAtHospital]]:
        request = ReconciliationQueryByOutTradeNoAndRefundNoRequest(
            trade_no=required("outTradeNo", out_trade_no), refund_no=required("refundNo", refund_no)
        )
        return per_hospital(
            info,
            named_hospitals(hospital_id),
            method=RECONCILIATION_QUERY_BY_OUT_TRADE_NO_AND_REFUND_NO,
            request=request,
            convert=lambda hospital, refund: TradeRefundAtHospital(
                hospital_id=strawberry.ID(hospital), refund=TradeRefund.from_reply(refund)
            ),
            empty=lambda hospital: TradeRefundAtHospital(hospital_id=strawberry.ID(hospital), refund=None),
        )
