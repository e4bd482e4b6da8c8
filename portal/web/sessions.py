"""A session's life, owned here alone: who is signed in, starting a session, its end, ending it.

- `start()` gives the browser a new session id (whatever it held before), writes the person, the
  token record, the key cookie and the Strict same-site cookie, all ending at one absolute time:
  LIFETIME after sign-in, never extended by use; and indexes the session under its person and its
  Navexa sign-in (core.sessions.index), with when it started and on which browser.
- `touch()` notes when the session was last used, at most once every SEEN_EVERY; and adopts, once, a
  session signed in under the release before the index (no INDEXED mark): indexes it under its person
  and gives it its refresh token's revocation copy, so it can be listed and ended from elsewhere.
- `current_user()`, `expires_at()` and `seconds_left()` read it, by the app's clock.
- `end()` forgets this request's session everywhere (core.sessions.index.SessionIndex.end, the one way a
  session ends: every key, its index entries, its browser claim, and the refresh token when asked), then the
  browser's sign-in and its cookies; `end_other()` does the same for a session this browser is leaving behind.

The record's fields are defined once, in core.sessions.record.

Only this module writes the session's user or end; the session interface (web.session_store) keeps
whatever it is given until that end.
"""

import hmac
import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta

from flask import current_app, g, request, session

from ..core.oauth.refresh_failures import SessionEnded
from ..core.sessions import browsers
from ..core.sessions.record import (
    ADDRESS,
    BROWSER,
    CLAIM,
    EXPIRES_AT,
    IDP_SID,
    INDEXED,
    KEY_CHECK,
    SAME_SITE,
    SEEN,
    STARTED,
    USER,
    SessionRecord,
    key_check,
    new_session_id,
)
from ..core.sessions.tokens import TokenRecord
from ..core.storage.sealing import new_key
from .cookies import binding_cookie, key_cookie, same_site_cookie
from .services import services
from .session_store import RedisSession, expiry_of

log = logging.getLogger(__name__)

LIFETIME = timedelta(hours=12)  # absolute: a session is not extended by use


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
    """The signed-in person, or None: a session acts only with its key cookie (KEY_CHECK), so its id alone, from a
    Redis dump or a stolen cookie, acts on nothing. A session of the release before has no check yet: touch()
    gives it one from the key cookie it brings."""
    data = session.get(USER)
    if not isinstance(data, dict):
        return None
    check = session.get(KEY_CHECK)
    if check is not None and not key_cookie_opens(str(check)):
        return None
    return User(**{field: data.get(field) for field in ("sub", "name", "email")})


def key_cookie_opens(check: str) -> bool:
    """Whether this browser's key cookie is the key the session's check names: worked out once a request (a page asks
    who is signed in several times: the view, the template, the log line)."""
    known = g.get("key_cookie_opens")
    if known is None or known[0] != check:
        key = key_cookie.key()
        known = (check, key is not None and hmac.compare_digest(key_check(key), check))
        g.key_cookie_opens = known
    return known[1]


def holds_someone() -> bool:
    """The session names a person, whether or not this browser may act as them (its key cookie)."""
    return isinstance(session.get(USER), dict)


def safe_current_user() -> User | None:
    """current_user() for templates and logs: an error page must render even when the session store failed."""
    try:
        return current_user()
    except Exception:  # noqa: BLE001 - the session store may be the very thing that failed
        return None


def expires_at() -> float | None:
    """When this request's session ends (epoch seconds), if it is a signed-in one."""
    return expiry_of(session)


def seconds_left() -> int | None:
    """Whole seconds to this session's end, by the app's clock."""
    end = expires_at()
    return max(0, int(end - services().clock())) if end is not None else None


