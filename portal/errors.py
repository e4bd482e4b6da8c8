"""The portal's exception family and the one place that turns errors into responses.

    PortalError                  answered on purpose: status, code, title, message, offers_sign_in
    ├── LoginStateError          /callback with an unknown, expired, replayed or foreign state
    ├── LoginDeclined            the person said no at Navexa
    ├── LoginFailed              Navexa did not complete the sign-in
    ├── ProviderError            Navexa's sign-in service answered in a way we can't use
    ├── ProviderUnavailable      … or could not be asked; the session is kept
    ├── SessionExpired           the session cannot go on: sign in again
    ├── CsrfError                a state-changing request without the session's CSRF token
    ├── BadInput                 a request we won't act on
    └── StoreUnavailable         Redis could not be reached

Two other families come from the outbound clients and are answered here by table, never
mutated after the fact: navexa.NavexaError (the Navexa API, NAVEXA_ANSWERS) and
provider.ProviderFailure (the identity provider, PROVIDER_ANSWERS).

Every error answers in the form asked: JSON under /api/ (or for XHR), an HTML page
otherwise. Nothing here ever echoes a token, code, verifier or secret.
"""

import logging
from dataclasses import dataclass

import redis
from flask import jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from . import navexa, provider
from .metrics import REDIS_ERRORS
from .tokens import RefreshUnavailable

log = logging.getLogger(__name__)

AGAIN_SOON = "Please try again in a moment."


