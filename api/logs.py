"""Structured logs, one JSON object per line, with personal data masked before anything is written."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from services.masking import mask_text

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class MaskPersonalData(logging.Filter):
    """Rewrites the message and every text field of a record with ID-card and mobile numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, mask_text(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def masked_handler(stream: TextIO, *, json_lines: bool = True) -> logging.Handler:
    """The gateway's log handler: personal data masked, then JSON lines (or plain text) to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter() if json_lines else plain)
    return handler


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Root logging for the gateway's processes: masked, JSON lines on stderr."""
    root = logging.getLogger()
    root.handlers[:] = [masked_handler(sys.stderr, json_lines=json_lines)]
    root.setLevel(level)
