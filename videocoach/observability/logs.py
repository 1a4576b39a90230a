"""Log lines: plain on the embedded default, one JSON object per line in production (or
with VIDEOCOACH_LOG_FORMAT=json). Every line carries the request id of the request, or
of the job a request queued, it belongs to, so a teacher's quoted reference finds both.

Nothing here logs bodies: callers log who and what (recipients, subjects, ids), never
message texts, tokens or passwords.
"""

from __future__ import annotations

import datetime
import logging
import re
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-Id"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id"]
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
# What a proxy or client may send as its own id: short, and safe to echo in a header.
ACCEPTED_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
NO_REQUEST = "-"

_request_id: ContextVar[str | None] = ContextVar("videocoach_request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(sent: str | None) -> str:
    """The id a proxy or client sent when it is a plain token, else a new one."""
    if sent and ACCEPTED_REQUEST_ID.match(sent):
        return sent
    return new_request_id()


def bind_request_id(request_id: str) -> object:
    """Lines logged from now on carry `request_id` (a request, or a job it queued); pass
    the returned token to unbind_request_id when that work ends."""
    return _request_id.set(request_id)


def unbind_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or NO_REQUEST
        return True


class IsoJsonFormatter(JsonFormatter):
    """One JSON object per line; `time` in ISO 8601 UTC with milliseconds."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return IsoJsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES)
    return logging.Formatter(PLAIN_FORMAT)


class _VideocoachHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so configuring again (one process, several apps in tests) replaces nothing
    else. It keeps the stderr it was made with: a Celery worker later redirects sys.stderr
    into logging itself, which would swallow every line."""


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Root logging for this process: one stderr handler of ours in `log_format`. Like
    logging.basicConfig, it adds none where someone else (pytest, a host application)
    already handles the root logger's lines."""
    root = logging.getLogger()
    root.setLevel(level)
    ours = [h for h in root.handlers if isinstance(h, _VideocoachHandler)]
    if not ours and root.handlers:
        return
    handler = ours[0] if ours else _VideocoachHandler(sys.stderr)
    if not ours:
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter_for(log_format))


# gunicorn's access log atoms worth a field of their own in a JSON line.
GUNICORN_ACCESS_FIELDS = {
    # The client the app took (videocoach.proxies rewrites REMOTE_ADDR), and who connected.
    "h": "client_address",
    "{videocoach.peer_addr}e": "peer_address",
    "m": "method",
    "U": "path",
    "s": "status",
    "B": "bytes",
    "M": "duration_ms",
    "a": "user_agent",
    "{x-request-id}o": "request_id",
}


class GunicornAccessJsonFormatter(IsoJsonFormatter):
    """gunicorn's access lines as JSON: the line as `message`, and its parts as fields
    (the request id is the one the app answered with)."""

    def add_fields(self, log_data, record, message_dict):  # type: ignore[no-untyped-def]
        super().add_fields(log_data, record, message_dict)
        atoms = record.args if isinstance(record.args, dict) else {}
        for atom, name in GUNICORN_ACCESS_FIELDS.items():
            if atom in atoms and atoms[atom] not in (None, "-"):
                log_data[name] = atoms[atom]


def gunicorn_log_config(log_format: str) -> dict[str, object]:
    """gunicorn's logconfig_dict: its error and access lines in `log_format` on stdout."""
    json_lines = log_format == "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "error": {
                "()": IsoJsonFormatter,
                "fmt": ["asctime", "levelname", "name", "message"],
                "rename_fields": JSON_NAMES,
            }
            if json_lines
            else {"format": PLAIN_FORMAT.replace(" [%(request_id)s]", "")},
            "access": {
                "()": GunicornAccessJsonFormatter,
                "fmt": ["asctime", "levelname", "name", "message"],
                "rename_fields": JSON_NAMES,
            }
            if json_lines
            else {"format": "%(message)s"},
        },
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "error",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        # The app's processes add their own root handler (configure_logging).
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }
