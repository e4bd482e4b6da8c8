"""/api/<path>: a JSON proxy to the Navexa API with the session's access token.

The browser's Cookie and Authorization never travel upstream; the response is streamed
back, Navexa's 4xx answers included; a 401 refreshes once and retries, a 5xx becomes 502.
Methods other than GET/HEAD need the X-CSRF header.
"""

from flask import Blueprint, Response, request, stream_with_context

from .access import login_required, with_access_token
from .errors import PortalError
from .security import SAFE_METHODS, check_csrf
from .services import services

bp = Blueprint("proxy", __name__, url_prefix="/api")

FORWARD_REQUEST_HEADERS = ("Accept", "Accept-Language", "Content-Type", "If-None-Match", "If-Modified-Since")
FORWARD_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Content-Disposition", "ETag", "Last-Modified",
                            "Retry-After")
CHUNK = 64 * 1024  # bytes per streamed piece: memory stays flat for large downloads


@bp.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@login_required
def proxy(path):
    if request.method not in SAFE_METHODS:
        check_csrf()
    if ".." in path.split("/"):
        raise PortalError("That API path isn't valid.", status=400)
    headers = {name: request.headers[name] for name in FORWARD_REQUEST_HEADERS if name in request.headers}
    body = request.get_data() if request.method not in SAFE_METHODS else None
    client = services().navexa

    def call(token):
        return client.request(request.method, path, token, params=request.args.to_dict(flat=False),
                              headers=headers, data=body, stream=True, check=False)

    upstream = with_access_token(call)
    out_headers = {name: upstream.headers[name] for name in FORWARD_RESPONSE_HEADERS if name in upstream.headers}
    out_headers["Cache-Control"] = "no-store"

    def stream():
        try:
            yield from upstream.iter_content(CHUNK)
        finally:
            upstream.close()

    return Response(stream_with_context(stream()), status=upstream.status_code, headers=out_headers,
                    direct_passthrough=True)
