"""Log lines as JSON objects, one a line, with the request id of the work they describe.

The handlers' ``RedactSecretsFilter`` (hub/logging.py) cleans the message before it
gets here; a traceback is formatted after filters run, so it is redacted here too.
Fields are redacted before they are encoded: redacting the encoded line could cut a
JSON string in half.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from hub.logging import redact
from hub.observability import request_id


class JsonFormatter(logging.Formatter):
    # Attributes every LogRecord has; anything else was passed with ``extra=`` and is
    # kept as a field of its own.
    _STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "message",
        "asctime",
        "request_id",
        "server_time",
        "request",
    }

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": _request_id_of(record),
            "process": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool) else redact(str(value))
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def _request_id_of(record: logging.LogRecord) -> str:
    # django.request logs a failed request's line after the middleware has returned (and
    # unbound the id), passing the request itself: its id is on it.
    return (
        getattr(record, "request_id", "")
        or request_id.current()
        or getattr(getattr(record, "request", None), "request_id", "")
    )
