"""WeChat's trade bill (交易账单, bill_type ALL) as ``BillRow``s.

The file is CSV: a header line, one line per payment or refund with every field prefixed by a
backtick (so spreadsheets keep long numbers as text), then a summary header (总交易单数,...) and one
summary line. Columns are found by their header names, whose order WeChat does not promise. Amounts
are yuan with two places already; times are Beijing time without an offset.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from ..base import BillRow
from .money import CENT

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
SUMMARY_FIRST_COLUMN = "总交易单数"

TIME = "交易时间"
TRANSACTION_ID = "微信订单号"
OUT_TRADE_NO = "商户订单号"
STATE = "交易状态"
SETTLEMENT_AMOUNT = "应结订单金额"
"""What the merchant is settled for the payment (order amount less non-recharge coupons)."""
ORDER_AMOUNT = "订单金额"
OUT_REFUND_NO = "商户退款单号"
REFUND_AMOUNT = "退款金额"


class MalformedBill(ValueError):
    """A bill we cannot read line by line: reconciliation must not guess."""


def parse_trade_bill(content: str) -> list[BillRow]:
    lines = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    if not lines:
        return []
    header = [_field(name) for name in lines[0]]
    missing = {TIME, TRANSACTION_ID, OUT_TRADE_NO, STATE, REFUND_AMOUNT, OUT_REFUND_NO} - set(header)
    if missing or (ORDER_AMOUNT not in header and SETTLEMENT_AMOUNT not in header):
        raise MalformedBill(f"bill header lacks {sorted(missing) or ORDER_AMOUNT}")
    rows: list[BillRow] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        if _field(line[0]) == SUMMARY_FIRST_COLUMN:
            break
        if len(line) != len(header):
            raise MalformedBill(f"line {number} has {len(line)} fields, the header {len(header)}")
        row = dict(zip(header, (_field(value) for value in line), strict=True))
        rows.append(
            BillRow(
                out_trade_no=row[OUT_TRADE_NO],
                transaction_id=row[TRANSACTION_ID],
                state=row[STATE],
                amount=_yuan(row.get(ORDER_AMOUNT) or row[SETTLEMENT_AMOUNT], number),
                refund_amount=_yuan(row[REFUND_AMOUNT] or "0.00", number),
                out_refund_no=row[OUT_REFUND_NO] if row[OUT_REFUND_NO] not in {"", "0"} else None,
                at=_time(row[TIME], number),
            )
        )
    return rows


def _field(value: str) -> str:
    return value.strip().removeprefix("`").strip()


def _yuan(value: str, line: int) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise MalformedBill(f"line {line}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise MalformedBill(f"line {line}: {value!r} is not an amount in yuan and fen")
    return amount.quantize(CENT)


def _time(value: str, line: int) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        raise MalformedBill(f"line {line}: {value!r} is not a time") from None
