"""/api/: the JSON proxy to the Navexa API with the session's access token, and /api/session.

What the proxy guarantees:
- a request never leaves for a path outside NAVEXA_API_URL: the raw path is decoded fully, any
  `.`, `..` or empty segment, backslash, encoded slash, control character or invalid UTF-8 is
  refused, and each segment is sent percent-encoded;
- the browser's Cookie and Authorization never travel upstream; only listed headers do, both ways
  (hop-by-hop headers and upstream Set-Cookie never pass);
- bytes pass faithfully: a compressed answer stays compressed with its Content-Encoding, so
  Content-Length always matches what is sent; bodies stream with flat memory;
- a request body over MAX_BODY gets 413, with or without Content-Length, never a truncated copy;
- methods other than GET/HEAD need the X-CSRF header with the session's token (else 403);
- an upstream 3xx is answered 502 `upstream_redirect`; content a browser could run (HTML, SVG,
  script) is answered 502 `upstream_content`; every answer is sandboxed by its CSP;
- a 401 refreshes the token once and retries; a 5xx becomes 502.

The hop is on every /api/ call, so the usual one has a lean path (`LeanHop`, a WSGI wrapper round
the Flask app): a GET from a signed-in browser whose access token is fresh is answered with one
Redis round trip (session and token record, which share a hash slot) and one Navexa call, without
Flask's request machinery. It applies the same rules through the same functions, and anything else
(no session, a token to refresh, a bad path, Redis trouble, an error answer) goes to the Flask view.
When Navexa has already answered the lean path with an error, the view is handed that answer
(FIRST_ANSWER) instead of asking again, so every error is answered exactly as before.
"""

import logging
import time
from urllib.parse import unquote_to_bytes

import redis
from flask import Blueprint, Response, jsonify, request, session, stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from . import navexa
from .access import USER_KEY, current_user, key_cookie, login_required, with_access_token
from .errors import PortalError, SessionExpired
from .logs import log_request, request_id_for
from .security import SAFE_METHODS, check_csrf_header
from .services import services
from .session import SESSION_ID, SESSION_KEY_PREFIX, RedisSessionInterface
from .tokens import TOKEN_KEY_PREFIX, SessionEnded, TokenStore, decode_key, session_scoped

log = logging.getLogger(__name__)

bp = Blueprint("proxy", __name__, url_prefix="/api")

FORWARD_REQUEST_HEADERS = ("Accept", "Accept-Language", "Content-Type", "If-None-Match", "If-Modified-Since")
FORWARD_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition", "ETag",
                            "Last-Modified", "Retry-After")
# Content a browser would render or run on the portal's origin never passes.
ACTIVE_CONTENT = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                  "text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript")
CHUNK = 64 * 1024  # bytes per streamed piece: memory stays flat for large downloads; smaller answers go in one piece
MAX_BODY = 1024 * 1024  # bytes a request body may carry
MAX_DECODES = 4  # a segment still changing after this many rounds of percent-decoding is refused
PROXY_CSP = "default-src 'none'; sandbox"  # whatever comes back, nothing in it runs on this origin
FIRST_ANSWER = "navexa_portal.proxy_first_answer"  # environ: Navexa's error answer to the lean path


class BadPath(PortalError):
    code, status, title = "bad_path", 400, "That API path isn't valid"
    message = "API paths are plain segments: no '.', '..', empty segments, backslashes or encoded slashes."


class UpstreamRedirect(PortalError):
    code, status, title = "upstream_redirect", 502, "Navexa answered with a redirect"
    message = "The portal does not follow redirects from Navexa."


class UpstreamContent(PortalError):
    code, status, title = "upstream_content", 502, "Navexa answered with content the portal won't pass on"
    message = "Only data (JSON, CSV, PDF and the like) passes through the API proxy."


@bp.get("/session")
def session_info():
    """Who is signed in and until when; answered here, never forwarded, never refreshing a token."""
    user = current_user()
    if user is None:
        raise SessionExpired("Sign in to use the API.")
    expires_at = session.expires_at
    expires_in = max(0, int(expires_at - time.time())) if expires_at is not None else None
    return jsonify(signed_in=True, user={"name": user.name, "email": user.email}, expires_in=expires_in,
                   logout_url="/logout")