class PortalError(Exception):
    """Base of every error the portal answers on purpose; any attribute can be given per instance."""

    code = "error"
    status = 500
    title = "Something went wrong"
    message = "Please try again."
    offers_sign_in = False  # the page offers "Sign in again" rather than "Back to the home page"

    def __init__(self, message: str | None = None, *, status: int | None = None, code: str | None = None,
                 title: str | None = None, offers_sign_in: bool | None = None, retry_link: str | None = None,
                 retry_after: int | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.status = status or self.status
        self.code = code or self.code
        self.title = title or self.title
        self.offers_sign_in = self.offers_sign_in if offers_sign_in is None else offers_sign_in
        self.retry_link = retry_link
        self.retry_after = retry_after  # seconds to wait before trying again (the page counts them down)


class LoginStateError(PortalError):
    code, status, title, offers_sign_in = "login_state", 400, "That sign-in link can't be used", True
    message = "It has expired, was already used, or was started in another browser. Please sign in again."


class LoginDeclined(PortalError):
    code, status, title, offers_sign_in = "access_denied", 403, "You declined to sign in", True
    message = "Navexa Portal needs your permission to read your Navexa portfolios. You can sign in again any time."


class LoginFailed(PortalError):
    code, status, title, offers_sign_in = "login_failed", 400, "Sign-in didn't complete", True


class ProviderError(PortalError):
    code, status, title, message = "provider_error", 502, "Navexa's sign-in service answered unexpectedly", AGAIN_SOON


class ProviderUnavailable(PortalError):
    code, status, title, message = "provider_unavailable", 503, "Navexa's sign-in service can't be reached", AGAIN_SOON


class SessionExpired(PortalError):
    code, status, title, offers_sign_in = "session_expired", 401, "Your session has ended", True
    message = "Please sign in again."


class CsrfError(PortalError):
    code, status, title, offers_sign_in = "csrf_failed", 400, "This form has expired", True
    message = "Please go back, reload the page and try again."


class BadInput(PortalError):
    code, status, title = "bad_request", 400, "That request isn't valid"


class StoreUnavailable(PortalError):
    code, status, title, message = "store_unavailable", 503, "The portal's session store can't be reached", AGAIN_SOON


@dataclass(frozen=True)
class Answer:
    """What the person is told about a failure of an outbound call."""

    status: int
    code: str
    title: str
    message: str
    retry: bool = True  # trying the same request again may help: offer it
    offers_sign_in: bool = False


NAVEXA_ANSWERS: dict[type[navexa.NavexaError], Answer] = {
    navexa.Unauthorized: Answer(401, "session_expired", "Your session has ended", "Please sign in again.",
                                retry=False, offers_sign_in=True),
    navexa.Forbidden: Answer(403, "forbidden", "Navexa says you can't see this",
                             "Your Navexa account doesn't have access to it.", retry=False),
    navexa.NotFound: Answer(404, "not_found", "Not found", "Navexa has nothing at that address for you.", retry=False),
    navexa.RateLimited: Answer(429, "rate_limited", "Navexa asks us to slow down",
                               "Too many requests reached Navexa. Please try again {wait}."),
    navexa.UpstreamTimeout: Answer(504, "upstream_timeout", "Navexa didn't answer in time", AGAIN_SOON),
    navexa.NavexaError: Answer(502, "upstream_error", "Navexa answered with an error",
                               "Navexa couldn't give us your data just now. " + AGAIN_SOON),
}

PROVIDER_ANSWERS: dict[type[provider.ProviderFailure], Answer] = {
    provider.ProviderTimeout: Answer(504, "provider_timeout", "Navexa's sign-in service didn't answer in time", AGAIN_SOON),
    provider.ProviderUnreachable: Answer(503, "provider_unavailable", ProviderUnavailable.title, AGAIN_SOON),
    provider.InvalidIdToken: Answer(502, "invalid_id_token", ProviderError.title,
                                    "Navexa's ID token did not pass validation. Please sign in again.", retry=False,
                                    offers_sign_in=True),
    provider.ProviderRefused: Answer(502, "provider_refused", "Navexa's sign-in service refused the request", AGAIN_SOON),
    provider.ProviderFailure: Answer(502, "provider_error", ProviderError.title, AGAIN_SOON),
}


REFRESH_ANSWERS: dict[str, Answer] = {  # how a refresh that keeps the session failed → what the person sees
    "busy": Answer(503, "refresh_busy", "Your session is being renewed", AGAIN_SOON),
    "timeout": Answer(504, "provider_timeout", "Navexa's sign-in service didn't answer in time", AGAIN_SOON),
    "refused": Answer(502, "provider_refused", "Navexa's sign-in service refused to renew your session", AGAIN_SOON),
    "unavailable": Answer(502, "provider_unavailable", ProviderUnavailable.title, AGAIN_SOON),
}


def refresh_problem(error: RefreshUnavailable) -> PortalError:
    """The page or JSON for a refresh that failed but keeps the session."""
    kind = "busy" if error.busy else "timeout" if error.timeout else "refused" if error.refused else "unavailable"
    return render_answer(REFRESH_ANSWERS[kind])


def answer_for(error: Exception, table: dict) -> Answer:
    """The table's answer for the error's class or its nearest ancestor."""
    return next(table[cls] for cls in type(error).__mro__ if cls in table)


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


def render_answer(answer: Answer, retry_after: int | None = None, **message_values) -> PortalError:
    return PortalError(answer.message.format(**message_values), status=answer.status, code=answer.code,
                       title=answer.title, offers_sign_in=answer.offers_sign_in,
                       retry_link=retry_link() if answer.retry else None, retry_after=retry_after)


def handle_navexa_error(error: navexa.NavexaError):
    """Turn a failed Navexa API call into the page or JSON the person should see."""
    wait = f"in {error.retry_after} seconds" if error.retry_after is not None else "in a minute"
    response = render_error(render_answer(answer_for(error, NAVEXA_ANSWERS), retry_after=error.retry_after, wait=wait))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_provider_failure(error: provider.ProviderFailure):
    return render_error(render_answer(answer_for(error, PROVIDER_ANSWERS)))


HTTP_TITLES = {404: "Page not found", 405: "That method isn't allowed here"}
HTTP_MESSAGES = {404: "There's nothing at this address. The link may be mistyped, or the page may have moved."}


def handle_http_exception(error: HTTPException):
    response = render_error(PortalError(HTTP_MESSAGES.get(error.code, error.description), status=error.code,
                                        code=error.name.lower().replace(" ", "_"),
                                        title=HTTP_TITLES.get(error.code, error.name)))
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_server_error(error):
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
    app.register_error_handler(navexa.NavexaError, handle_navexa_error)
    app.register_error_handler(provider.ProviderFailure, handle_provider_failure)
    app.register_error_handler(redis.RedisError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(500, handle_server_error)
