"""The one place errors become responses: a page, or JSON under /api/ and for XHR.

What each error is and what the person is told about it is web.problems (the whole tree is in its
docstring); this module only renders, and registers the handlers.
"""

import logging

import redis
from flask import make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ..core.navexa import client as navexa
from ..core.oauth import provider
from ..core.observability.metrics import REDIS_ERRORS
from ..settings import MAX_BODY
from .problems import PortalError, SessionExpired, StoreUnavailable, json_body, navexa_error, provider_error

log = logging.getLogger(__name__)


JSON_PATHS = ("/api/", "/backchannel-logout")  # answered as JSON whatever goes wrong (the latter is the provider's)


def wants_json() -> bool:
    return request.path.startswith(JSON_PATHS) or request.headers.get("X-Requested-With") == "XMLHttpRequest"


def retry_link() -> str | None:
    """This request's own address, if trying it again is harmless (GET)."""
    return request.full_path.rstrip("?") if request.method == "GET" else None


def render_error(error: PortalError):
    """The page or JSON for an error the portal answers on purpose."""
    if isinstance(error, SessionExpired) and not wants_json():
        return redirect(url_for("auth.login", next=retry_link(), expired=1))
    if wants_json():
        response = make_response(json_body(error))
        response.mimetype = "application/json"
    else:
        response = make_response(render_template("error.html", error=error))
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def render_navexa_error(error: navexa.NavexaError):
    """A failed Navexa API call, as the page or JSON the person should see."""
    return render_error(navexa_error(error, retry_link()))


def render_provider_failure(error: provider.ProviderFailure):
    return render_error(provider_error(error, retry_link()))


HTTP_TITLES = {404: "Page not found", 405: "That method isn't allowed here", 413: "That's more than the portal accepts"}
HTTP_MESSAGES = {404: "There's nothing at this address. The link may be mistyped, or the page may have moved.",
                 413: f"What was sent is larger than {MAX_BODY // (1024 * 1024)} MB, the most the portal accepts in one "
                      "request. Nothing was changed: go back and send less."}


def render_http_exception(error: HTTPException):
    response = render_error(PortalError(HTTP_MESSAGES.get(error.code, error.description), status=error.code,
                                        code=error.name.lower().replace(" ", "_"),
                                        title=HTTP_TITLES.get(error.code, error.name)))
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def render_server_error(error):
    """Last resort: unexpected exceptions, including those raised opening or saving the session."""
    original = getattr(error, "original_exception", error)
    if isinstance(original, redis.RedisError):
        REDIS_ERRORS.inc()
        log.error("session store unavailable: %s", type(original).__name__)
        return render_error(StoreUnavailable())
    if isinstance(original, PortalError):
        return render_error(original)
    log.error("unhandled %s on %s %s", type(original).__name__, request.method, request.path,
              exc_info=(type(original), original, original.__traceback__))
    return render_error(PortalError())


def init_app(app):
    app.register_error_handler(PortalError, render_error)
    app.register_error_handler(navexa.NavexaError, render_navexa_error)
    app.register_error_handler(provider.ProviderFailure, render_provider_failure)
    app.register_error_handler(redis.RedisError, render_server_error)
    app.register_error_handler(HTTPException, render_http_exception)
    app.register_error_handler(500, render_server_error)
