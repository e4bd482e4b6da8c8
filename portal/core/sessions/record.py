"""The session record: what `portal:session:{sid}` holds, defined once, and where session ids come from. No Flask here.

The record is JSON (web.session_store keeps it). Its fields, each written by one module:

| field | holds | written by |
|---|---|---|
| USER (`user`) | the person: {"sub", "name", "email"} | web.sessions.start |
| EXPIRES_AT (`exp`) | the session's absolute end, epoch seconds (never extended) | web.sessions.start |
| STARTED (`started`), SEEN (`seen`) | when it began; when it was last used, to SEEN_EVERY | web.sessions |
| BROWSER (`browser`) | the browser and system it began on, in a few words | web.sessions |
| ADDRESS (`from`) | the address it signed in from, as far as the trusted proxies tell it (shown to the person) | web.sessions.start |
| SAME_SITE (`same_site`) | the value the Strict same-site cookie must carry | web.sessions.start |
| INDEXED (`indexed`) | set once the session is in the index (sign-in; first use for an older session) | web.sessions |
| IDP_SID (`idp_sid`) | the Navexa sign-in session's `sid`, if the ID token had one | web.sessions.start |
| CLAIM (`claim`) | the hash of its browser's binding cookie (core.sessions.pending's claim) | web.sessions.start |
| CSRF (`csrf`) | the session's CSRF token, made on first use | web.security |
| KEY_CHECK (`key_check`) | proves the browser's key cookie: key_check(key) (the key itself is never stored) | web.sessions |

**Ids.** The browser's session cookie holds the session's id; Redis never does. Every key, index member and claim
names the session by `stored_id(id, SECRET_KEY's session-id key)`, a keyed hash that looks like an id (so what a
Redis dump names can't be made into a cookie), and a session acts on nothing without its key cookie (KEY_CHECK).

`SessionRecord.of(data)` reads a stored record defensively (a field of the wrong type reads as absent), for
everything that decides on one: the /api/ rules (web.rules), the index and the sessions page.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..values import is_number

USER = "user"
EXPIRES_AT = "exp"
STARTED = "started"
SEEN = "seen"
BROWSER = "browser"
ADDRESS = "from"
SAME_SITE = "same_site"
INDEXED = "indexed"
IDP_SID = "idp_sid"
CLAIM = "claim"
CSRF = "csrf"
KEY_CHECK = "key_check"

SEEN_EVERY = 60  # s: "last used" is written at most this often (one session write a minute at most)
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_session_id() makes, the whole value (fullmatch)


def new_session_id() -> str:
    """A new session id: 256 random bits, URL-safe (the only place ids are made)."""
    return secrets.token_urlsafe(32)


def stored_id(cookie_id: str, id_key: bytes) -> str:
    """What Redis calls the session whose cookie holds `cookie_id`: a keyed hash of it, shaped like an id."""
    digest = hmac.digest(id_key, b"navexa-portal/session-id/" + cookie_id.encode(), "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def key_check(key: bytes) -> str:
    """What the session record keeps to recognise its key cookie's key (not the key: it can't be worked back)."""
    return hmac.new(key, b"navexa-portal/key-check", hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class SessionRecord:
    """A stored session, read defensively: what each decision about it needs."""

    user: dict | None
    expires_at: float | None
    seen: float | None
    same_site: str | None
    indexed: bool
    idp_sid: str | None
    claim: str | None

    @classmethod
    def of(cls, data: dict | None) -> "SessionRecord":
        data = data if isinstance(data, dict) else {}

        def text(name):
            return data[name] if isinstance(data.get(name), str) else None

        def number(name):
            return float(data[name]) if is_number(data.get(name)) else None

        return cls(user=data[USER] if isinstance(data.get(USER), dict) else None, expires_at=number(EXPIRES_AT),
                   seen=number(SEEN), same_site=text(SAME_SITE), indexed=bool(data.get(INDEXED)),
                   idp_sid=text(IDP_SID), claim=text(CLAIM))

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def sub(self) -> str | None:
        sub = self.user.get("sub") if self.user else None
        return sub if isinstance(sub, str) else None

    def due_a_write(self, now: float) -> bool:
        """Whether a request must write the record: "last used" is SEEN_EVERY old (or unreadable), or an older
        session is still to be adopted into the index."""
        return not self.indexed or self.seen_due(now)

    def idle_past(self, now: float, timeout: float) -> bool:
        """Whether the session has gone unused for longer than `timeout` seconds (0: no idle timeout). "Last used"
        is written at most every SEEN_EVERY, so the timeout holds to within that."""
        return bool(timeout) and self.seen is not None and now - self.seen > timeout

    def seen_due(self, now: float) -> bool:
        """Whether "last used" is to be written: SEEN_EVERY old, or never written readably."""
        return self.seen is None or now - self.seen >= SEEN_EVERY
