"""Every error the portal answers, in one tree, and what the person is told about each. No Flask here.

The portal's own (raised on purpose, each with its status, code, title and message):

    PortalError                  base: status, code, title, message, offers_sign_in, retry_link, retry_after
    ├── LoginStateError          /callback with an unknown, expired, replayed or foreign state
    ├── LoginDeclined            the person said no at Navexa
    ├── LoginFailed              Navexa did not complete the sign-in
    ├── ClientRejected           Navexa refused the portal's own client credentials (the operator's to fix)
    ├── SessionExpired           the session cannot go on: sign in again
    ├── CsrfError                a state-changing request without the session's CSRF token
    ├── CrossOrigin              an /api/ request from another origin's page
    ├── SameSiteRequired         an /api/ request or a form without the Strict same-site cookie
    ├── BadInput                 a request we won't act on
    ├── NotFound                 something the portal looked for isn't there (its own 404, with what)
    │   └── BadPath              an /api/ path that could leave Navexa's API base
    ├── UpstreamRedirect         Navexa answered an /api/ call with a redirect
    ├── UpstreamContent          … or with content a browser would run
    └── StoreUnavailable         Redis could not be reached

Three families come from the Flask-free clients and are answered by class from a table here, never
mutated after the fact:

    core.navexa.client.NavexaError      the Navexa API (NAVEXA_ANSWERS): Unauthorized (TokenRejected), Forbidden,
                                 NotFound, RateLimited, UpstreamError, UpstreamTimeout
    core.oauth.provider.ProviderFailure  the identity provider (PROVIDER_ANSWERS): ProviderUnreachable
                                 (ProviderTimeout), ProviderBadAnswer (InvalidIdToken), ProviderRefused
    core.oauth.refresh_failures.TokenError       a refresh (REFRESH_ANSWERS): SessionEnded (the session can't go on),
                                 RefreshUnavailable (RefreshBusy, RefreshTimedOut, RefreshRefused)

web.errors renders any of them as a page or as JSON (`json_body`, which the /api/ fast path sends too).
Nothing here ever echoes a token, code, verifier or secret.
"""

import json
from dataclasses import dataclass

from ..core.navexa import client as navexa
from ..core.oauth import provider, refresh_failures

AGAIN_SOON = "Please try again in a moment."
SIGN_IN_SERVICE_UNREACHABLE = "Navexa's sign-in service can't be reached"


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
        self.retry_link = retry_link  # this request's own address, when trying it again may help
        self.retry_after = retry_after  # seconds to wait before trying again (the page counts them down)


class LoginStateError(PortalError):
    code, status, title, offers_sign_in = "login_state", 400, "That sign-in link can't be used", True
    message = "It has expired, was already used, or was started in another browser. Please sign in again."


class LoginDeclined(PortalError):
    code, status, title, offers_sign_in = "access_denied", 403, "You declined to sign in", True
    message = "Navexa Portal needs your permission to read your Navexa portfolios. You can sign in again any time."


class LoginFailed(PortalError):
    code, status, title, offers_sign_in = "login_failed", 400, "Sign-in didn't complete", True


class ClientRejected(PortalError):
    code, status, title = "provider_error", 502, "Navexa's sign-in service answered unexpectedly"
    message = ("Navexa refused the portal's client credentials. Operators: check NAVEXA_CLIENT_ID and "
               "NAVEXA_CLIENT_SECRET (with NAVEXA_CLIENT_AUTH=private_key_jwt: NAVEXA_CLIENT_PRIVATE_KEY and "
               "NAVEXA_CLIENT_KEY_ID, and the public key registered at Navexa).")


class SessionExpired(PortalError):
    code, status, title, offers_sign_in = "session_expired", 401, "Your session has ended", True
    message = "Please sign in again."


class SessionIdle(SessionExpired):
    code, title = "session_idle", "You were signed out"


def idle_words(timeout: int) -> str:
    """'You were signed out after 30 minutes without use.', for SESSION_IDLE_TIMEOUT's `timeout` seconds."""
    minutes = timeout // 60
    span = "an hour" if minutes == 60 else f"{minutes // 60} hours" if minutes % 60 == 0 else f"{minutes} minutes"
    return f"You were signed out after {span} without use. Sign in again to carry on."


class CsrfError(PortalError):
    code, status, title, offers_sign_in = "csrf_failed", 400, "This form has expired", True
    message = "Please go back, reload the page and try again."


class CrossOrigin(PortalError):
    code, status, title = "cross_origin", 403, "Refused: a request from another site"
    message = "The portal's API answers only the portal's own pages."


class SameSiteRequired(PortalError):
    code, status, title = "same_site_required", 403, "Refused: this didn't start on the portal's own pages"
    message = "Open Navexa Portal and try again from there."


class BadInput(PortalError):
    code, status, title = "bad_request", 400, "That request isn't valid"


class BadPath(BadInput):
    code, title = "bad_path", "That API path isn't valid"
    message = "API paths are plain segments: no '.', '..', empty segments, backslashes or encoded slashes."


