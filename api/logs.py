"""Structured logs, one JSON object per line, with personal data and secrets masked before anything is written.

Every logger of the process goes through one handler (``configure_logging``, and ``log_config`` for uvicorn,
which applies it in each worker): the gateway's own, uvicorn's access and error lines, strawberry's,
SQLAlchemy's. What is masked, in the message, in every text field and in tracebacks:

- ID-card and mobile numbers (services.masking), wherever they appear;
- the values of sensitive query parameters (``?idCard=...&phone=...&token=...``);
- bearer tokens and signed tokens (sessions, file and survey links: ``<body>.<mac>``), including the
  token in a ``/survey/...`` or ``/files/...`` path.

Each line carries ``request_id`` (from ``RequestIds``: the caller's ``X-Request-Id`` when it is sane,
otherwise a new one) and ``trace_id`` (the current OpenTelemetry span's, api/tracing.py; or ``trace_id_var``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from typing import Any, Final, TextIO

from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.masking import mask_text

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_NOT_WRITTEN: Final = _STANDARD | {"color_message"}  # uvicorn's terminal colours of the same message

request_id_var: ContextVar[str] = ContextVar("hisgraph_request_id", default="")
"""The id of the request being served (empty outside a request)."""
trace_id_var: ContextVar[str] = ContextVar("hisgraph_trace_id", default="")
"""The trace id of the request being served, once tracing sets it (empty until then)."""


def current_trace_id() -> str:
    """The current span's trace id (32 hex digits; api/tracing.py), or "" outside a trace."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


_SENSITIVE_WORDS: Final = (
    "idcard|id_card|idno|idnumber|cardno|card_no|cardnumber|phone|mobile|token|sign|password|passwd|secret|"
    "openid|unionid|session"
)
_SENSITIVE_NAMES: Final = "code|key|pwd|tel|auth"
_QUERY_VALUE = re.compile(rf"(?i)([?&;](?:[\w.-]*(?:{_SENSITIVE_WORDS})[\w.-]*|{_SENSITIVE_NAMES})=)[^&\s\"'#]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}")
_LINK_PATH = re.compile(r"(/(?:survey|files)/)[^/?#\s\"']+")
_SIGNED_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])")
_SECRET_JSON = re.compile(
    r"(?i)([\"']?(?:password|passwd|secret|token|access_token|sign|signature|authorization|api_?key)[\"']?"
    r"\s*[:=]\s*[\"']?)([^\"'\s,}&]{4,})"
)


_MAYBE_SENSITIVE = re.compile(r"[=:/]|\d{11}|(?i:bearer|basic)|[A-Za-z0-9_-]{16}\.")
"""What every pattern below needs to match at least once (each needs one of: ``=`` or ``:`` for a query value or
a secret, ``/`` for a link, eleven digits in a row for a mobile or ID number, the word bearer or basic, or 16
token characters and a dot for a signed token), in the same regular-expression semantics (Unicode digits,
Unicode case folding). Text without it cannot match any of them and is returned as it is, with one search
instead of seven substitutions: most lines (``his call``, method names, codes) are such text."""


def mask_log_text(text: str) -> str:
    """``text`` as a log line may show it: personal data and secrets masked (see the module's docstring)."""
    if not text or _MAYBE_SENSITIVE.search(text) is None:
        return text
    return _mask_log_text(text)


