"""/api/: the JSON proxy to the Navexa API with the session's access token (Flask's adapter over
api.hop's rules), and /api/session, answered by the portal itself.

Every request needs the X-CSRF header (any value for GET and HEAD, the session's CSRF token for other
methods) and, once signed in, the Strict same-site cookie (else 403); a request
body over MAX_BODY gets 413, with or without Content-Length, never a truncated copy.
The usual GET is answered by api.fast_path instead, by the same rules; any /api/ path that this
blueprint or another declares for itself (such as /api/session) is answered here.
"""

from flask import Blueprint, Response, jsonify, request, session, stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.observability.metrics import API_ANSWERS
from ..core.sessions.record import SessionRecord
from ..settings import MAX_BODY
from ..web import rules, sessions
from ..web.cookies import same_site_cookie
from ..web.problems import SessionExpired
from ..web.security import SAFE_METHODS, check_csrf_header, origin_of
from ..web.services import services, settings
from ..web.signed_in import login_required, with_access_token
from . import hop

bp = Blueprint("api", __name__, url_prefix="/api")
PROXY_ENDPOINT = "api.proxy"  # the one endpoint whose calls go upstream; every other /api/ endpoint is the portal's


@bp.before_request
def only_the_portals_own_pages():
    """Every /api/ request, /api/session included: refused from another origin's page, without the custom
    header, or without the Strict same-site cookie."""
    refused = rules.refusal(SessionRecord.of(session), request.headers, same_site_cookie.read(),
                            origin_of(settings().public_url))
    if refused is not None:
        raise refused


@bp.after_request
def count_full_path(response):
    API_ANSWERS.labels("full").inc()
    return response


@bp.get("/session")
def session_info():
    """Who is signed in and until when; answered here, never forwarded, never refreshing a token."""
    user = sessions.current_user()
    if user is None:
        raise SessionExpired("Sign in to use the API.")
    return jsonify(signed_in=True, user={"name": user.name, "email": user.email}, expires_in=sessions.seconds_left(),
                   logout_url="/logout")


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
        piece = stream.read(min(hop.CHUNK, MAX_BODY + 1 - len(body)))
        if not piece:
            return bytes(body)
        body += piece
    raise RequestEntityTooLarge()


@bp.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@login_required
def proxy(path):
    if request.method not in SAFE_METHODS:
        check_csrf_header()
    call = hop.Call(request.method, hop.upstream_segments(request.environ), list(request.args.items(multi=True)),
                    hop.forwarded_headers(request.headers), request_body())
    answer = hop.reply(hop.send(services().navexa, call, with_access_token, person=sessions.current_user().sub))
    if isinstance(answer.body, bytes):
        return Response(answer.body, status=answer.status, headers=answer.headers)
    response = Response(stream_with_context(iter(answer.body)), status=answer.status, headers=answer.headers,
                        direct_passthrough=True)
    response.call_on_close(answer.body.close)
    return response
