"""Flask's session interface on Redis: sessions as JSON, with one absolute end.

The browser holds only a random session id. When a session starts and ends is web.sessions'
business; this is how it is kept. What this interface guarantees, and why it is not
Flask-Session's (see the README's "Why not Flask-Session"):
- a record is written only when the session changed, with the time left to its absolute end
  (`exp`, set at sign-in): writing never extends a session;
- `rotate()` gives the session a new id and deletes the old record, whatever the session holds
  (the defence against fixation at sign-in);
- a session read from Redis is written back only if its record is still there (SET XX): a request
  that was under way when the session was ended elsewhere (the sessions page, back-channel logout)
  never brings it back;
- a signed-out visitor's session, if anything ever writes one, lives ANONYMOUS_TTL only;
- cookie deletions carry the attributes the cookie was set with (browsers ignore a deletion of a
  `__Host-` cookie without `Secure`);
- health checks and static files never open a session, so they never touch Redis;
- a Redis failure is one warning line and a 503 page (an UnavailableSession, refused before any
  view runs), never a traceback;
  nothing read back from Redis is ever unpickled;
- time is read from the clock it is given (the app's), so a session ends when that clock says;
- Redis never holds the cookie's id: the session is stored under `stored_id(id)` (core.sessions.record), and
  `session.sid` is that stored id everywhere on the server; only the cookie carries `session.cookie_id`. A
  session stored under its cookie's id by the release before is moved to its stored id at its first use.
"""

import logging
import time
from datetime import UTC, datetime

import msgspec
import redis
from flask import Flask, Request, Response, session
from flask.sessions import NullSession, SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from ..core.observability.metrics import KEYRING_OPENS, REDIS_ERRORS
from ..core.sessions.record import EXPIRES_AT, SESSION_ID, new_session_id, stored_id
from ..core.storage.keyspace import SESSION, session_scoped
from ..core.values import is_number
from .problems import StoreUnavailable

log = logging.getLogger(__name__)

SESSION_COOKIE = "navexa_portal_session"
SECURE_SESSION_COOKIE = "__Host-navexa_portal"  # __Host- pins it to this exact origin; https only
ANONYMOUS_TTL = 600  # s: what a signed-out visitor's session may cost at most (the pending-login lifetime)
NO_SESSION_PATHS = ("/healthz", "/readyz", "/static/")  # answered without opening a session

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict)


def session_cookie_name(production: bool) -> str:
    return SECURE_SESSION_COOKIE if production else SESSION_COOKIE


class RedisSession(CallbackDict, SessionMixin):
    """A session dict that knows its id, whether it changed, and the id it replaced."""

    def __init__(self, data=None, sid: str | None = None, lapsed: bool = False, cookie_id: str | None = None):
        def on_update(_):
            self.modified = True

        super().__init__(data, on_update)
        self.sid = sid  # what Redis calls the session (stored_id of the cookie's id)
        self.cookie_id = cookie_id  # what the browser's cookie holds: never written to Redis
        self.lapsed = lapsed  # the browser brought a session id the store no longer has (ended or expired)
        self.modified = False
        self.stale_sid: str | None = None  # an id given up by rotate(), deleted at save
        self.new_sid = False  # the browser must be given this session's id

    @property
    def expires_at(self) -> float | None:
        return expiry_of(self)


def expiry_of(data: dict) -> float | None:
    """A session's absolute end, if it has a readable one."""
    value = data.get(EXPIRES_AT)
    return float(value) if is_number(value) else None


class UnavailableSession(NullSession):
    """What a request gets when its session could not be read: empty, never saved; the request is
    refused with the store's 503 before any view runs (refuse_without_store)."""