class NotFound(PortalError):
    """Something the portal looked for isn't there (a holding not in the portfolio): the page says what."""

    code, status, title = "not_found", 404, "Not found"
    message = "That isn't here."


class UpstreamRedirect(PortalError):
    code, status, title = "upstream_redirect", 502, "Navexa answered with a redirect"
    message = "The portal does not follow redirects from Navexa."


class UpstreamContent(PortalError):
    code, status, title = "upstream_content", 502, "Navexa answered with content the portal won't pass on"
    message = "Only data (JSON, CSV, PDF and the like) passes through the API proxy."


class StoreUnavailable(PortalError):
    """Redis (where sign-ins are kept) isn't answering: said as what it means to the person, not as the machinery."""

    code, status, title = "store_unavailable", 503, "Navexa Portal is briefly unavailable"
    message = ("The portal can't check who is signed in just now, so it can't show your pages. Your portfolios are "
               "safe at Navexa. Please try again in a minute.")


@dataclass(frozen=True)
class Answer:
    """What the person is told about a failure of an outbound call or a refresh."""

    status: int
    code: str
    title: str
    message: str
    retry: bool = True  # trying the same request again may help: offer it
    offers_sign_in: bool = False

    def error(self, retry_link: str | None = None, retry_after: int | None = None, **message_values) -> PortalError:
        """This answer as the PortalError that renders it (retry_link is kept only where retrying may help)."""
        return PortalError(self.message.format(**message_values), status=self.status, code=self.code,
                           title=self.title, offers_sign_in=self.offers_sign_in,
                           retry_link=retry_link if self.retry else None, retry_after=retry_after)


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
    provider.ProviderUnreachable: Answer(503, "provider_unavailable", SIGN_IN_SERVICE_UNREACHABLE, AGAIN_SOON),
    provider.InvalidIdToken: Answer(502, "invalid_id_token", ClientRejected.title,
                                    "Navexa's ID token did not pass validation. Please sign in again.", retry=False,
                                    offers_sign_in=True),
    provider.ProviderRateLimited: Answer(503, "provider_rate_limited", "Navexa's sign-in service asks us to slow down",
                                         "Too many people are signing in at once. Please try again {wait}."),
    provider.ProviderRefused: Answer(502, "provider_refused", "Navexa's sign-in service refused the request", AGAIN_SOON),
    provider.ProviderFailure: Answer(502, "provider_error", ClientRejected.title, AGAIN_SOON),
}

REFRESH_ANSWERS: dict[type[refresh_failures.RefreshUnavailable], Answer] = {  # a refresh failed, the session is kept
    refresh_failures.RefreshBusy: Answer(503, "refresh_busy", "Your session is being renewed", AGAIN_SOON),
    refresh_failures.RefreshRateLimited: Answer(503, "provider_rate_limited", "Navexa's sign-in service asks us to slow down",
                                      "Your session is fine. Please try again {wait}."),
    refresh_failures.RefreshTimedOut: Answer(504, "provider_timeout", "Navexa's sign-in service didn't answer in time", AGAIN_SOON),
    refresh_failures.RefreshRefused: Answer(502, "provider_refused", "Navexa's sign-in service refused to renew your session",
                                  AGAIN_SOON),
    refresh_failures.RefreshUnavailable: Answer(502, "provider_unavailable", SIGN_IN_SERVICE_UNREACHABLE, AGAIN_SOON),
}


def answer_for(error: Exception, table: dict) -> Answer:
    """The table's answer for the error's class or its nearest ancestor."""
    return next(table[cls] for cls in type(error).__mro__ if cls in table)


def navexa_error(error: navexa.NavexaError, retry_link: str | None = None) -> PortalError:
    """What a failed Navexa call is answered with (a 429 says how long to wait)."""
    return answer_for(error, NAVEXA_ANSWERS).error(retry_link, retry_after=error.retry_after,
                                                   wait=in_seconds(error.retry_after))


def refresh_error(error: refresh_failures.RefreshUnavailable, retry_link: str | None = None) -> PortalError:
    """What a refresh that failed but keeps the session is answered with (a rate limit says how long to wait)."""
    retry_after = getattr(error, "retry_after", None)
    return answer_for(error, REFRESH_ANSWERS).error(retry_link, retry_after=retry_after, wait=in_seconds(retry_after))


def provider_error(error: provider.ProviderFailure, retry_link: str | None = None) -> PortalError:
    """What a failed call to the provider is answered with (a rate limit says how long to wait)."""
    retry_after = getattr(error, "retry_after", None)
    return answer_for(error, PROVIDER_ANSWERS).error(retry_link, retry_after=retry_after, wait=in_seconds(retry_after))


def in_seconds(retry_after: int | None) -> str:
    return f"in {retry_after} seconds" if retry_after is not None else "in a minute"


def json_body(error: PortalError) -> bytes:
    """The JSON an error is answered with under /api/ and to XHR: {"error": code, "message": …}."""
    return json.dumps({"error": error.code, "message": error.message}, separators=(",", ":")).encode() + b"\n"
