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
"""

import time
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, jsonify, request, session, stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge

from . import navexa
from .access import current_user, login_required, with_access_token
from .errors import PortalError, SessionExpired
from .security import SAFE_METHODS, check_csrf_header
from .services import services
from .session import EXPIRES_AT

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
    expires_at = session.get(EXPIRES_AT)
    expires_in = max(0, int(expires_at - time.time())) if isinstance(expires_at, int | float) else None
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


@bp.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@login_required
def proxy(path):
    if request.method not in SAFE_METHODS:
        check_csrf_header()
    segments = upstream_segments(request.environ)
    body = request_body()
    headers = {name: request.headers[name] for name in FORWARD_REQUEST_HEADERS if name in request.headers}
    # Compressed answers pass as they are, so ask only for what this client can read.
    headers["Accept-Encoding"] = request.headers.get("Accept-Encoding") or "identity"
    client = services().navexa

    def call(token):
        return client.request(request.method, segments, token, params=list(request.args.items(multi=True)),
                              headers=headers, body=body, stream=True, check=False)

    try:
        upstream = with_access_token(call)
    except navexa.UpstreamError as error:
        if error.upstream_status is not None and 300 <= error.upstream_status < 400:
            raise UpstreamRedirect() from error
        raise
    content_type = upstream.headers.get("Content-Type", "application/octet-stream")
    if content_type.split(";", 1)[0].strip().lower() in ACTIVE_CONTENT:
        upstream.drain_conn()
        upstream.release_conn()
        raise UpstreamContent()
    hop_by_hop = {n.strip().lower() for n in upstream.headers.get("Connection", "").split(",") if n.strip()}
    out_headers = {name: upstream.headers[name] for name in FORWARD_RESPONSE_HEADERS
                   if name in upstream.headers and name.lower() not in hop_by_hop}
    out_headers.setdefault("Content-Type", content_type)
    out_headers.update({"Cache-Control": "no-store", "Vary": "Accept-Encoding", "Content-Security-Policy": PROXY_CSP,
                        "X-Content-Type-Options": "nosniff"})

    length = upstream.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= CHUNK:  # the usual JSON answer: one read, no generator to keep alive
        body = upstream.read(decode_content=False)
        upstream.release_conn()
        return Response(body, status=upstream.status, headers=out_headers)

    def stream():
        try:
            yield from upstream.stream(CHUNK, decode_content=False)
        finally:
            upstream.release_conn()

    return Response(stream_with_context(stream()), status=upstream.status, headers=out_headers,
                    direct_passthrough=True)
