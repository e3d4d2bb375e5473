"""Structured logs: one JSON object per line, carrying the request id of the current request.

The request id is set once per HTTP request (villagegraph/server/auth.py) in a context variable,
so every record logged while serving it, from any module, carries the id the response's
X-Request-Id header shows. This module only formats; it decides nothing about what to log.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import logging.handlers
import queue
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vg_request_id", default=None
)

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted before it crossed threads (BackgroundHandler)
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class BackgroundHandler(logging.handlers.QueueHandler):
    """Hands records to a queue a thread writes from: the event loop neither formats JSON
    nor waits on the stream (a request's log line cost a fifth of the feed's throughput).
    The request id is taken here, where its context variable is still set."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:  # tracebacks do not cross threads: format them now
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record


_listener: logging.handlers.QueueListener | None = None


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr, written by a background thread (stopped at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
    stream = logging.StreamHandler()
    stream.setFormatter(JsonFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, stream)
    _listener.start()
    atexit.register(_listener.stop)
    root = logging.getLogger()
    root.handlers[:] = [BackgroundHandler(records)]
    root.setLevel(level)
