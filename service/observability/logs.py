"""Structured logs: one JSON object per line, carrying the request id and the task.

The request id of an HTTP request lives in a context variable for the request's duration;
Celery tasks the request triggers carry it in a message header and set it again in the
worker (service/observability/tasks.py), so one id follows a request into its tasks.
Stdlib only: the formatter is small and has no dependencies worth adding.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

# The id of the HTTP request (or, in a worker, of the request that caused the task).
request_id_var: ContextVar[str | None] = ContextVar("dpa_request_id", default=None)
# (task id, task name) while a Celery task runs in this process.
task_var: ContextVar[tuple[str, str] | None] = ContextVar("dpa_task", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# Accept a caller's id only if it cannot forge log lines or grow without bound.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")

# Attributes every LogRecord has; anything else was passed as `extra` and is logged too.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_dpa_handler"


def accept_request_id(raw: str | None) -> str:
    """The caller's id if well-formed, else a fresh one."""
    if raw and _WELL_FORMED.fullmatch(raw):
        return raw
    return new_request_id()


# A fresh id is a random per-process prefix and a counter, 32 hex digits like a UUID: as
# unique in practice, without a getrandom call and a UUID object on every request.
_id_prefix = uuid.uuid4().hex[:16]
_id_counter = itertools.count()


def _new_id_prefix() -> None:
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = uuid.uuid4().hex[:16], itertools.count()


# A forked worker must not repeat its parent's ids.
os.register_at_fork(after_in_child=_new_id_prefix)


def new_request_id() -> str:
    return f"{_id_prefix}{next(_id_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


def current_request_id() -> str | None:
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id, task, then any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        task = task_var.get()
        if task:
            entry["task_id"], entry["task_name"] = task
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, with the request id in brackets when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            parts.append(f"request_id={request_id}")
        task = task_var.get()
        if task:
            parts.append(f"task={task[1]}[{task[0]}]")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def resolve_format(log_format: str | None, env: str | None) -> str:
    """`json` or `text`: as configured, else JSON in production and text elsewhere."""
    chosen = (log_format or "").strip().lower()
    if chosen in {"json", "text"}:
        return chosen
    if chosen:
        raise ValueError(f"LOG_FORMAT must be 'json' or 'text', not {log_format!r}")
    return "json" if (env or "").strip().lower() == "production" else "text"


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(log_format: str, level: str | int = "INFO") -> None:
    """Send the root logger to stderr in the chosen format; safe to call again.

    Handlers installed by others (pytest's capture, for one) are left alone.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = _StderrHandler()
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    handler.setFormatter(make_formatter(log_format))
    root.setLevel(logging.getLevelName(level.upper()) if isinstance(level, str) else level)
