"""Each decision an /api/ request needs, written once as a pure function over (session record, cookies,
headers, now), and called by both adapters: the Flask view (api.views, with web.security) and the WSGI fast
path (api.fast_path). No Flask here: a test (tests/test_rules.py) feeds the same inputs to both adapters and
asserts the same answer.

In the order they are asked:
1. `from_another_origin`: a browser sent it from another origin's page (refused: CrossOrigin, 403);
2. `has_custom_header`: every /api/ call carries X-CSRF (RFC 10017: another site's page can't add it without a
   CORS preflight the portal never grants) (refused: CsrfError, 403);
3. `same_site_ok`: the Strict same-site cookie matches the session's (refused: SameSiteRequired, 403);
4. `refusal` puts 1-3 together; then `SessionRecord.signed_in` and `SessionRecord.due_a_write` (a session
   write is due: "last used", or an older session's adoption into the index; core.sessions.record);
5. the person's Navexa pause: the Flask view's calls read it from the gate, by the Navexa client itself
   (core.navexa.client.check_pause); the fast path reads its copy in the session's slot with the session
   (core.sessions.index.carry_pause) and leaves a paused person's call to the Flask view, which says so.
"""

import hmac
from collections.abc import Mapping

from ..core.sessions.record import SessionRecord
from .problems import CrossOrigin, CsrfError, PortalError, SameSiteRequired

CSRF_HEADER = "X-CSRF"
NO_CUSTOM_HEADER = ("Every /api/ request needs the X-CSRF header: any value for GET, the session's CSRF token "
                    "for other methods.")


def from_another_origin(headers: Mapping[str, str], own_origin: str) -> bool:
    """Whether a browser sent this from another origin's page. Browsers say so in Sec-Fetch-Site; older ones
    send Origin on cross-origin requests (and "null" from sandboxed frames and files). A client that sends
    neither (curl, a server) is not a browser another site can drive with the person's cookies."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("Origin")
    return origin is not None and origin != own_origin


def has_custom_header(value: str | None) -> bool:
    """Whether the X-CSRF header is there with any value (GET); unsafe methods check its value against the token."""
    return bool(value)


def same_site_ok(record: SessionRecord, given: str | None) -> bool:
    """Whether the request carries the session's Strict same-site cookie: it started on the portal's own site.
    A session from before the cookie existed has no value to check."""
    expected = record.same_site
    return expected is None or hmac.compare_digest(expected.encode(), (given or "").encode())


def request_refusal(headers: Mapping[str, str], own_origin: str) -> PortalError | None:
    """Why an /api/ request is refused by its headers alone (before its session is read), or None."""
    if from_another_origin(headers, own_origin):
        return CrossOrigin()
    if not has_custom_header(headers.get(CSRF_HEADER)):
        return CsrfError(NO_CUSTOM_HEADER, status=403)
    return None


def refusal(record: SessionRecord, headers: Mapping[str, str], same_site_cookie: str | None,
            own_origin: str) -> PortalError | None:
    """Why an /api/ request (of any method) is refused before anything else, or None."""
    refused = request_refusal(headers, own_origin)
    if refused is None and not same_site_ok(record, same_site_cookie):
        refused = SameSiteRequired()
    return refused
