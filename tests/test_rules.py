"""The /api/ rules, written once (web.rules, core.sessions.record): as pure functions, and as a table fed to both
adapters (the WSGI fast path and the Flask view) that must give the same answer for every row."""

import json

import pytest

from portal.core.sessions.record import SEEN, SEEN_EVERY, SessionRecord, new_session_id
from portal.web import rules
from portal.web.problems import CrossOrigin, CsrfError, SameSiteRequired
from tests.helpers import KEY_COOKIE, SAME_SITE_COOKIE, SESSION_COOKIE, session_key
from tests.test_proxy import answers_by_path

OWN = "http://127.0.0.1:5000"
SIGNED_IN = SessionRecord.of({"user": {"sub": "auth0|alice"}, "exp": 2e9, "seen": 1000, "same_site": "s3cret",
                              "indexed": 1})

# -- the rules as pure functions ----------------------------------------------------------


@pytest.mark.parametrize("headers, refused", [
    ({"X-CSRF": "1"}, None),  # curl or a server: no Sec-Fetch-Site, no Origin
    ({"X-CSRF": "1", "Sec-Fetch-Site": "same-origin"}, None),
    ({"X-CSRF": "1", "Sec-Fetch-Site": "none"}, None),  # typed in the address bar
    ({"X-CSRF": "1", "Sec-Fetch-Site": "same-site"}, CrossOrigin),  # a sibling subdomain is another origin
    ({"X-CSRF": "1", "Sec-Fetch-Site": "cross-site"}, CrossOrigin),
    ({"X-CSRF": "1", "Origin": OWN}, None),
    ({"X-CSRF": "1", "Origin": "null"}, CrossOrigin),  # a sandboxed frame or a file
    ({"X-CSRF": "1", "Origin": "https://evil.example"}, CrossOrigin),
    ({}, CsrfError),
    ({"X-CSRF": ""}, CsrfError),
    ({"X-CSRF": "1", "Sec-Fetch-Site": "cross-site", "Origin": OWN}, CrossOrigin),  # Sec-Fetch-Site wins
])
def test_refusal_by_origin_and_custom_header(headers, refused):
    found = rules.refusal(SIGNED_IN, headers, "s3cret", OWN)
    assert (type(found) if found else None) is refused


@pytest.mark.parametrize("cookie, refused", [("s3cret", None), (None, SameSiteRequired), ("", SameSiteRequired),
                                             ("s3cre", SameSiteRequired), ("s3crét", SameSiteRequired)])
def test_refusal_without_the_sessions_same_site_cookie(cookie, refused):
    found = rules.refusal(SIGNED_IN, {"X-CSRF": "1"}, cookie, OWN)
    assert (type(found) if found else None) is refused


def test_a_session_from_before_the_same_site_cookie_has_nothing_to_check():
    older = SessionRecord.of({"user": {"sub": "a"}, "indexed": 1, "seen": 0})
    assert rules.refusal(older, {"X-CSRF": "1"}, None, OWN) is None


@pytest.mark.parametrize("stored, now, due", [
    ({"seen": 1000, "indexed": 1}, 1000 + SEEN_EVERY - 1, False),
    ({"seen": 1000, "indexed": 1}, 1000 + SEEN_EVERY, True),  # a minute on: "last used" is written
    ({"seen": "1000", "indexed": 1}, 1001, True),  # unreadable: written (the Flask path and the fast path agree)
    ({"indexed": 1}, 1001, True),
    ({"seen": 1000}, 1001, True),  # an older session, not yet in the index: adopted
    ({"seen": True, "indexed": 1}, 1001, True),  # a bool is not a time
])
def test_a_session_write_is_due(stored, now, due):
    assert SessionRecord.of({"user": {"sub": "a"}, **stored}).due_a_write(now) is due


@pytest.mark.parametrize("stored, signed_in, sub", [
    ({"user": {"sub": "a"}}, True, "a"), ({"user": {}}, True, None), ({"user": "a"}, False, None), ({}, False, None),
    ({"user": {"sub": 7}}, True, None), (None, False, None),
])
def test_who_is_signed_in(stored, signed_in, sub):
    record = SessionRecord.of(stored)
    assert (record.signed_in, record.sub) == (signed_in, sub)


def test_session_ids_are_minted_in_one_place_and_fit_the_id_rule():
    from portal.core.sessions.record import SESSION_ID

    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100 and all(SESSION_ID.fullmatch(sid) for sid in ids)


# -- the same table through both adapters ----------------------------------------------------


