"""The portal's exception family and the one place that turns errors into responses.

Every error answers in the form asked: JSON under /api/ (or for XHR), an HTML page
otherwise. Nothing here ever echoes a token, code, verifier or secret.
"""

import logging

import redis
from flask import jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from . import navexa
from .navexa import NavexaError

log = logging.getLogger(__name__)


class PortalError(Exception):
    """Base of every error the portal answers on purpose."""

    code = "error"
    status = 500
    title = "Something went wrong"
    message = "Please try again."

    def __init__(self, message: str | None = None, *, status: int | None = None, retry_link: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.status = status or self.status
        self.retry_link = retry_link


class LoginStateError(PortalError):
    code, status, title = "login_state", 400, "That sign-in link can't be used"
    message = "It has expired, was already used, or was started in another browser. Please sign in again."


class LoginDeclined(PortalError):
    code, status, title = "access_denied", 403, "You declined to sign in"
    message = "Navexa Portal needs your permission to read your Navexa portfolios. You can sign in again any time."


class LoginFailed(PortalError):
    code, status, title = "login_failed", 400, "Sign-in didn't complete"


class ProviderError(PortalError):
    code, status, title = "provider_error", 502, "Navexa's sign-in service answered unexpectedly"
    message = "Please try again in a moment."


class ProviderUnavailable(PortalError):
    code, status, title = "provider_unavailable", 503, "Navexa's sign-in service can't be reached"
    message = "Please try again in a moment."


class SessionExpired(PortalError):
    code, status, title = "session_expired", 401, "Your session has ended"
    message = "Please sign in again."


class CsrfError(PortalError):
    code, status, title = "csrf_failed", 400, "This form has expired"
    message = "Please go back, reload the page and try again."


class BadInput(PortalError):
    code, status, title = "bad_request", 400, "That request isn't valid"


class StoreUnavailable(PortalError):
    code, status, title = "store_unavailable", 503, "The portal's session store can't be reached"
    message = "Please try again in a moment."


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.headers.get("X-Requested-With") == "XMLHttpRequest"


def retry_link() -> str | None:
    """This request's own address, if trying it again is harmless (GET)."""
    return request.full_path.rstrip("?") if request.method == "GET" else None


def render_error(error: PortalError):
    if isinstance(error, SessionExpired) and not wants_json():
        return redirect(url_for("auth.login", next=retry_link(), expired=1))
    if wants_json():
        response = jsonify(error=error.code, message=error.message)
    else:
        response = make_response(render_template("error.html", error=error))
    response.status_code = error.status
    return response


class NavexaProblem(PortalError):
    """A Navexa API call failed; carries the answer for the person."""

    title = "Navexa answered with an error"


def handle_navexa_error(error: NavexaError):
    """Turn a failed Navexa API call into the page or JSON the person should see."""
    if isinstance(error, navexa.Unauthorized):
        return render_error(SessionExpired())
    problem = NavexaProblem(status=error.status, retry_link=retry_link())
    problem.code = error.code
    if isinstance(error, navexa.NotFound):
        problem.title, problem.message, problem.retry_link = "Not found", "Navexa has nothing at that address for you.", None
    elif isinstance(error, navexa.Forbidden):
        problem.title = "Navexa says you can't see this"
        problem.message, problem.retry_link = "Your Navexa account doesn't have access to it.", None
    elif isinstance(error, navexa.RateLimited):
        wait = f"in {error.retry_after} seconds" if error.retry_after is not None else "in a minute"
        problem.title = "Navexa asks us to slow down"
        problem.message = f"Too many requests reached Navexa. Please try again {wait}."
    elif isinstance(error, navexa.UpstreamTimeout):
        problem.title, problem.message = "Navexa didn't answer in time", "Please try again in a moment."
    else:
        problem.message = "Navexa couldn't give us your data just now. Please try again in a moment."
    response = render_error(problem)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_http_exception(error: HTTPException):
    titles = {404: "Page not found", 405: "That method isn't allowed here"}
    portal_error = PortalError(error.description, status=error.code)
    portal_error.code = error.name.lower().replace(" ", "_")
    portal_error.title = titles.get(error.code, error.name)
    response = render_error(portal_error)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_server_error(error):
    """Last resort: unexpected exceptions, including those raised opening or saving the session."""
    original = getattr(error, "original_exception", error)
    if isinstance(original, redis.RedisError):
        log.error("session store unavailable: %s", type(original).__name__)
        return render_error(StoreUnavailable())
    if isinstance(original, PortalError):
        return render_error(original)
    log.error("unhandled %s on %s %s", type(original).__name__, request.method, request.path,
              exc_info=(type(original), original, original.__traceback__))
    return render_error(PortalError())


def init_app(app):
    app.register_error_handler(PortalError, render_error)
    app.register_error_handler(NavexaError, handle_navexa_error)
    app.register_error_handler(redis.RedisError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(500, handle_server_error)
