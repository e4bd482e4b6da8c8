"""Security headers, CSRF defences and safe redirects.

A state change (a form, an /api/ call other than GET) needs the session's CSRF token; every /api/ call
needs the X-CSRF header (RFC 10017: a custom header on every API request, which another site's page
cannot add without a CORS preflight the portal never grants); both need the Strict same-site cookie
(web.cookies) whenever the session has one.
"""

import hmac
import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, request, session

from ..core.sessions.record import CSRF, SessionRecord
from . import rules
from .cookies import same_site_cookie
from .problems import CsrfError, SameSiteRequired
from .sessions import safe_current_user

CSRF_SESSION_KEY = CSRF  # the session record's field (core.sessions.record)
CSRF_HEADER = rules.CSRF_HEADER
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_SAFE_PATH = re.compile(r"/(?![/\\])[^\x00-\x1f\x7f\\]*")  # the whole value: fullmatch (a $ lets a final newline by)


def safe_next(target: str | None, default: str | None = None) -> str | None:
    """Return target only if it is a path on this site (never //host, /\\host or an absolute URL)."""
    if not target or not _SAFE_PATH.fullmatch(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf():
    """Refuse a state-changing form without the session's CSRF token (form field or X-CSRF header), or
    without the Strict same-site cookie."""
    if not (_is_csrf_token(request.form.get(CSRF_FORM_FIELD)) or _is_csrf_token(request.headers.get(CSRF_HEADER))):
        raise CsrfError()
    check_same_site()


def check_csrf_header():
    """Refuse a state-changing API call without the X-CSRF header carrying the session's token (403)."""
    if not _is_csrf_token(request.headers.get(CSRF_HEADER)):
        raise CsrfError("Send the session's CSRF token in the X-CSRF header.", status=403)


def check_same_site():
    """Refuse a request without the session's Strict same-site cookie (web.rules.same_site_ok): the request did
    not start on the portal's own site (a link or form elsewhere)."""
    if not rules.same_site_ok(SessionRecord.of(session), same_site_cookie.read()):
        raise SameSiteRequired()


def _is_csrf_token(given: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500, not a refusal).
    return bool(expected and given) and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def security_headers(settings) -> dict[str, str]:
    """The headers every answer carries (unless it set its own), made once from the settings."""
    headers = {
        # form-action covers the redirect to the provider's logout after the sign-out form.
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                   f"frame-ancestors 'none'; form-action 'self' {origin_of(settings.auth_url)}",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    if settings.production:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def set_security_headers(response, headers: dict[str, str]):
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    if safe_current_user() is not None or response.status_code >= 300:
        response.headers["Cache-Control"] = "no-store"
    return response


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def init_app(app: Flask, settings) -> dict[str, str]:
    """Put the security headers on every answer; return them (the /api/ fast path sends them too)."""
    headers = security_headers(settings)
    app.after_request(lambda response: set_security_headers(response, headers))
    app.context_processor(lambda: {"csrf_token": csrf_token})
    return headers