def adapters(portal, browser):
    """(through the fast path, straight to the Flask view), each a function of (cookies, headers)."""
    from werkzeug.test import Client

    served = portal.app.wsgi_app
    clients = Client(served), Client(served.wsgi_app)

    def call(client, cookies, headers):
        for name in (SESSION_COOKIE, KEY_COOKIE, SAME_SITE_COOKIE):
            client.delete_cookie(name, domain="localhost")
        for name, value in cookies.items():
            client.set_cookie(name, value, domain="localhost")
        response = client.get("/api/portfolios", headers=headers)
        body = response.get_json(silent=True)
        return response.status_code, (body or {}).get("error") if isinstance(body, dict) else "json"

    return [lambda cookies, headers, c=c: call(c, cookies, headers) for c in clients]


ROWS = [  # (what the browser sends, what both adapters answer)
    ("all", {"X-CSRF": "1"}, (200, "json")),
    ("all", {}, (403, "csrf_failed")),
    ("all", {"X-CSRF": "1", "Sec-Fetch-Site": "cross-site"}, (403, "cross_origin")),
    ("all", {"X-CSRF": "1", "Origin": "https://evil.example"}, (403, "cross_origin")),
    ("all", {"X-CSRF": "1", "Sec-Fetch-Site": "same-origin"}, (200, "json")),
    ("no same-site", {"X-CSRF": "1"}, (403, "same_site_required")),
    ("wrong same-site", {"X-CSRF": "1"}, (403, "same_site_required")),
    ("no key", {"X-CSRF": "1"}, (401, "session_expired")),
    ("no session", {"X-CSRF": "1"}, (401, "session_expired")),
    ("unknown session", {"X-CSRF": "1"}, (401, "session_expired")),
]


def cookies_for(kind: str, browser) -> dict:
    cookies = {name: browser.cookies.get(name) for name in (SESSION_COOKIE, KEY_COOKIE, SAME_SITE_COOKIE)}
    if kind == "no same-site":
        del cookies[SAME_SITE_COOKIE]
    elif kind == "wrong same-site":
        cookies[SAME_SITE_COOKIE] = "x" * 43
    elif kind == "no key":
        del cookies[KEY_COOKIE]
    elif kind == "no session":
        del cookies[SESSION_COOKIE]
    elif kind == "unknown session":
        cookies[SESSION_COOKIE] = new_session_id()
    return cookies


def test_both_adapters_give_the_same_answer_for_each_row_of_the_table(make_portal, sandbox):
    """Each row twice over, on a fresh sign-in (a row may end the session): same status, same error code."""
    from tests.helpers import PortalBrowser

    portal = make_portal()
    for kind, headers, expected in ROWS:
        answers = []
        for adapter in range(2):
            person = PortalBrowser(portal, sandbox)
            assert person.sign_in("alice").status_code == 302
            answers.append(adapters(portal, person)[adapter](cookies_for(kind, person), headers))
        assert answers == [expected, expected], kind


def test_the_fast_path_answers_only_the_row_it_may(signed_in, portal):
    """The table's first row is the fast path's own answer; a write due (a minute on) goes to Flask, which
    gives the same answer and notes "last used"."""
    portal.clock.freeze()  # "last used" is written in whole seconds of this clock: it must not tick meanwhile
    fast, _ = adapters(portal, signed_in)
    cookies = cookies_for("all", signed_in)
    before = answers_by_path("fast")
    assert fast(cookies, {"X-CSRF": "1"}) == (200, "json") and answers_by_path("fast") == before + 1
    portal.clock.advance(SEEN_EVERY)
    assert fast(cookies, {"X-CSRF": "1"}) == (200, "json") and answers_by_path("fast") == before + 1
    stored = json.loads(portal.redis.get(session_key(signed_in.session_id())))
    assert stored[SEEN] == int(portal.clock())


def test_a_session_signed_in_during_a_navexa_pause_is_paused_on_both_paths(make_portal, sandbox):
    """The pause has one source (the person's, in the gate): a session that began after Navexa said 429 waits
    too, on the fast path as on the Flask path (before, the fast path read a per-session copy it never had)."""
    from tests.helpers import PortalBrowser

    portal = make_portal()
    first = PortalBrowser(portal, sandbox)
    assert first.sign_in("alice").status_code == 302
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 30})
    assert adapters(portal, first)[1](cookies_for("all", first), {"X-CSRF": "1"})[0] == 429  # Navexa's own answer
    later = PortalBrowser(portal, sandbox)
    assert later.sign_in("alice").status_code == 302
    calls = sandbox.stats()["api_requests"]
    for adapter in adapters(portal, later):
        assert adapter(cookies_for("all", later), {"X-CSRF": "1"}) == (429, "rate_limited")  # the portal's
    assert sandbox.stats()["api_requests"] == calls  # nobody asked Navexa during its pause
    portal.clock.advance(31)
    assert adapters(portal, later)[0](cookies_for("all", later), {"X-CSRF": "1"}) == (200, "json")
