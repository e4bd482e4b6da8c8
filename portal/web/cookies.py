"""The cookies the portal sets besides the session's: each has one owner, a Cookie, that names,
reads, issues and clears it.

issue() and clear() take effect on the response being built (apply(), after every request); a
deletion carries the attributes the cookie was set with, or browsers would ignore it. In production
each name takes the `__Host-` prefix, which pins it to this exact origin over https.

SameSite: the session and key cookies are Lax, so a link from another site (an email, a bookmark
manager) or the return from Navexa's sign-in arrives signed in; beside them, the same-site cookie is
Strict (RFC 10017's SHOULD), and what changes state or reaches Navexa (/api/, every form) needs it
(web.security.check_same_site): a browser sends it only on requests that start on the portal's own site.
"""

import re
from collections.abc import Mapping

from flask import Flask, g, request

from ..core.storage import sealing
from .services import settings


class Cookie:
    """One cookie the portal sets: its name, its well-formed values, and how it is read, issued and cleared."""

    def __init__(self, name: str, pattern: str, samesite: str = "Lax"):
        self.dev_name = name
        self.samesite = samesite
        self.secure_name = "__Host-" + name
        self.pattern = re.compile(pattern)

    def name_for(self, production: bool) -> str:
        return self.secure_name if production else self.dev_name

    def value_in(self, cookies: Mapping[str, str], production: bool) -> str | None:
        """The cookie's value in a request's parsed cookies, if it is there and well-formed."""
        value = cookies.get(self.name_for(production), "")
        return value if self.pattern.fullmatch(value) else None

    def read(self) -> str | None:
        """This browser's value, if it is there and well-formed."""
        return self.value_in(request.cookies, settings().production)

    def issue(self, value: str, max_age: int):
        g.setdefault("cookies", {})[self.dev_name] = (value, max_age)

    def clear(self):
        g.setdefault("cookies", {})[self.dev_name] = None

    def apply(self, response):
        if self.dev_name not in g.get("cookies", {}):
            return response
        production = settings().production
        name, change = self.name_for(production), g.cookies[self.dev_name]
        if change is None:
            response.delete_cookie(name, path="/", secure=production, httponly=True, samesite=self.samesite)
        else:
            value, max_age = change
            response.set_cookie(name, value, path="/", httponly=True, samesite=self.samesite, secure=production,
                                max_age=max_age)
        return response


class KeyCookie(Cookie):
    """The session's sealing key (never in Redis): a Redis dump opens no token record without it."""

    def key_in(self, cookies: Mapping[str, str], production: bool) -> bytes | None:
        """The sealing key a request's cookies carry, if they carry a well-formed one."""
        return sealing.decode_key(self.value_in(cookies, production))

    def key(self) -> bytes | None:
        """This browser's sealing key, if it sent a well-formed one."""
        return self.key_in(request.cookies, settings().production)

    def issue_key(self, key: bytes, max_age: int):
        self.issue(sealing.encode_key(key), max_age)


key_cookie = KeyCookie("navexa_portal_key", r"[A-Za-z0-9_-]{43}")
# Binds pending logins, and the sign-in they lead to, to the browser that started them.
binding_cookie = Cookie("navexa_portal_login", r"[A-Za-z0-9_-]{43}")
# For a minute after sign-out: the landing page says it worked (the way back runs through Navexa's logout).
signed_out_cookie = Cookie("navexa_portal_signed_out", r"1")
SIGNED_OUT_NOTICE_SECONDS = 60
# Strict: sent only on requests that start on the portal's own site; its value is the session's (web.sessions).
same_site_cookie = Cookie("navexa_portal_same_site", r"[A-Za-z0-9_-]{43}", samesite="Strict")
COOKIES = (key_cookie, binding_cookie, signed_out_cookie, same_site_cookie)


def init_app(app: Flask):
    for cookie in COOKIES:
        app.after_request(cookie.apply)