def _mask_log_text(text: str) -> str:
    text = _QUERY_VALUE.sub(r"\1***", text)
    text = _LINK_PATH.sub(r"\1***", text)
    text = _BEARER.sub(r"\1\2***", text)
    text = _SIGNED_TOKEN.sub("***", text)
    text = _SECRET_JSON.sub(r"\1***", text)
    return mask_text(text)


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask_log_text(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


class MaskPersonalData(logging.Filter):
    """Rewrites the message, every extra field and the traceback of a record with personal data and
    secrets masked. Idempotent: a record passed through twice comes out the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: still log, masked
            message = f"{record.msg} {record.args}"
        record.msg = mask_log_text(message)
        record.args = None
        fields = vars(record)
        for key in fields.keys() - _STANDARD:  # the extras: what the call added to the record
            fields[key] = _masked(fields[key])
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        # The raw exception stays out of every formatter's reach: only the masked text is written.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        # A caller's own X-Request-Id is kept when plain, so it is masked like any text it could smuggle in.
        record.request_id = mask_log_text(getattr(record, "request_id", None) or request_id_var.get())
        record.trace_id = getattr(record, "trace_id", None) or trace_id_var.get() or current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: at, level, logger, msg, request_id, trace_id, extras, exc."""

    _second: int = -1
    _at: str = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # many lines share a second: its text is made once
            self._second, self._at = second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        entry: dict[str, Any] = {
            "at": self._at,
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id_var.get(),
            "trace_id": getattr(record, "trace_id", "") or trace_id_var.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _NOT_WRITTEN and k not in entry})
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def masked_handler(stream: TextIO, *, json_lines: bool = True) -> logging.Handler:
    """The gateway's log handler: personal data masked, then JSON lines (or plain text) to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    handler.setFormatter(JsonFormatter() if json_lines else _TextFormatter())
    return handler


def stderr_handler(json_lines: bool = True) -> logging.Handler:
    """``masked_handler`` on stderr; the factory ``log_config`` names for uvicorn's dictConfig."""
    return masked_handler(sys.stderr, json_lines=json_lines)


# Loggers that libraries give handlers of their own (uvicorn's defaults): they must pass on to ours instead.
_LIBRARY_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "strawberry", "sqlalchemy")


def log_config(level: str = "INFO", *, json_lines: bool = True, access_log: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``: the masked handler on the root, and
    every library logger passing its lines to it (uvicorn applies this in each worker process)."""
    loggers: dict[str, Any] = {name: {"handlers": [], "propagate": True} for name in _LIBRARY_LOGGERS}
    loggers["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    loggers["sqlalchemy"]["level"] = "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"masked": {"()": "api.logs.stderr_handler", "json_lines": json_lines}},
        "root": {"handlers": ["masked"], "level": level},
        "loggers": loggers,
    }


def configure_logging(level: str = "INFO", *, json_lines: bool = True, access_log: bool = True) -> None:
    """Logging for the gateway's processes: masked, JSON lines on stderr, for every logger."""
    import logging.config

    logging.config.dictConfig(log_config(level, json_lines=json_lines, access_log=access_log))
    logging.captureWarnings(True)
    # No line these handlers write names the file, line or function a call came from: the logging HOWTO's
    # "Optimization" knob spares every record the stack walk that finds them.
    logging._srcfile = None


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


_BASE32: Final = bytes.maketrans(bytes(range(256)), b"abcdefghijklmnopqrstuvwxyz234567" * 8)
"""Each byte to one of 32 letters and digits by its low five bits (256 is 8 x 32: every letter equally likely)."""


def new_request_id() -> str:
    """A random request id in base32's letters (a-z, 2-7): 24 random bytes, 5 bits each, 120 bits, and never a run
    of digits that reads as a mobile or ID-card number (a hex id sometimes does, and a log scanner rightly flags
    it). One table lookup per byte (~0.3 us), not base64.b32encode's Python loop (~1.7 us), on every request."""
    return os.urandom(24).translate(_BASE32).decode("ascii")


class RequestIds:
    """ASGI middleware: each request gets an id for its log lines, answered as ``X-Request-Id``.

    The caller's ``X-Request-Id`` is kept when it is short and plain (a load balancer's); anything else is
    replaced, so a caller cannot write into our logs through it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers", ()) if name == b"x-request-id"), b"")
        text = given.decode("latin-1")
        request_id = text if _REQUEST_ID.fullmatch(text) else new_request_id()
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
