"""The /api/ hop's rules, in one place: what goes upstream and what may come back. No Flask here.

Both ways of answering an /api/ call, the Flask view (api.views) and the WSGI fast path
(api.fast_path), are thin adapters over these functions; neither has a rule of its own.

Going up:
- only the portal's own pages may call: a browser's request from another origin (Sec-Fetch-Site
  cross-site or same-site, or an Origin that isn't the portal's) is refused (web.rules.from_another_origin);
- a request never leaves for a path outside NAVEXA_API_URL: the raw path is decoded fully, and
  any `.`, `..` or empty segment, backslash, encoded slash, control character or invalid UTF-8 is
  refused (BadPath); each segment is sent percent-encoded (`upstream_segments`);
- the browser's Cookie and Authorization never travel upstream; only listed headers do, and the
  encodings the browser can read (`forwarded_headers`);
- a 401 refreshes the token once and retries once (core.navexa.client.with_token, under each adapter's runner).
Coming back:
- an upstream 3xx is UpstreamRedirect (502); anything but data (DATA_CONTENT: JSON, CSV, PDF, bytes and
  the like) is UpstreamContent (502), so nothing a browser could run passes under any name; a 5xx, a
  timeout or no answer is Navexa's error (web.problems' table);
- only listed headers pass (never hop-by-hop ones or Set-Cookie), with the proxy's own: no-store,
  and a CSP that sandboxes whatever comes back (`answer_headers`);
- bytes pass as they came: a compressed answer stays compressed with its Content-Encoding, so
  Content-Length always matches; a small answer is read at once, a large one streams (`reply`).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from ..core.navexa import client as navexa
from ..core.values import whole_number
from ..web.problems import BadPath, PortalError, UpstreamContent, UpstreamRedirect, json_body

FORWARD_REQUEST_HEADERS = ("Accept", "Accept-Language", "Content-Type", "If-None-Match", "If-Modified-Since")
FORWARD_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition", "ETag",
                            "Last-Modified", "Retry-After")
# Only data passes: an allow-list, as anything a browser could render or run on the portal's origin (HTML, SVG,
# XML and its stylesheets, the many names of script, plugins) must not, whatever new name it comes under.
DATA_CONTENT = frozenset({
    "application/json", "application/problem+json", "application/ld+json", "application/vnd.api+json",
    "text/csv", "text/plain", "application/pdf", "application/octet-stream", "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel",
    "image/png", "image/jpeg", "image/gif", "image/webp",
})
CHUNK = 64 * 1024  # bytes per streamed piece: memory stays flat for large downloads; smaller answers go in one piece
MAX_DECODES = 4  # a segment still changing after this many rounds of percent-decoding is refused
PROXY_CSP = "default-src 'none'; sandbox"  # whatever comes back, nothing in it runs on this origin
PREFIX = "/api/"


def upstream_segments(environ: Mapping) -> list[str]:
    """The path's segments after /api/, each fully decoded; BadPath for anything that could leave the API base."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path = raw.split("?", 1)[0]
    if "://" in path:  # an absolute-form request target
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    if not path.startswith(PREFIX):
        raise BadPath()
    return [_segment(raw_segment) for raw_segment in path[len(PREFIX):].split("/")]


def _segment(segment: str) -> str:
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
    if segment.split(";", 1)[0] in ("", ".", "..") or "/" in segment or "\\" in segment or any(
            ord(c) < 32 or ord(c) == 127 for c in segment):
        raise BadPath()
    return segment


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """What goes upstream from the browser's headers: listed ones only, and the encodings it can read
    (compressed answers pass as they are)."""
    sent = {name: headers[name] for name in FORWARD_REQUEST_HEADERS if name in headers}
    sent["Accept-Encoding"] = headers.get("Accept-Encoding") or "identity"
    return sent


@dataclass(frozen=True)
class Call:
    """One /api/ call as it goes upstream."""

    method: str
    segments: list[str]
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes | None = None


def send(client: navexa.NavexaClient, call: Call, with_token: Callable[[Callable[[str], Any]], Any],
         person: str | None = None, pause_checked: bool = False):
    """Make the call through with_token (which hands it the session's token, refreshed and retried once
    on 401: core.navexa.client.with_token underneath); the upstream answer, still unread. Navexa's error answers
    raise (a redirect as UpstreamRedirect)."""

    def attempt(token: str):
        return client.request(call.method, call.segments, token, params=call.params, headers=call.headers,
                              body=call.body, stream=True, check=False, person=person,
                              pause_checked=pause_checked)

    try:
        return with_token(attempt)
    except navexa.UpstreamError as error:
        if error.upstream_status is not None and 300 <= error.upstream_status < 400:
            raise UpstreamRedirect() from error
        raise


@dataclass(frozen=True)
class Reply:
    """What goes back to the browser: status, headers, and the body (bytes, or a stream to close)."""

    status: int
    headers: dict[str, str]
    body: "bytes | UpstreamBody"


def reply(upstream) -> Reply:
    """The browser's answer from Navexa's; UpstreamContent (after freeing the connection) for anything but data."""
    if not _is_data(upstream):
        upstream.drain_conn()
        upstream.release_conn()
        raise UpstreamContent()
    return Reply(upstream.status, answer_headers(upstream), _body_of(upstream))


def _is_data(upstream) -> bool:
    content_type = upstream.headers.get("Content-Type", "application/octet-stream")  # none given: bytes, sent nosniff
    return content_type.split(";", 1)[0].strip().lower() in DATA_CONTENT


def answer_headers(upstream) -> dict[str, str]:
    """What comes back from Navexa's headers: listed ones only, never hop-by-hop, plus the proxy's own."""
    hop_by_hop = {n.strip().lower() for n in upstream.headers.get("Connection", "").split(",") if n.strip()}
    headers = {name: upstream.headers[name] for name in FORWARD_RESPONSE_HEADERS
               if name in upstream.headers and name.lower() not in hop_by_hop}
    headers.setdefault("Content-Type", "application/octet-stream")
    headers.update({"Cache-Control": "no-store", "Vary": "Accept-Encoding", "Content-Security-Policy": PROXY_CSP,
                    "X-Content-Type-Options": "nosniff"})
    return headers


def _body_of(upstream) -> "bytes | UpstreamBody":
    """The usual JSON answer, small enough to read at once (no generator to keep alive), as bytes with
    the connection back in the pool; anything larger or of unknown length as a stream."""
    length = whole_number(upstream.headers.get("Content-Length"))
    if length is not None and length <= CHUNK:
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


def error_reply(error: PortalError) -> Reply:
    """An error as the JSON the browser gets for any /api/ call (web.errors renders it alike for Flask's)."""
    body = json_body(error)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Cache-Control": "no-store"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Reply(error.status, headers, body)
