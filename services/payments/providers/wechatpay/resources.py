"""WeChat's transaction and refund documents (query replies and decrypted notifications) as our dataclasses.

A transaction reads the same whether it comes from ``GET .../out-trade-no/{out_trade_no}`` or from a
TRANSACTION.SUCCESS notification; a refund reply calls its state ``status``, a refund notification
``refund_status``. Amounts are fen here and yuan once read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from ..base import ProviderOrder, ProviderRefund, RefundState, TradeState
from .money import fen_to_yuan

TRADE_STATES: dict[str, TradeState] = {state.value: state for state in TradeState} | {
    "REVOKED": TradeState.CLOSED,  # only payment-code (付款码) orders are revoked; closed to us
}
REFUND_STATES: dict[str, RefundState] = {state.value: state for state in RefundState}


S = TypeVar("S", TradeState, RefundState)


class MalformedResource(ValueError):
    """A document missing a field we need, or holding one we cannot read."""


def order_from(document: Mapping[str, Any]) -> ProviderOrder:
    """A transaction document (query reply or decrypted TRANSACTION.* resource)."""
    return ProviderOrder(
        out_trade_no=text(document, "out_trade_no"),
        state=_state(TRADE_STATES, text(document, "trade_state")),
        amount=fen_to_yuan(fen(document, "total")),
        transaction_id=optional_text(document, "transaction_id"),
        paid_at=moment(document.get("success_time")),
    )


def refund_from(document: Mapping[str, Any], *, state_field: str = "status") -> ProviderRefund:
    """A refund document (refund or refund-query reply; ``refund_status`` in a notification)."""
    return ProviderRefund(
        out_refund_no=text(document, "out_refund_no"),
        out_trade_no=text(document, "out_trade_no"),
        state=_state(REFUND_STATES, text(document, state_field)),
        amount=fen_to_yuan(fen(document, "refund")),
        refund_id=optional_text(document, "refund_id"),
        succeeded_at=moment(document.get("success_time")),
    )


def text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedResource(f"{name} is missing")
    return value


def optional_text(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) and value else None


def fen(document: Mapping[str, Any], name: str) -> int:
    """An amount in ``document["amount"]``, in CNY fen."""
    amount = document.get("amount")
    if not isinstance(amount, Mapping):
        raise MalformedResource("amount is missing")
    value = amount.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedResource(f"amount.{name} is not a whole number of fen: {value!r}")
    currency = amount.get("currency", "CNY")
    if currency != "CNY":
        raise MalformedResource(f"amount in {currency!r}, not CNY")
    return value


def moment(value: object) -> datetime | None:
    """An RFC 3339 time such as 2018-06-08T10:34:56+08:00."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedResource(f"not a time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedResource(f"not a time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise MalformedResource(f"a time without its offset: {value!r}")
    return parsed


def _state(states: Mapping[str, S], value: str) -> S:
    try:
        return states[value]
    except KeyError:
        raise MalformedResource(f"unknown state {value!r}") from None
