"""Keep OAuth secrets out of access logs: the callback URL carries the authorization code."""

import logging
import re

# Query parameters whose values are secrets or one-time credentials.
SECRET_PARAMS = ("code", "state", "token", "access_token", "refresh_token", "id_token", "code_verifier",
                 "client_secret", "session_state")
_SECRET_QUERY = re.compile(r"(?<=[?&;])(" + "|".join(SECRET_PARAMS) + r")=[^&;\s\"']*", re.I)
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    return _SECRET_QUERY.sub(r"\1=[redacted]", text)


class RedactSecrets(logging.Filter):
    """Rewrite a record's message with secret query values replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install():
    """Attach the filter to the loggers of the servers that run the portal (idempotent)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
