"""Rate limits per client address: signing in (/login, /callback) and the forms that end sessions
(RATE_LIMIT_SIGN_IN); the provider's back-channel logout (RATE_LIMIT_BACKCHANNEL_LOGOUT, counting refusals only).

The address is the real client's: werkzeug's ProxyFix has already taken it from X-Forwarded-For when
TRUSTED_PROXY_COUNT proxies are trusted, and ignores that header otherwise. Counters live in the
portal's own Redis (its connection pool, so Sentinel and Cluster setups apply to them too). If Redis
can't be used, the limiter counts in memory instead of failing the request: a limiter never takes the
portal down. A refusal answers 429 with Retry-After, as a page or JSON.
"""

import logging
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from limits import parse

from ..core.observability.metrics import RATE_LIMITED
from ..core.storage.keyspace import RATE_LIMIT
from .services import settings

log = logging.getLogger(__name__)


def client_address() -> str:
    return request.remote_addr or "unknown"


def count_refusal(limit: RequestLimit):
    RATE_LIMITED.labels(request.endpoint or "-").inc()


SIGN_IN_ENDPOINTS = ("auth.login", "auth.callback")
# The sessions page's forms (signin.your_sessions), at the sign-in limit too.
SESSION_FORM_ENDPOINTS = ("sessions.end_one", "sessions.end_others", "sessions.end_everywhere")
BACKCHANNEL_ENDPOINT = "backchannel.backchannel_logout"


def sign_in_limit() -> str:
    """The limit for each of /login and /callback, from settings (RATE_LIMIT_SIGN_IN)."""
    return settings().sign_in_rate_limit


class OneLine(logging.Filter):
    """Flask-Limiter swallows a storage error and logs it with its stack (Redis full, say): the portal's log keeps one
    line a problem, naming the error's kind, never a traceback (issue 28)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            error = record.exc_info[1]
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__}", ()
            record.exc_info, record.exc_text = None, None
        return True


def init_app(app: Flask, storage_uri: str, storage_options: dict) -> Limiter:
    """Limit the sign-in endpoints (register the blueprints first), counting in the portal's Redis
    (core.storage.keyspace.limiter_storage gives the URI and options for its topology).

    One Limiter per app: Flask-Limiter adds each init_app's storage options to those of earlier ones,
    so a shared instance would carry one app's Redis connection pool into the next."""
    limiter = Limiter(key_func=client_address, key_prefix=RATE_LIMIT, headers_enabled=True, swallow_errors=True,
                      in_memory_fallback_enabled=True, retry_after="delta-seconds", on_breach=count_refusal,
                      storage_uri=storage_uri, storage_options=storage_options)
    limiter.init_app(app)
    if not any(isinstance(f, OneLine) for f in logging.getLogger("flask-limiter").filters):
        logging.getLogger("flask-limiter").addFilter(OneLine())
    for endpoint in SIGN_IN_ENDPOINTS + SESSION_FORM_ENDPOINTS:
        app.view_functions[endpoint] = limiter.limit(sign_in_limit)(app.view_functions[endpoint])
    # Back-channel logout counts in the view (count_logout_refusal): only refused tokens count, and a token that
    # verifies under the tenant's keys is acted on whatever its address has sent (Auth0's outbound addresses are
    # shared by a region's tenants: another tenant's forgeries must not hold back this tenant's logouts).
    app.extensions[BACKCHANNEL_LIMITER] = limiter
    return limiter


BACKCHANNEL_LIMITER = "navexa_portal_backchannel_limiter"


def count_logout_refusal() -> int | None:
    """Count one refused logout token against its address (RATE_LIMIT_BACKCHANNEL_LOGOUT); None while the address
    is within its limit, else the seconds until it is (the refusal is then a 429). Redis trouble never refuses."""
    limiter = current_app.extensions[BACKCHANNEL_LIMITER]
    item = parse(settings().backchannel_rate_limit)
    key = (RATE_LIMIT, "backchannel-logout", client_address())
    try:
        if limiter.limiter.hit(item, *key):
            return None
        reset, _ = limiter.limiter.get_window_stats(item, *key)
    except Exception as error:  # noqa: BLE001 - a limiter never takes the portal down (as swallow_errors does)
        log.warning("back-channel logout rate limit not counted: %s", type(error).__name__)
        return None
    RATE_LIMITED.labels(BACKCHANNEL_ENDPOINT).inc()
    return max(1, math.ceil(reset - time.time()))
