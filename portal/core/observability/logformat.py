"""Logs an operator can parse, and that never carry a secret. No Flask here.

- `configure()` gives the root logger one handler writing one JSON object per line; every logger
  (the portal's, urllib3, gunicorn) goes through it, and through RedactSecrets.
- Each request gets an id (the caller's X-Request-ID when it is sane, else a new one), echoed back
  in X-Request-ID and added to every line logged while the request runs (the context variable `current_request_id`,
  which the web layer sets); at its end one line says what happened:
  method, path without its query, status, duration and the signed-in person's `sub`.
- This module imports nothing of the portal's: gunicorn loads its formatter and filters in the master.
- RedactSecrets rewrites OAuth query values and bearer tokens in any message it sees; it also
  sits on the servers' access loggers, for whatever handler they end up with.
"""

import contextvars
import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime

try:  # the OpenTelemetry API alone (no SDK): a trace id for lines logged inside a span, when tracing is on
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - installed with the portal
    _otel_trace = None

# Query parameters whose values are secrets or one-time credentials.
SECRET_PARAMS = ("code", "state", "token", "access_token", "refresh_token", "id_token", "code_verifier",
                 "client_secret", "client_assertion", "logout_token", "id_token_hint", "session_state")
_SECRET_QUERY = re.compile(r"(?<=[?&;])(" + "|".join(SECRET_PARAMS) + r")=[^&;\s\"']*", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
REQUEST_LOGGER = "portal.request"
QUIET_PATHS = ("/healthz", "/readyz")  # logged at DEBUG when they succeed
_request_log = logging.getLogger(REQUEST_LOGGER)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # an X-Request-ID we pass on as it is (the whole value)
# Attributes every LogRecord has; anything else on a record was passed in `extra` and goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(text: str) -> str:
    return _BEARER.sub(r"\1[redacted]", _SECRET_QUERY.sub(r"\1=[redacted]", text))


class RedactSecrets(logging.Filter):
    """Rewrite a record's message with secret query values and bearer tokens replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestContext(logging.Filter):
    """Add the current request's id to every record logged while it runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = current_request_id.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id = current
        if not hasattr(record, "trace_id"):  # the line's trace, to find it in the tracing system (if tracing is on)
            context = _otel_trace.get_current_span().get_span_context() if _otel_trace else None
            if context is not None and context.is_valid:
                record.trace_id = f"{context.trace_id:032x}"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and whatever was passed in `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def dict_config(level: str, server_loggers: tuple[str, ...]) -> dict:
    """logging's dictConfig for a server (gunicorn.conf.py, serve.py): every record, the server's own loggers'
    included, as one redacted JSON line on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": f"{__name__}.RedactSecrets"}, "request": {"()": f"{__name__}.RequestContext"}},
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json",
                                "filters": ["redact", "request"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {name: {"level": "INFO", "handlers": [], "propagate": True} for name in server_loggers},
    }


def configure(level: int = logging.INFO, stream=None):
    """Send every logger's records, as redacted JSON lines, to stream (default stderr). Idempotent."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return  # already configured (by gunicorn.conf.py's logconfig_dict, or an earlier call)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    handler.addFilter(RequestContext())
    root.addHandler(handler)
    root.setLevel(level)


def install():
    """Redact the servers' access loggers, whatever handlers they write to (idempotent)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


def request_id_for(given: str) -> str:
    """The caller's X-Request-ID when it is sane, else a new one (32 random hex digits)."""
    return given if given and _REQUEST_ID.fullmatch(given) else os.urandom(16).hex()


def log_request(method: str, path: str, status: int, started: float, request_id: str, user: str | None):
    """The request's one line (see the module docstring); the /api/ fast path writes it too."""
    quiet = path in QUIET_PATHS and status < 400  # orchestrators poll these all day
    path = redact(path)
    _request_log.log(
        logging.DEBUG if quiet else logging.INFO, "%s %s %s", method, path, status,
        extra={"method": method, "path": path, "status": status,
               "duration_ms": round(1000 * (time.perf_counter() - started), 1), "request_id": request_id,
               "user": user})
