"""The /api/ fast path: the usual GET answered without Flask's request machinery, by api.hop's rules.

The hop is on every /api/ call, so the usual one (a GET, from a browser whose session is open,
whose key opens its token record, whose access token needs no refresh and whose person Navexa hasn't
paused) is answered with one Redis round trip (an MGET of the session, its token record and the person's
pause as kept in the session's hash slot) and one Navexa call. It answers only
paths that Flask's own url_map sends to the proxy view, so an /api/ endpoint the portal declares
for itself is never forwarded; it asks the token store whether the token is usable, and the key
cookie's owner for the key.

Whatever it starts, it finishes: Navexa's answer, or its error as the same JSON the Flask view
would send (a 401 is refreshed and retried once, as there). It declines, before asking Navexa,
anything else (another origin's request, no X-CSRF header or no Strict same-site cookie, no session,
a paused person, a token to refresh, a "last used" to note or an older session to index, a bad path, Redis trouble),
and the Flask app answers. Every refusal is decided by web.rules, the same functions the Flask path calls. The one
hand-over after Navexa was asked: when the session can't go on (a refreshed token refused too, or a refresh
refused for good), it ends the session the one way sessions end (SessionIndex.end) and declines, so the Flask
app answers that the session has ended, without asking anyone again.

Which path answered is counted: portal_api_answers_total{path="fast"|"full"}.
"""

import logging
import time
from collections.abc import Mapping

import redis
from flask import Flask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES, parse_cookie
from werkzeug.wrappers import Request

from ..core.navexa import client as navexa
from ..core.oauth.refresh_failures import RefreshUnavailable, SessionEnded
from ..core.observability import logformat
from ..core.observability.metrics import API_ANSWERS
from ..core.sessions.index import SessionIndex
from ..core.sessions.record import SESSION_ID, SessionRecord
from ..core.sessions.tokens import TokenStore
from ..core.storage.keyspace import PAUSED, SESSION, session_scoped
from ..web import rules
from ..web.cookies import key_cookie, same_site_cookie
from ..web.problems import PortalError, navexa_error, refresh_error
from ..web.session_store import RedisSessionInterface
from . import hop
from .views import PROXY_ENDPOINT

log = logging.getLogger(__name__)

ROUTES_KEPT = 4096  # route decisions kept per process (by path); all forgotten when full


class RequestHeaders(Mapping):
    """A request's headers read straight from its WSGI environ, as werkzeug's EnvironHeaders reads them (the same
    values), without raising and catching a KeyError for each header a request doesn't carry."""

    __slots__ = ("environ",)

    def __init__(self, environ):
        self.environ = environ

    @staticmethod
    def _key(name: str) -> str:
        key = name.upper().replace("-", "_")
        return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key

    def get(self, name, default=None):
        return self.environ.get(self._key(name), default)

    def __contains__(self, name) -> bool:
        return self._key(name) in self.environ

    def __getitem__(self, name):
        return self.environ[self._key(name)]

    def __iter__(self):  # the names, as HTTP spells them (not needed on the hot path)
        return iter(EnvironHeaders(self.environ).keys())

    def __len__(self) -> int:
        return len(EnvironHeaders(self.environ))


