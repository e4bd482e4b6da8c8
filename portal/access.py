"""The signed-in request: who is signed in, their sealing-key cookie, and their access token.

Pages and the API proxy depend on this module, never on the sign-in views.
"""

import functools
import logging
from dataclasses import asdict, dataclass

from flask import Flask, g, redirect, request, session, url_for

from . import navexa
from .errors import ProviderUnavailable, SessionExpired, retry_link, wants_json
from .services import services, settings
from .tokens import RefreshUnavailable, SessionEnded, decode_key, encode_key

log = logging.getLogger(__name__)

USER_KEY = "user"  # the session's entry for the signed-in person's profile


@dataclass(frozen=True)
class User:
    sub: str | None
    name: str | None
    email: str | None

    @classmethod
    def from_claims(cls, claims: dict) -> "User":
        return cls(sub=claims.get("sub"), name=claims.get("name") or claims.get("nickname"), email=claims.get("email"))

    @property
    def label(self) -> str:
        """Who, for logs: the subject, never the name or email."""
        return self.sub or "-"


def current_user() -> User | None:
    """The signed-in person, or None."""
    data = session.get(USER_KEY)
    if not isinstance(data, dict):
        return None
    return User(**{field: data.get(field) for field in ("sub", "name", "email")})


def set_current_user(user: User):
    session[USER_KEY] = asdict(user)


class KeyCookie:
    """The one owner of the cookie that carries the session's sealing key: read, issue, clear.

    The key never reaches Redis; issue() and clear() take effect on the response being built.
    """

    NAME = "navexa_portal_key"
    SECURE_NAME = "__Host-navexa_portal_key"  # __Host- pins it to this exact origin over https

    @classmethod
    def name(cls) -> str:
        return cls.SECURE_NAME if settings().production else cls.NAME

    @classmethod
    def read(cls) -> bytes | None:
        """The key from this browser's cookie, if it is there and well-formed."""
        return decode_key(request.cookies.get(cls.name()))

    @staticmethod
    def issue(key: bytes):
        g.token_key = key

    @staticmethod
    def clear():
        g.token_key = None

    @classmethod
    def apply(cls, response):
        """after_request: set or delete the cookie if this request issued or cleared it."""
        if "token_key" not in g:
            return response
        secure = settings().production
        if g.token_key is None:
            response.delete_cookie(cls.name(), path="/", secure=secure, httponly=True, samesite="Lax")
        else:
            response.set_cookie(cls.name(), encode_key(g.token_key), path="/", httponly=True, samesite="Lax",
                                secure=secure, max_age=services().tokens.lifetime)
        return response


def init_app(app: Flask):
    app.after_request(KeyCookie.apply)
    app.context_processor(lambda: {"current_user": safe_current_user})


def safe_current_user() -> User | None:
    """current_user() for templates: an error page must render even when the session store failed."""
    try:
        return current_user()
    except Exception:  # noqa: BLE001 - the session store may be the very thing that failed
        return None


def login_required(view):
    """Send signed-out people to sign in (pages) or answer 401 (JSON)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            if wants_json():
                raise SessionExpired("Sign in to use the API.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def end_session():
    """Forget the person here: token record, server session and the key cookie."""
    services().tokens.delete(session.sid)
    session.clear()
    KeyCookie.clear()


def access_token(reject: str | None = None) -> str:
    """The signed-in session's access token, refreshed first if it is about to expire.

    SessionExpired (after signing the person out) when the session cannot go on;
    ProviderUnavailable (keeping the session) when the provider can't be asked now.
    """
    user = current_user()
    if user is None:
        raise SessionExpired()
    key = KeyCookie.read()
    if key is None:
        log.info("token key cookie missing or malformed: signing out sub=%s", user.label)
        end_session()
        raise SessionExpired()
    try:
        return services().tokens.access_token(session.sid, key, reject=reject, user=user.label)
    except SessionEnded as error:
        log.info("session ended sub=%s: %s", user.label, error)
        end_session()
        raise SessionExpired() from error
    except RefreshUnavailable as error:
        raise ProviderUnavailable(status=504 if error.timeout else 502, retry_link=retry_link()) from error


def with_access_token(call):
    """Run call(access_token); if Navexa refuses the token, refresh once and retry once."""
    token = access_token()
    try:
        return call(token)
    except navexa.Unauthorized:
        log.info("Navexa refused the access token; refreshing once sub=%s", current_user().label)
    token = access_token(reject=token)
    try:
        return call(token)
    except navexa.Unauthorized as error:
        log.info("Navexa refused a fresh access token; signing out sub=%s", current_user().label)
        end_session()
        raise SessionExpired() from error
