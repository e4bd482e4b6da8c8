"""The signed-in request: sign-in required, and the session's access token (refreshed when due).

Pages and the API depend on this module and web.sessions, never on the sign-in views.
"""

import functools
import logging

from flask import g, redirect, request, session, url_for

from ..core.navexa import client as navexa
from ..core.oauth.refresh_failures import RefreshUnavailable, SessionEnded
from . import sessions
from .cookies import key_cookie
from .errors import retry_link, wants_json
from .problems import SessionExpired, SessionIdle, idle_words, refresh_error
from .services import services

log = logging.getLogger(__name__)


def login_required(view):
    """Send signed-out people to sign in (pages) or answer 401 (JSON)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if sessions.current_user() is None:
            if g.get("idle_ended"):  # touch() has just ended it: left alone past SESSION_IDLE_TIMEOUT
                if wants_json():
                    raise SessionIdle(idle_words(services().settings.idle_timeout))
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?"), idle=1))
            if wants_json():
                raise SessionExpired("Sign in to use the API.")
            # A browser whose session ended (elsewhere, or by expiring) is told so before Navexa's sign-in.
            lapsed = {"expired": 1} if getattr(session, "lapsed", False) or sessions.holds_someone() else {}
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?"), **lapsed))
        return view(*args, **kwargs)

    return wrapper


def access_token(reject: str | None = None) -> str:
    """The signed-in session's access token, refreshed first if it is about to expire.

    SessionExpired (after ending the session) when the session cannot go on; the refresh's own
    error, as a PortalError, (keeping the session) when the provider can't be asked now.
    """
    user = sessions.current_user()
    if user is None:
        raise SessionExpired()
    key = key_cookie.key()
    if key is None:
        log.info("token key cookie missing or malformed: signing out sub=%s", user.label)
        sessions.end()
        raise SessionExpired()
    try:
        return services().tokens.access_token(session.sid, key, reject=reject, user=user.label)
    except SessionEnded as error:
        log.info("session ended sub=%s: %s", user.label, error)
        sessions.end()
        raise SessionExpired() from error
    except RefreshUnavailable as error:
        raise refresh_error(error, retry_link()) from error


def with_access_token(call):
    """Run call(access_token); if Navexa refuses the token, refresh once and retry once (navexa.with_token)."""
    try:
        return navexa.with_token(call, access_token)
    except navexa.TokenRejected as error:
        log.info("Navexa refused a fresh access token; signing out sub=%s", sessions.current_user().label)
        sessions.end()
        raise SessionExpired() from error
