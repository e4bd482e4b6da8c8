"""The signed-in request: who is signed in, their sealing-key cookie, and their access token.

Pages and the API proxy depend on this module, never on the sign-in views.
"""

import functools
import logging
import re
from dataclasses import asdict, dataclass

from flask import Flask, g, redirect, request, session, url_for

from . import navexa
from .errors import SessionExpired, refresh_problem, wants_json
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


class Cookie:
    """The one owner of a cookie the portal sets besides the session's: its name, read, issue, clear.

    issue() and clear() take effect on the response being built (apply(), after every request);
    a deletion carries the attributes the cookie was set with, or browsers would ignore it.
    """

    def __init__(self, name: str, pattern: str):
        self.dev_name = name
        self.secure_name = "__Host-" + name  # pins it to this exact origin over https
        self.pattern = re.compile(pattern)

    def name(self) -> str:
        return self.name_for(settings().production)

    def name_for(self, production: bool) -> str:
        return self.secure_name if production else self.dev_name

    def read(self) -> str | None:
        """This browser's value, if it is there and well-formed."""
        value = request.cookies.get(self.name(), "")
        return value if self.pattern.fullmatch(value) else None

    def issue(self, value: str, max_age: int):
        g.setdefault("cookies", {})[self.dev_name] = (value, max_age)

    def clear(self):
        g.setdefault("cookies", {})[self.dev_name] = None

    def apply(self, response):
        if self.dev_name not in g.get("cookies", {}):
            return response
        secure = settings().production
        change = g.cookies[self.dev_name]
        if change is None:
            response.delete_cookie(self.name(), path="/", secure=secure, httponly=True, samesite="Lax")
        else:
            value, max_age = change
            response.set_cookie(self.name(), value, path="/", httponly=True, samesite="Lax", secure=secure,
                                max_age=max_age)
        return response


# The session's sealing key (never in Redis): a Redis dump opens no token record without it.
key_cookie = Cookie("navexa_portal_key", r"[A-Za-z0-9_-]{43}")
# Binds pending logins, and the sign-in they lead to, to the browser that started them.
binding_cookie = Cookie("navexa_portal_login", r"[A-Za-z0-9_-]{43}")
# For a minute after sign-out: the landing page says it worked (the way back runs through Navexa's logout).
signed_out_cookie = Cookie("navexa_portal_signed_out", r"1")
SIGNED_OUT_NOTICE_SECONDS = 60
COOKIES = (key_cookie, binding_cookie, signed_out_cookie)


def sealing_key() -> bytes | None:
    """The session's sealing key from this browser's cookie, if it is there and well-formed."""
    return decode_key(key_cookie.read())


def issue_sealing_key(key: bytes, max_age: int):
    key_cookie.issue(encode_key(key), max_age)


def init_app(app: Flask):
    for cookie in COOKIES:
        app.after_request(cookie.apply)
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
    """Forget the person here: token record, server session, the key cookie and the browser's sign-in."""
    if session.sid:
        services().tokens.delete(session.sid)
        services().cache.delete(session.sid)
    services().pending.forget_browser(binding_cookie.read())
    session.clear()
    key_cookie.clear()


def access_token(reject: str | None = None) -> str:
    """The signed-in session's access token, refreshed first if it is about to expire.

    SessionExpired (after signing the person out) when the session cannot go on;
    ProviderUnavailable (keeping the session) when the provider can't be asked now.
    """
    user = current_user()
    if user is None:
        raise SessionExpired()
    key = sealing_key()
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
        raise refresh_problem(error) from error


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
