"""RFC 10017's BFF rules over HTTP that no other test file owns: the custom header on every /api/ call,
the Strict same-site cookie, and a session ended elsewhere never written back."""


import json

import flask
import pytest
import requests

from portal.core.sessions.record import SAME_SITE
from tests.helpers import SAME_SITE_COOKIE, SESSION_COOKIE, session_key


def bare(signed_in, **headers):
    """The signed-in browser's cookies, and only the headers given (no X-CSRF unless given)."""
    return dict(cookies=signed_in.cookies, headers=headers, allow_redirects=False, timeout=10)


def test_every_api_request_needs_the_x_csrf_header_get_included(signed_in, portal, sandbox):
    for path in ("/api/portfolios", "/api/session"):
        refused = requests.get(portal.url + path, **bare(signed_in))
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed", path
        assert "X-CSRF" in refused.json()["message"]
        assert requests.get(portal.url + path, **bare(signed_in, **{"X-CSRF": "1"})).status_code == 200, path
    head = requests.head(portal.url + "/api/portfolios", **bare(signed_in))
    assert head.status_code == 403
    assert sandbox.stats()["api_requests"] == 1  # only the one call that carried the header went to Navexa


def test_the_api_needs_the_strict_same_site_cookie(signed_in, portal, sandbox):
    strict = signed_in.cookies.get(SAME_SITE_COOKIE)
    del signed_in.cookies[SAME_SITE_COOKIE]  # as a browser sends a request that started on another site
    for path in ("/api/portfolios", "/api/session"):
        answer = signed_in.get(portal.url + path, timeout=10)
        assert answer.status_code == 403 and answer.json()["error"] == "same_site_required", path
    signed_in.cookies.set(SAME_SITE_COOKIE, "x" * 43)  # a wrong one is no better
    assert signed_in.get(portal.url + "/api/portfolios", timeout=10).status_code == 403
    assert sandbox.stats()["api_requests"] == 0
    signed_in.cookies.set(SAME_SITE_COOKIE, strict)
    assert signed_in.get(portal.url + "/api/portfolios", timeout=10).status_code == 200
    assert signed_in.page().status_code == 200  # pages (GET) never needed it: a link from elsewhere arrives signed in


def test_a_session_from_before_the_same_site_cookie_keeps_working_until_it_ends(signed_in, portal):
    """Sessions started before this release have no same-site value: they are not refused, and last 12 h at most."""
    key = session_key(signed_in.session_id())
    record = json.loads(portal.redis.get(key))
    del record[SAME_SITE]
    portal.redis.set(key, json.dumps(record), keepttl=True)
    del signed_in.cookies[SAME_SITE_COOKIE]
    assert signed_in.get(portal.url + "/api/portfolios", timeout=10).status_code == 200
    answer = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False,
                            timeout=10)
    assert answer.status_code == 302 and signed_in.page().status_code == 302


def test_a_request_under_way_when_its_session_is_ended_elsewhere_never_writes_it_back(signed_in, portal):
    app, sid = portal.app, signed_in.session_id()
    interface = app.session_interface
    with app.test_request_context("/portfolios", headers={"Cookie": f"{SESSION_COOKIE}={signed_in.cookie_id()}"}):
        session = interface.open_session(app, flask.request)
        assert session.sid == sid and session["user"]
        portal.redis.delete(session_key(sid))  # the sessions page or back-channel logout ends it meanwhile
        session["seen"] = 1  # …and this request changes it (last used, a CSRF token)
        response = app.response_class()
        interface.save_session(app, session, response)
    assert not portal.redis.exists(session_key(sid))
    assert SESSION_COOKIE in response.headers.get("Set-Cookie", "")  # and its cookie is cleared
    assert signed_in.page().status_code == 302


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}])
def test_api_calls_from_another_origin_are_refused_on_both_paths(signed_in, portal, sandbox, headers):
    for method in ("GET", "POST"):
        extra = {"X-CSRF": signed_in.csrf()} if method == "POST" else {}
        response = signed_in.request(method, portal.url + "/api/portfolios", headers={**headers, **extra}, timeout=10)
        assert response.status_code == 403 and response.json()["error"] == "cross_origin", (method, headers)
    assert sandbox.stats()["api_requests"] == 0  # nothing reached Navexa


@pytest.mark.parametrize("headers", [{}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}])
def test_api_calls_from_the_portals_own_pages_or_no_browser_pass(signed_in, portal, headers):
    own = {"Origin": portal.url} if headers.get("Sec-Fetch-Site") == "same-origin" else {}
    assert signed_in.get(portal.url + "/api/portfolios", headers={**headers, **own}, timeout=10).status_code == 200
