"""What patients are told when something fails, and how GraphQL errors are logged.

A hospital's own text (its ``msg``, an HTTP error body, a connection error) can name an Oracle error, a Java
class or an internal JDBC address: it never reaches the app. Patients read a fixed Chinese message per
code (``patient_message``: the spec's 附四 wording, or ours for our own codes); the hospital's text goes to
the operators' log, masked (api/logs.py), with the hospital, method and code. Operators read the same
GraphQL answers as patients (code in ``extensions``, fixed message): the text is in the log, by request id.
Hospitals' failures are expected, so they are logged briefly; our own bugs in full.
"""

from __future__ import annotations

import logging
from typing import Final

from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from his_clients.codes import ReturnCode
from his_clients.errors import HisError

log = logging.getLogger("hisgraph.graphql")
hospital_log = logging.getLogger("hisgraph.hospital_said")

_TRY_LATER: Final = "医院系统暂时无法办理，请稍后再试，或到医院窗口咨询。"
_OWN_CODES: Final = {
    "HIS_TIMEOUT": "医院系统响应超时，请稍后再试。",
    "HIS_CONNECT_ERROR": "暂时无法连接医院系统，请稍后再试。",
    "HIS_HTTP_ERROR": "医院系统暂时无法访问，请稍后再试。",
    "HIS_CIRCUIT_OPEN": "医院系统暂时不可用，请稍后再试。",
    "HIS_PROTOCOL_ERROR": "医院系统返回的结果无法识别，请稍后再试。",
    "HIS_UNAVAILABLE": "医院系统暂时不可用，请稍后再试。",
    # Ours, not the hospital's: the gateway itself is saturated, or this request asked too many hospitals.
    "GATEWAY_BUSY": "当前使用人数较多，请稍后再试。",
    "HIS_CALL_BUDGET": "一次查询的医院过多，请减少医院后再试。",
}
# 附四 codes whose wording says nothing a patient can act on, or is written for integrators (10002 on refunds).
_REWORDED: Final = {
    ReturnCode.NO_DATA: "未查询到数据。",
    ReturnCode.SYSTEM_ERROR: _TRY_LATER,
    ReturnCode.DATABASE_ERROR: _TRY_LATER,
    ReturnCode.UNKNOWN_ERROR: _TRY_LATER,
    ReturnCode.BUSY: "医院系统繁忙，请稍后再试。",
}


def patient_message(code: str) -> str:
    """The fixed message for ``code`` (a 附四 code or one of our HIS_* codes): never the hospital's own text."""
    if code in _OWN_CODES:
        return _OWN_CODES[code]
    known = ReturnCode.parse(code)
    if known is None:
        return _TRY_LATER
    return _REWORDED.get(known, known.meaning)


def record_hospital_text(error: HisError) -> None:
    """The hospital's own words, for operators only: to the log (masked there), never to the app."""
    hospital_log.warning(
        "hospital %s, %s answered %s: %s",
        error.hospital_id,
        error.method,
        error.code,
        error.message,
        extra=error.extensions,
    )


def told_to_patient(error: HisError) -> str:
    """What a patient reads of a hospital's failure (``patient_message``), its own text logged for operators."""
    record_hospital_text(error)
    return patient_message(error.code)


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Logs each error, and rewrites a hospital's failure to its fixed message before the answer is sent."""
    for error in errors:
        original = error.original_error
        if isinstance(original, HisError):
            record_hospital_text(original)
            error.message = patient_message(original.code)
        elif original is None or isinstance(original, ValueError):
            log.info("refused: %s", error.message)
        else:
            StrawberryLogger.error(error, execution_context)


def is_expected(error: GraphQLError) -> bool:
    """Errors whose message is meant for the caller: a hospital's refusal (its code, with the fixed message
    of ``patient_message``), our refusals that carry a code (limits, access, unknown hospitals), and GraphQL's
    own validation errors. Anything else is a bug of ours and is masked in production."""
    original = error.original_error
    if original is None:
        return True
    return isinstance(original, HisError) or isinstance(getattr(original, "extensions", None), dict)


def should_mask(error: GraphQLError) -> bool:
    return not is_expected(error)
