"""The body of a payment or refund notification, once its signature is verified: decrypted and read.

A refund notification (REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED) says ``state=REFUNDED`` only
when the money went back; otherwise the payment stands (``PAID``) and ``event_type`` says why. Its
``amount`` is the refunded amount, and ``raw`` keeps the whole decrypted resource either way.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import InvalidNotification, PaymentNotification, TradeState
from .money import fen_to_yuan
from .resources import MalformedResource, fen, optional_text, order_from, text
from .signing import DecryptionFailed, aead_decrypt

ALGORITHM = "AEAD_AES_256_GCM"


def read_notification(body: bytes, *, apiv3_key: bytes, mchid: str, appid: str) -> PaymentNotification:
    """Decrypt and read a verified notification body; raises InvalidNotification."""
    try:
        envelope = _object(body)
        event_id, event_type = text(envelope, "id"), text(envelope, "event_type")
        resource = _decrypt(envelope.get("resource"), apiv3_key=apiv3_key)
        if resource.get("mchid") != mchid:
            raise InvalidNotification(f"notification for merchant {resource.get('mchid')!r}, not ours")
        if event_type.startswith("TRANSACTION."):
            if resource.get("appid") != appid:
                raise InvalidNotification(f"notification for app {resource.get('appid')!r}, not ours")
            order = order_from(resource)
            return PaymentNotification(
                event_id=event_id,
                event_type=event_type,
                out_trade_no=order.out_trade_no,
                state=order.state,
                amount=order.amount,
                transaction_id=order.transaction_id,
                paid_at=order.paid_at,
                raw=resource,
            )
        if event_type.startswith("REFUND."):
            refunded = text(resource, "refund_status") == "SUCCESS"
            return PaymentNotification(
                event_id=event_id,
                event_type=event_type,
                out_trade_no=text(resource, "out_trade_no"),
                state=TradeState.REFUNDED if refunded else TradeState.PAID,
                amount=fen_to_yuan(fen(resource, "refund")),
                transaction_id=optional_text(resource, "transaction_id"),
                paid_at=None,
                out_refund_no=text(resource, "out_refund_no"),
                raw=resource,
            )
    except MalformedResource as exc:
        raise InvalidNotification(f"notification unreadable: {exc}") from exc
    raise InvalidNotification(f"notification of an event we do not take: {event_type}")


def _object(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidNotification("notification body is not JSON") from exc
    if not isinstance(document, dict):
        raise InvalidNotification("notification body is not a JSON object")
    return document


def _decrypt(resource: object, *, apiv3_key: bytes) -> dict[str, Any]:
    if not isinstance(resource, dict):
        raise InvalidNotification("notification without a resource")
    if resource.get("algorithm") != ALGORITHM:
        raise InvalidNotification(f"resource encrypted with {resource.get('algorithm')!r}")
    try:
        plaintext = aead_decrypt(
            apiv3_key,
            nonce=text(resource, "nonce"),
            ciphertext=text(resource, "ciphertext"),
            associated_data=str(resource.get("associated_data") or ""),
        )
    except DecryptionFailed as exc:
        raise InvalidNotification(str(exc)) from exc
    return _object(plaintext)
