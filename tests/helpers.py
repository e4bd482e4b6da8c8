"""Test helpers: a live portal on a real socket, a signed-in browser, a movable clock, key names."""

import csv
import io
import json
import logging
import os
import tempfile
import threading
import time
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jinja2
from werkzeug.serving import make_server

from portal.core.sessions.tokens import TokenRecord
from portal.core.storage.keyspace import PENDING, REFRESH_FAILED, REFRESH_LOCK, SESSION, TOKENS, session_scoped
from portal.core.storage.sealing import decode_key
from portal.web.cookies import key_cookie, same_site_cookie
from portal.web.services import services
from portal.web.session_store import SESSION_COOKIE
from tools.clients import Browser
from tools.stack import start_redis

# Where the browser tests' screenshots go: docs/screenshots only under `make screenshots` (SCREENSHOTS_DIR), never
# from `make test`, which writes nothing into the tree.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "navexa-portal-screenshots")
SCREENSHOTS.mkdir(parents=True, exist_ok=True)

DAY = 86400
PINNED_TODAY = date(2026, 11, 21)  # the date test portals report up to: amounts don't move with the calendar
SAME_SITE_COOKIE = same_site_cookie.dev_name
KEY_COOKIE = key_cookie.dev_name  # development cookie names (tests run APP_ENV=development unless they say)
SERVER_POLL = 0.02  # s: how often a live server checks for shutdown (werkzeug's default 0.5 s slows tear-down)


def stored_sid(cookie_id: str, secret_key: str) -> str:
    """What a portal with this SECRET_KEY's Redis calls the session whose cookie holds cookie_id."""
    from portal.core.sessions.record import stored_id
    from portal.core.storage.sealing import derived_key

    return stored_id(cookie_id, derived_key(secret_key, "session-ids/v1"))


def session_key(sid: str) -> str:
    return session_scoped(SESSION, sid)


def token_key(sid: str) -> str:
    return session_scoped(TOKENS, sid)


def lock_key(sid: str) -> str:
    return session_scoped(REFRESH_LOCK, sid)


def failed_key(sid: str) -> str:
    return session_scoped(REFRESH_FAILED, sid)


class MovableClock:
    """time.time, plus an offset a test moves forward instead of sleeping; freeze() stops it where it is."""

    def __init__(self):
        self.offset = 0.0
        self.frozen: float | None = None

    def __call__(self) -> float:
        return (self.frozen if self.frozen is not None else time.time()) + self.offset

    def freeze(self):
        self.frozen = time.time()

    def advance(self, seconds: float):
        self.offset += seconds


class LivePortal:
    """A portal served over a real socket from a thread of the test process."""

    def __init__(self, app, port, clock: MovableClock):
        self.app = app
        self.clock = clock
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(SERVER_POLL,), daemon=True)
        self.thread.start()

    @property
    def services(self):
        return services(self.app)

    @property
    def redis(self):
        return self.services.redis

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class PortalBrowser(Browser):
    """A browser on a test portal, with handles on the portal, the sandbox and its own session."""

    def __init__(self, portal, sandbox):
        super().__init__(portal.url)
        self.portal, self.sandbox = portal, sandbox

    def twin(self) -> "PortalBrowser":
        other = PortalBrowser(self.portal, self.sandbox)
        other.cookies.update(self.cookies)
        return other

    def session_id(self) -> str | None:
        """What the portal's Redis calls this browser's session (the stored id of its cookie's id)."""
        cookie_id = self.cookie_id()
        return self.portal.app.session_interface.stored(cookie_id) if cookie_id else None

    def cookie_id(self) -> str | None:
        """The session id the browser's cookie holds (never in Redis)."""
        return self.cookies.get(SESSION_COOKIE)

    def key(self) -> bytes | None:
        return decode_key(self.cookies.get(KEY_COOKIE))

    def record(self) -> TokenRecord:
        """The session's token record, opened with this browser's key."""
        return self.portal.services.tokens.load(self.session_id(), self.key())

    def csrf(self) -> str:
        page = self.get(self.portal.url + "/logout", timeout=10).text
        marker = 'name="csrf_token" value="'
        return page.split(marker, 1)[1].split('"', 1)[0]

    def page(self, path="/portfolios", **kwargs):
        return self.get(self.portal.url + path, allow_redirects=False, timeout=30, **kwargs)


def pending_login(portal, state: str) -> dict | None:
    """The pending login Redis holds for state (its verifier, nonce, next…), or None."""
    raw = portal.redis.hget(PENDING + state, "data")
    return json.loads(raw) if raw else None


def redis_dump(client) -> bytes:
    """Every byte the portal keeps in Redis (strings and hashes), to search for what must not be there."""
    parts = []
    for key in client.scan_iter("portal:*"):
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"hash":
            parts += [b"%s=%s" % pair for pair in client.hgetall(key).items()]
    return b"\n".join(parts)


def signed_in_then_redis_stops(make_portal, sandbox, caplog, extra_args=()):
    """A person signed in on a portal with a Redis of its own, which then stops; the log captured from there.

    Returns the person, and the stopped redis-server's URL and work directory (to start it again).
    """
    service, url = start_redis(extra_args=extra_args)
    workdir = service.process.args[service.process.args.index("--dir") + 1]
    person = PortalBrowser(make_portal(REDIS_URL=url), sandbox)
    assert person.sign_in().status_code == 302
    service.stop()
    caplog.clear()
    caplog.set_level(logging.INFO)
    return person, url, workdir


def warning_lines(caplog) -> list:
    """What the portal logged at WARNING or above (urllib3's lines are the test client's own)."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING and not r.name.startswith("urllib3")]


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def page(browser, path, status=200):
    response = browser.get(browser.portal.url + path, allow_redirects=False, timeout=30)
    assert response.status_code == status, response.text[:500]
    return response


def csv_parts(text: str) -> tuple[dict, list[list[str]]]:
    """A downloaded CSV's summary block (name → value, up to the first blank row) and its table (header first)."""
    rows = list(csv.reader(io.StringIO(text)))
    blank = rows.index([])
    return {row[0]: row[1] for row in rows[1:blank]} | {"title": rows[0][1]}, rows[blank + 1:]


def csv_table(text: str) -> list[list[str]]:
    """A downloaded CSV's table, header first (its summary block skipped)."""
    return csv_parts(text)[1]


class Tables(HTMLParser):
    """Collect every table's body rows as lists of cell texts."""

    def __init__(self, html):
        super().__init__()
        self.tables, self._row, self._cell, self._in_body = [], None, None, False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


class BytecodeCache(jinja2.BytecodeCache):
    """Jinja's compiled templates kept in memory for the whole test run, shared by every app a test makes (each
    app would otherwise compile every template it renders again)."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()
