"""What patients are told when something fails, and how GraphQL errors are logged and masked.

An error is shown to the caller only when it is expected: a ``services.refusals.Refused`` (our refusals, with
their code), a hospital's ``HisError`` (its code, with fixed words), or GraphQL's own validation (no original
error). Anything else is a bug of ours: production masks it as "Unexpected error." and it is logged as an error
with its traceback, never as a refusal; a ``ValueError`` is no refusal (issue 12 item 3).

A hospital's own text (its ``msg``, an HTTP error body, a connection error) can name an Oracle error, a Java
class or an internal JDBC address: it never reaches the app. Patients read a fixed Chinese message per
code (``patient_message``: the spec's 附四 wording, or ours for our own codes); the hospital's text goes to
the operators' log, masked (api/logs.py), with the hospital, method and code. Operators read the same
GraphQL answers as patients (code in ``extensions``, fixed message): the text is in the log, by request id.
Hospitals' failures are expected, so they are logged briefly; our own bugs in full.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from his_clients.errors import HisError
from services.refusals import RefusalCode, Refused

log = logging.getLogger("hisgraph.graphql")
hospital_log = logging.getLogger("hisgraph.hospital_said")


def patient_message(code: str) -> str:
    """The fixed message for ``code`` (a 附四 code or one of ours): never the hospital's own text."""
    return RefusalCode.of(code).told


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


def refused_by_hospital(error: HisError) -> Refused:
    """A hospital's failure as the one refusal: its code and fixed words, its own text logged for operators."""
    record_hospital_text(error)
    return Refused(RefusalCode.of(error.code), hospital_id=error.hospital_id)


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Logs each error, and rewrites a hospital's failure to its fixed message before the answer is sent.

    Refusals (``Refused``) and GraphQL's validation are logged briefly as refusals; anything else is a bug,
    logged as an error with its traceback (and masked in production by ``should_mask``)."""
    for error in errors:
        original = error.original_error
        if isinstance(original, HisError):
            record_hospital_text(original)
            error.message = patient_message(original.code)
        elif isinstance(original, Refused):
            log.info("refused %s: %s", original.code.value, error.message)
        elif original is None or isinstance(original, GraphQLError):
            log.info("refused: %s", error.message)
        else:
            StrawberryLogger.error(error, execution_context)


def is_expected(error: GraphQLError) -> bool:
    """Errors whose message is meant for the caller: a ``Refused`` (ours: access, limits, unknown hospitals,
    arguments, with its code), a hospital's ``HisError`` (its code, with the fixed message of
    ``patient_message``), and GraphQL's own validation errors (no original error, or GraphQL's own: a variable's
    invalid value wraps what the scalar raised). Anything else, a ``ValueError`` included, is a bug of ours and is
    masked in production."""
    original = error.original_error
    return original is None or isinstance(original, Refused | HisError | GraphQLError)


def should_mask(error: GraphQLError) -> bool:
    return not is_expected(error)