class FastPath:
    """A WSGI wrapper round the Flask app (see the module docstring)."""

    def __init__(self, app: Flask, *, redis_client, sessions: RedisSessionInterface, tokens: TokenStore,
                 index: SessionIndex, navexa_client: navexa.NavexaClient, production: bool,
                 security_headers: dict[str, str], own_origin: str):
        self.app = app
        self.wsgi_app = app.wsgi_app
        self.routes = app.url_map.bind("localhost")  # matches against the map as it is at each call
        self.decided: dict[str, bool] = {}  # path -> forwards(path), once Flask takes no more routes
        self.fast_answers = API_ANSWERS.labels("fast")
        self.redis = redis_client
        self.sessions = sessions
        self.tokens = tokens
        self.index = index
        self.navexa = navexa_client
        self.production = production
        self.security_headers = security_headers
        self.own_origin = own_origin

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or not self.forwards(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        request_id = logformat.request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        context = logformat.current_request_id.set(request_id)
        try:
            answer = self.answer(environ, started, request_id)
        except Exception as error:  # noqa: BLE001 - whatever went wrong here, the full path can still answer
            log.warning("the /api/ fast path gave way to the full one: %s", type(error).__name__)
            answer = None
        finally:
            logformat.current_request_id.reset(context)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        self.fast_answers.inc()
        status, headers, body = answer
        start_response(status, headers)
        return body

    def forwards(self, path: str) -> bool:
        """Whether Flask's url_map sends a GET of this path to the proxy view (not to one of the portal's own).
        Decided once a path after Flask has answered its first request (from then on it takes no more routes: until
        then one may be added, so the map is asked each time)."""
        if not path.startswith(hop.PREFIX):
            return False
        decided = self.decided.get(path)
        if decided is None:
            try:
                endpoint, _ = self.routes.match(path, "GET")
                decided = endpoint == PROXY_ENDPOINT
            except HTTPException:  # no route, another method, or a redirect (RequestRedirect): Flask answers
                decided = False
            if self.app._got_first_request:  # Flask's own mark: add_url_rule refuses from then on
                if len(self.decided) >= ROUTES_KEPT:
                    self.decided = {}
                self.decided[path] = decided
        return decided

    def answer(self, environ, started: float, request_id: str):
        """(status line, headers, body), or None for the Flask app to answer."""
        # The headers as werkzeug reads them (RequestHeaders) and werkzeug's own cookie parser, as Flask's request
        # uses: the same values, without building a Request (built only for a query or a path beyond ASCII).
        request_headers = RequestHeaders(environ)
        if rules.request_refusal(request_headers, self.own_origin) is not None:
            return None  # refused by its headers alone: the Flask view says so, by the same rules
        cookies = parse_cookie(environ)
        cookie_id = cookies.get(self.sessions.cookie_name, "")
        key = key_cookie.key_in(cookies, self.production)
        if not SESSION_ID.fullmatch(cookie_id) or key is None:
            return None
        sid = self.sessions.stored(cookie_id)  # what Redis calls it (a session of the release before: Flask's path)
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING")
        if query or not path.isascii():  # werkzeug's reading of a query, and of a path beyond ASCII
            incoming = Request(environ)
            path, params = incoming.path, list(incoming.args.items(multi=True))
        else:
            params = []
        try:
            call = hop.Call("GET", hop.upstream_segments(environ), params, hop.forwarded_headers(request_headers))
        except PortalError:  # a bad path: the Flask view says so
            return None
        try:  # one round trip: the session, its token record and the person's pause share a slot
            raw_session, sealed, paused = self.redis.mget(session_scoped(SESSION, sid), self.tokens.key_of(sid),
                                                          session_scoped(PAUSED, sid))
        except redis.RedisError:
            return None  # the Flask path reports it
        now = self.sessions.clock()
        if paused is not None and float(paused) > now:
            return None  # Navexa asked this person's calls to wait: the Flask path says so, asking no one
        record = SessionRecord.of(self.sessions.record_of(raw_session))
        if not rules.same_site_ok(record, same_site_cookie.value_in(cookies, self.production)):
            return None  # no Strict same-site cookie: the Flask view refuses it
        if not record.signed_in or record.due_a_write(now):
            return None  # signed out, or "last used" to note: the Flask path's
        token = self.tokens.usable_token(sid, key, sealed)
        if token is None:
            return None  # signed out, or a token to refresh first: the Flask path's
        user = record.user
        label = user.get("sub") or "-"

        def token_for(refused: str | None) -> str:
            return token if refused is None else self.tokens.access_token(sid, key, reject=refused, user=label)

        try:
            # The person's pause was read with the session (its copy in the session's slot); their rate, if any, and a
            # 429's new pause are the Navexa client's to keep, through the gate.
            reply = hop.reply(hop.send(self.navexa, call, lambda attempt: navexa.with_token(attempt, token_for),
                                       person=record.sub, pause_checked=True))  # read with the session
        except (navexa.TokenRejected, SessionEnded):
            self.index.end([sid], revoke=False)  # the session can't go on: ended the one way; Flask answers 401
            return None
        except navexa.NavexaError as error:
            reply = hop.error_reply(navexa_error(error))
        except RefreshUnavailable as error:
            reply = hop.error_reply(refresh_error(error))
        except PortalError as error:  # UpstreamRedirect, UpstreamContent
            reply = hop.error_reply(error)
        headers = dict(reply.headers)
        headers["Vary"] = headers["Vary"] + ", Cookie" if "Vary" in headers else "Cookie"  # the answer is the session's
        for name, value in self.security_headers.items():
            headers.setdefault(name, value)
        headers["X-Request-ID"] = request_id
        logformat.log_request("GET", path, reply.status, started, request_id, user.get("sub"))
        status = f"{reply.status} {HTTP_STATUS_CODES.get(reply.status, 'unknown').upper()}"  # as werkzeug says it
        body = [reply.body] if isinstance(reply.body, bytes) else reply.body
        return status, list(headers.items()), body