def start(user: User, token: dict, new_cookie_id: str | None = None, idp_sid: str | None = None,
          claim: str | None = None):
    """Start the person's session under a new id (the cookie's; Redis knows it by its stored id, session.sid): the
    person, the token record, the key and same-site cookies, with one absolute end; index it. The caller has
    dropped whatever session the browser held."""
    store = services().tokens
    now = services().clock()
    ends_at = int(now + LIFETIME.total_seconds())
    current_app.session_interface.rotate(session, new_cookie_id or new_session_id())
    session.clear()
    session.update({USER: asdict(user), EXPIRES_AT: ends_at, STARTED: int(now), SEEN: int(now),
                    BROWSER: browsers.describe(request.headers.get("User-Agent")),
                    ADDRESS: browsers.address(request.remote_addr),
                    SAME_SITE: secrets.token_urlsafe(32), INDEXED: 1})
    if idp_sid:
        session[IDP_SID] = idp_sid
    if claim:
        session[CLAIM] = claim  # released if the session is ended from elsewhere
    key = new_key()
    session[KEY_CHECK] = key_check(key)  # the session acts only with this key's cookie (current_user)
    key_cookie.issue_key(key, ends_at - int(now))
    same_site_cookie.issue(session[SAME_SITE], ends_at - int(now))
    store.start(session.sid, key, TokenRecord.from_response(token, now), ends_at)
    services().index.add(session.sid, sub=user.sub, idp_sid=idp_sid, ends_at=ends_at)


def move_legacy(old: str, new: str, record: dict) -> bool:
    """session_store's hook: a session the release before stored under its cookie's id. Its tokens are sealed to
    that id, so they are opened with this browser's key and sealed again under the stored id; then the index moves
    the rest. False (the browser is signed out) if the key cookie is missing or doesn't open them."""
    key, ends_at = key_cookie.key(), expiry_of(record)
    if key is None or ends_at is None:
        return False
    try:
        held = services().tokens.load(old, key)
    except SessionEnded:
        return False
    services().tokens.start(new, key, held, ends_at)
    services().index.move(old, new, record)
    return True


def touch():
    """before_request: note that a signed-in session is in use, at most once every SEEN_EVERY (and adopt it
    into the index if it is older than the index)."""
    user = current_user() if isinstance(session, RedisSession) else None
    if user is None:
        return
    record = SessionRecord.of(session)
    now = int(services().clock())
    if record.idle_past(now, services().settings.idle_timeout):
        log.info("session idle past its timeout: signing out sub=%s", user.label)
        end(revoke=True)
        g.idle_ended = True  # login_required says why (web.signed_in)
        return
    if not record.indexed:
        adopt(user)
    if KEY_CHECK not in session and key_cookie.key() is not None:  # a session of the release before
        session[KEY_CHECK] = key_check(key_cookie.key())
    if record.seen_due(now):
        session[SEEN] = now


def adopt(user: User):
    """A session signed in under the release before the session index: index it under its person (it has no
    Navexa sign-in `sid` on record), give it its refresh token's revocation copy and a browser, once."""
    ends_at = expires_at()
    if ends_at is None:
        return
    key = key_cookie.key()
    if key is not None:
        try:
            services().tokens.adopt(session.sid, key, ends_at)
        except SessionEnded:
            pass  # its record is gone or doesn't open: its next token use signs it out anyway
    services().index.add(session.sid, sub=user.sub, idp_sid=None, ends_at=ends_at)
    session.setdefault(BROWSER, browsers.describe(request.headers.get("User-Agent")))
    session[INDEXED] = 1


def id_token() -> str | None:
    """This session's ID token, if its key opens its record (for the provider's logout)."""
    key = key_cookie.key()
    if not session.sid or key is None:
        return None
    try:
        return services().tokens.load(session.sid, key).id_token
    except SessionEnded:
        return None


def idp_sid() -> str | None:
    """The Navexa sign-in session this session came from (the ID token's sid), if it said."""
    return SessionRecord.of(session).idp_sid


def end(revoke: bool = False):
    """Forget this request's session everywhere (revoking its refresh token if asked), and its cookies."""
    if session.sid:  # the record in hand: a session started in this very request is not stored yet
        end_other(session.sid, key_cookie.key() if revoke else None, revoke=revoke, record=dict(session))
    services().pending.forget_browser(binding_cookie.read())
    session.clear()
    key_cookie.clear()
    same_site_cookie.clear()


def end_other(sid: str, key: bytes | None, revoke: bool = True, record: dict | None = None):
    """End a session of this browser's (this one, or one it is leaving behind at sign-in) the one way sessions
    end; its refresh token is revoked from its revocation copy, and from the record the browser's key opens
    (a session older than revocation copies has only that)."""
    held = []
    if revoke and key is not None:
        try:
            held = [services().tokens.load(sid, key).refresh_token]
        except SessionEnded:
            pass
    services().index.end([sid], revoke=revoke, refresh_tokens=[token for token in held if token],
                         in_hand={sid: record} if record else None)


def init_app(app):
    app.context_processor(lambda: {"current_user": safe_current_user})
    app.before_request(touch)