class RedisSessionInterface(SessionInterface):
    """Flask's session interface on Redis (see the module docstring for what it guarantees)."""

    def __init__(self, client: redis.Redis, *, cookie_name: str, secure: bool, id_keys, clock=time.time,
                 move_legacy=None):
        self.client = client
        self.id_keys = list(id_keys)  # (key id, key): the first names sessions, the rest are older
        self.move_legacy = move_legacy  # (cookie id, stored id, record) -> moved: a session of the release before
        self.cookie_name = cookie_name
        self.secure = secure
        self.clock = clock

    # -- opening ----------------------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> RedisSession | None:
        if request.path.startswith(NO_SESSION_PATHS):
            return None  # Flask's null session: readable, empty, never saved
        cookie_id = request.cookies.get(self.cookie_name, "")
        if not SESSION_ID.fullmatch(cookie_id):
            return RedisSession()
        sid = self.stored(cookie_id)
        try:
            data = self.record_of(self.client.get(session_scoped(SESSION, sid)))
            if data is None and self.move_legacy is not None:
                # Stored under an older key of the ring (SECRET_KEYS), or under its cookie's id by the release before.
                older = [(key_id, stored_id(cookie_id, key)) for key_id, key in self.id_keys[1:]] + [("none", cookie_id)]
                with self.client.pipeline(transaction=False) as pipe:  # one round trip for every older name
                    for _, old in older:
                        pipe.get(session_scoped(SESSION, old))
                    found = pipe.execute()
                for (key_id, old), raw in zip(older, found, strict=True):
                    data = self.record_of(raw)
                    if data is not None:
                        KEYRING_OPENS.labels(key_id, "session_id").inc()
                        if not self.move_legacy(old, sid, data):
                            data = None  # it can't be opened here: signed out
                        break
        except redis.RedisError as error:
            REDIS_ERRORS.inc()
            log.warning("session store unavailable opening a session: %s", type(error).__name__)
            return UnavailableSession()
        return RedisSession(data, sid=sid, cookie_id=cookie_id) if data is not None else RedisSession(lapsed=True)

    def stored(self, cookie_id: str) -> str:
        """What Redis calls the session whose cookie holds this id (under the ring's first key)."""
        return stored_id(cookie_id, self.id_keys[0][1])

    def record_of(self, raw: bytes | None) -> dict | None:
        """A stored session's contents, or None if there is none, it isn't JSON, or it is past its end."""
        if raw is None:
            return None
        try:
            data = _decoder.decode(raw)
        except msgspec.DecodeError:
            log.warning("ignored a session record that is not JSON")
            return None
        expires_at = expiry_of(data)
        if expires_at is not None and expires_at <= self.clock():
            return None  # past its absolute end (Redis's TTL will drop it too)
        return data

    # -- changing ---------------------------------------------------------------------

    def rotate(self, session: RedisSession, new_cookie_id: str | None = None):
        """Give the session a new id now, whatever it holds; the old id's record is deleted at save."""
        if session.sid and not session.stale_sid:
            session.stale_sid = session.sid
        session.cookie_id = new_cookie_id or new_session_id()
        session.sid, session.new_sid, session.modified = self.stored(session.cookie_id), True, True

    # -- saving -----------------------------------------------------------------------

    def save_session(self, app: Flask, session, response: Response):
        if not isinstance(session, RedisSession):
            return  # the null session of a health check, a static file or a failed store
        if session.accessed:
            response.vary.add("Cookie")
        if not session.modified:
            return
        try:
            self._save(session, response)
        except redis.RedisError as error:
            REDIS_ERRORS.inc()
            log.warning("session store unavailable saving a session: %s", type(error).__name__)

    def _save(self, session: RedisSession, response: Response):
        doomed = [session_scoped(SESSION, sid) for sid in (session.stale_sid,) if sid]
        now = self.clock()
        expires_at = session.expires_at or now + ANONYMOUS_TTL
        ttl = int(expires_at - now)
        if not session or ttl <= 0:  # emptied (signed out) or past its end: forget it everywhere
            doomed += [session_scoped(SESSION, session.sid)] if session.sid else []
            if doomed:
                with self.client.pipeline(transaction=False) as pipe:
                    for key in doomed:  # one key a command: the old and new ids live in different cluster slots
                        pipe.delete(key)
                    pipe.execute()
                self.delete_cookie(response)
            return
        if session.sid is None:
            session.cookie_id = new_session_id()
            session.sid, session.new_sid = self.stored(session.cookie_id), True
        with self.client.pipeline(transaction=False) as pipe:
            # A session read from Redis is only ever updated, never re-created once ended elsewhere.
            pipe.set(session_scoped(SESSION, session.sid), _encoder.encode(dict(session)), ex=ttl,
                     xx=not session.new_sid)
            for key in doomed:
                pipe.delete(key)
            written = pipe.execute()[0]
        if not written:
            self.delete_cookie(response)
            return
        if session.new_sid:
            response.set_cookie(self.cookie_name, session.cookie_id, path="/", httponly=True, secure=self.secure,
                                samesite="Lax", expires=datetime.fromtimestamp(expires_at, UTC))

    def delete_cookie(self, response: Response):
        response.delete_cookie(self.cookie_name, path="/", httponly=True, secure=self.secure, samesite="Lax")


def refuse_without_store():
    """before_request: a request whose session could not be read gets the store's 503, once."""
    if isinstance(session, UnavailableSession):
        raise StoreUnavailable()


def init_app(app: Flask, client: redis.Redis, *, cookie_name: str, secure: bool, clock, id_keys,
             move_legacy=None) -> RedisSessionInterface:
    app.session_interface = RedisSessionInterface(client, cookie_name=cookie_name, secure=secure, clock=clock,
                                                  id_keys=id_keys, move_legacy=move_legacy)
    app.before_request(refuse_without_store)
    return app.session_interface