def upstream_segments(environ) -> list[str]:
    """The path's segments after /api/, each fully decoded; BadPath for anything that could leave the API base."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path = raw.split("?", 1)[0]
    if "://" in path:  # an absolute-form request target
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    if not path.startswith("/api/"):
        raise BadPath()
    segments = []
    for raw_segment in path[len("/api/"):].split("/"):
        segment = raw_segment
        for _ in range(MAX_DECODES):
            try:
                decoded = unquote_to_bytes(segment).decode("utf-8")
            except UnicodeDecodeError as error:  # %c0%ae and other invalid or overlong forms
                raise BadPath() from error
            if decoded == segment:
                break
            segment = decoded
        else:
            raise BadPath()
        if segment.split(";", 1)[0] in ("", ".", "..") or "/" in segment or "\\" in segment or any(ord(c) < 32 or ord(c) == 127
                                                                                 for c in segment):
            raise BadPath()
        segments.append(segment)
    return segments


def request_body() -> bytes | None:
    """The whole request body, or 413 if it is over MAX_BODY (chunked bodies included)."""
    if request.method in SAFE_METHODS:
        return None
    if request.content_length is not None:
        if request.content_length > MAX_BODY:
            raise RequestEntityTooLarge()
        return request.get_data()
    if not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and a server that doesn't end the stream: nothing can be read safely
    # Chunked: read the server's de-chunked stream ourselves, one byte past the limit to tell.
    stream, body = request.environ["wsgi.input"], bytearray()
    while len(body) <= MAX_BODY:
        piece = stream.read(min(CHUNK, MAX_BODY + 1 - len(body)))
        if not piece:
            return bytes(body)
        body += piece
    raise RequestEntityTooLarge()


def forwarded_headers(headers) -> dict[str, str]:
    """What goes upstream from the browser's headers: listed ones only, and the encodings it can read
    (compressed answers pass as they are)."""
    sent = {name: headers[name] for name in FORWARD_REQUEST_HEADERS if name in headers}
    sent["Accept-Encoding"] = headers.get("Accept-Encoding") or "identity"
    return sent


def is_active_content(upstream) -> bool:
    content_type = upstream.headers.get("Content-Type", "application/octet-stream")
    return content_type.split(";", 1)[0].strip().lower() in ACTIVE_CONTENT


def answer_headers(upstream) -> dict[str, str]:
    """What comes back from Navexa's headers: listed ones only, never hop-by-hop, plus the proxy's own."""
    hop_by_hop = {n.strip().lower() for n in upstream.headers.get("Connection", "").split(",") if n.strip()}
    headers = {name: upstream.headers[name] for name in FORWARD_RESPONSE_HEADERS
               if name in upstream.headers and name.lower() not in hop_by_hop}
    headers.setdefault("Content-Type", "application/octet-stream")
    headers.update({"Cache-Control": "no-store", "Vary": "Accept-Encoding", "Content-Security-Policy": PROXY_CSP,
                    "X-Content-Type-Options": "nosniff"})
    return headers


def passable(upstream) -> bool:
    """False for content a browser would run (the answer is then read out and the connection freed)."""
    if not is_active_content(upstream):
        return True
    upstream.drain_conn()
    upstream.release_conn()
    return False


def body_of(upstream) -> "bytes | UpstreamBody":
    """The usual JSON answer, small enough to read at once (no generator to keep alive), as bytes with
    the connection back in the pool; anything larger or of unknown length as a stream."""
    length = upstream.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= CHUNK:
        body = upstream.read(decode_content=False)
        upstream.release_conn()
        return body
    return UpstreamBody(upstream)


class UpstreamBody:
    """An answer's bytes as they came (still compressed if they were), in CHUNK pieces; the
    connection goes back to the pool when the server closes the body, read to the end or not."""

    def __init__(self, upstream):
        self.upstream = upstream

    def __iter__(self):
        return self.upstream.stream(CHUNK, decode_content=False)

    def close(self):
        self.upstream.release_conn()


@bp.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@login_required
def proxy(path):
    if request.method not in SAFE_METHODS:
        check_csrf_header()
    segments = upstream_segments(request.environ)
    body = request_body()
    headers = forwarded_headers(request.headers)
    client = services().navexa
    first_answer = request.environ.pop(FIRST_ANSWER, None)

    def call(token):
        nonlocal first_answer
        if first_answer is not None:  # Navexa's answer to the lean path: not asked twice
            answer, first_answer = first_answer, None
            raise answer
        return client.request(request.method, segments, token, params=list(request.args.items(multi=True)),
                              headers=headers, body=body, stream=True, check=False)

    try:
        upstream = with_access_token(call)
    except navexa.UpstreamError as error:
        if error.upstream_status is not None and 300 <= error.upstream_status < 400:
            raise UpstreamRedirect() from error
        raise
    if not passable(upstream):
        raise UpstreamContent()
    body = body_of(upstream)
    if isinstance(body, bytes):
        return Response(body, status=upstream.status, headers=answer_headers(upstream))
    response = Response(stream_with_context(iter(body)), status=upstream.status, headers=answer_headers(upstream),
                        direct_passthrough=True)
    response.call_on_close(body.close)
    return response


class LeanHop:
    """The usual /api/ call without Flask's request machinery (see the module docstring).

    It answers only a GET (not /api/session) from a browser whose session is open, whose key opens
    its token record and whose access token is fresh, and only with what the Flask view would send:
    the same path rules, headers, CSP, security headers, request id and log line. Everything else,
    and any surprise, goes to the Flask app.
    """

    def __init__(self, wsgi_app, *, redis_client, sessions: RedisSessionInterface, tokens: TokenStore,
                 navexa_client: navexa.NavexaClient, production: bool, security_headers: dict[str, str]):
        self.wsgi_app = wsgi_app
        self.redis = redis_client
        self.sessions = sessions
        self.tokens = tokens
        self.navexa = navexa_client
        self.session_cookie = sessions.cookie_name
        self.key_cookie = key_cookie.name_for(production)
        self.security_headers = security_headers

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not path.startswith("/api/") or path == "/api/session":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            answer = self.answer(environ, started)
        except Exception as error:  # noqa: BLE001 - whatever went wrong here, the full path can still answer
            log.warning("lean /api/ path gave way to the full one: %s", type(error).__name__)
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body

    def answer(self, environ, started: float):
        """(status line, headers, body), or None for the Flask app to answer."""
        incoming = Request(environ)  # werkzeug's parsing of cookies, query and headers, as Flask's
        sid = incoming.cookies.get(self.session_cookie, "")
        key_text = incoming.cookies.get(self.key_cookie, "")
        key = decode_key(key_text) if key_cookie.pattern.fullmatch(key_text) else None
        if not SESSION_ID.match(sid) or key is None:
            return None
        try:
            segments = upstream_segments(environ)
        except BadPath:
            return None
        try:
            raw_session, sealed = self.redis.mget(session_scoped(SESSION_KEY_PREFIX, sid),
                                                  session_scoped(TOKEN_KEY_PREFIX, sid))
        except redis.RedisError:
            return None  # the Flask path reports it
        data = self.sessions.record_of(raw_session)
        user = data.get(USER_KEY) if data else None
        if not isinstance(user, dict):
            return None
        try:
            record = self.tokens.unseal(sid, key, sealed)
        except SessionEnded:
            return None
        if not record.fresh(self.tokens.clock(), self.tokens.leeway):
            return None  # refreshing is the Flask path's
        try:
            upstream = self.navexa.request("GET", segments, record.access_token,
                                           params=list(incoming.args.items(multi=True)),
                                           headers=forwarded_headers(incoming.headers), stream=True, check=False)
        except navexa.NavexaError as error:
            environ[FIRST_ANSWER] = error
            return None
        if not passable(upstream):
            environ[FIRST_ANSWER] = UpstreamContent()
            return None
        headers = answer_headers(upstream)
        body = body_of(upstream)
        if isinstance(body, bytes):
            body = [body]
        for name, value in self.security_headers.items():
            headers.setdefault(name, value)
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        headers["Vary"] += ", Cookie"  # the answer depends on the session, as the Flask path's does
        headers["X-Request-ID"] = request_id
        log_request("GET", incoming.path, upstream.status, started, request_id, user.get("sub"))
        status = f"{upstream.status} {HTTP_STATUS_CODES.get(upstream.status, 'unknown').upper()}"  # as werkzeug says it
        return status, list(headers.items()), body
