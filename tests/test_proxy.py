"""/api/<path>: the JSON proxy to Navexa with the session's token, and /api/session."""

import gzip
import http.client
import io
import json

import pytest
import urllib3

from portal.api import hop
from portal.core.sessions.record import SEEN_EVERY
from portal.settings import MAX_BODY
from portal.web.problems import UpstreamContent
from tests.helpers import PortalBrowser, session_key, token_key
from tools.clients import Browser
from tools.stack import free_port, portal_env, start_portal


def test_proxy_returns_navexa_json_with_the_session_token(signed_in, portal, sandbox):
    response = signed_in.get(portal.url + "/api/portfolios/101/holdings", timeout=10)
    assert response.status_code == 200
    assert {h["symbol"] for h in response.json()} >= {"CBA", "BHP"}
    assert response.headers["Cache-Control"] == "no-store"


def test_query_strings_are_forwarded(signed_in, portal, sandbox):
    signed_in.get(portal.url + "/api/portfolios/101/performance?from=2026-01-01&groupBy=holding", timeout=10)
    assert sandbox.api_requests()[-1]["query"] == "from=2026-01-01&groupBy=holding"


def test_the_browsers_cookie_and_authorization_never_reach_navexa(signed_in, portal, sandbox):
    signed_in.get(portal.url + "/api/portfolios", headers={"Authorization": "Bearer browser-made-this"}, timeout=10)
    upstream = sandbox.api_requests()[-1]["headers"]
    assert "Cookie" not in upstream
    assert upstream["Authorization"] == "<redacted>"  # present: the portal's own token
    assert "browser-made-this" not in str(sandbox.api_requests())


def test_signed_out_api_calls_get_401_json(browser, portal):
    response = browser.get(portal.url + "/api/portfolios", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "session_expired", "message": "Sign in to use the API."}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_need_the_csrf_header(signed_in, portal, sandbox, method):
    response = signed_in.request(method, portal.url + "/api/portfolios", json={}, timeout=10)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert sandbox.stats()["api_requests"] == 0


def test_writes_with_the_csrf_header_are_forwarded(signed_in, portal, sandbox):
    response = signed_in.post(portal.url + "/api/portfolios", json={"name": "x"},
                              headers={"X-CSRF": signed_in.csrf()}, timeout=10)
    assert response.status_code == 405  # the sandbox API is read-only; the call reached it
    assert sandbox.api_requests()[-1]["method"] == "POST"


def test_navexa_client_errors_pass_through(signed_in, portal, sandbox):
    missing = signed_in.get(portal.url + "/api/portfolios/201", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 9})
    limited = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9"


def test_navexa_server_errors_become_502_json(signed_in, portal, sandbox):
    sandbox.config(api_error={"status": 503, "count": 1})
    response = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert response.status_code == 502 and response.json()["error"] == "upstream_error"


def test_large_downloads_stream_through(signed_in, portal):
    response = signed_in.get(portal.url + "/api/portfolios/101/reports/tax.pdf?size_mb=8", stream=True, timeout=30)
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="tax-report-101.pdf"'
    assert response.headers["Content-Length"] == str(8 * 1024 * 1024)
    assert sum(len(chunk) for chunk in response.iter_content(256 * 1024)) == 8 * 1024 * 1024


def test_dot_dot_paths_are_refused(signed_in, portal, sandbox):
    response = signed_in.get(portal.url + "/api/portfolios/%2E%2E/%2E%2E/_sandbox/stats", timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "bad_path"
    assert sandbox.stats()["api_requests"] == 0


# -- paths never leave the API base ----------------------------------------------------------------


def raw_request(browser, method, target, headers=None, body=None, chunked=False):
    """Send exactly this request target (no client-side normalising of dot segments); (status, headers, body)."""
    host, port = browser.portal.url.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies if c.domain in ("127.0.0.1", ""))
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in {"Cookie": cookie, "X-CSRF": "1", **(headers or {})}.items():  # as the portal's front-end
        connection.putheader(name, value)
    if chunked:
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        for start in range(0, len(body), 64 * 1024):
            piece = body[start:start + 64 * 1024]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        connection.send(b"0\r\n\r\n")
    else:
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
    response = connection.getresponse()
    answer = (response.status, dict(response.getheaders()), response.read())
    connection.close()
    return answer


REFUSED_PATHS = [
    "/api/../userinfo", "/api/./portfolios", "/api/portfolios/../../userinfo", "/api/%2e%2e/userinfo",
    "/api/%2E%2E/userinfo", "/api/%252e%252e/userinfo", "/api/%25252e%25252e/userinfo", "/api/.%2e/userinfo",
    "/api/%c0%ae%c0%ae/userinfo", "/api/%e0%80%ae%e0%80%ae/userinfo", "/api/portfolios%2f..%2f..%2fuserinfo",
    "/api/portfolios%252f..%252f..%252fuserinfo", "/api/portfolios/%5c..%5cuserinfo", "/api/portfolios\\..\\userinfo",
    "/api/portfolios//101", "/api/portfolios/", "/api/..;/userinfo", "/api/portfolios/..;x=1/..;/userinfo",
    "/api/portfolios/%00", "/api/portfolios/%0d%0aX-Injected:1",
]


@pytest.mark.parametrize("target", REFUSED_PATHS)
def test_paths_that_could_leave_the_api_base_are_refused(signed_in, portal, sandbox, target):
    status, _, body = raw_request(signed_in, "GET", target)
    assert status in (400, 404), body
    if status == 400:
        assert json.loads(body)["error"] == "bad_path"
    assert sandbox.api_requests() == []  # nothing reached Navexa


@pytest.mark.parametrize("target, reached", [
    ("/api/portfolios/101", "/api/portfolios/101"),
    ("/api/@evil.example/portfolios", "/api/%40evil.example/portfolios"),
    ("/api/portfolios;jsessionid=1", "/api/portfolios%3Bjsessionid%3D1"),
    ("/api/portfolios%3F.json", "/api/portfolios%3F.json"),
    ("/api/portfolios%23x", "/api/portfolios%23x"),
    ("/api/a%20b", "/api/a%20b"),
])
def test_odd_but_harmless_segments_reach_navexa_encoded_below_the_base(signed_in, portal, sandbox, target, reached):
    raw_request(signed_in, "GET", target)
    assert [r["raw_path"] for r in sandbox.api_requests()] == [reached]


# -- bytes pass faithfully -------------------------------------------------------------------------


@pytest.mark.parametrize("user, path", [("dave", "/api/portfolios"), ("alice", "/api/_sandbox/large?kb=15"),
                                        ("alice", "/api/_sandbox/large?kb=2048")])
def test_compressed_answers_pass_compressed_with_a_true_length(browser, portal, sandbox, user, path):
    browser.sign_in(user)
    sandbox.config(gzip_responses=True)
    status, headers, body = raw_request(browser, "GET", path, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert int(headers["Content-Length"]) == len(body)
    plain = json.loads(gzip.decompress(body))
    status, headers, body = raw_request(browser, "GET", path)  # a client that asks for no compression
    assert "Content-Encoding" not in headers and int(headers["Content-Length"]) == len(body)
    assert json.loads(body) == plain
    assert sandbox.api_requests()[-1]["headers"]["Accept-Encoding"] == "identity"


def test_upstream_cookies_and_hop_by_hop_headers_never_pass(signed_in, portal, sandbox):
    status, headers, _ = raw_request(signed_in, "GET", "/api/_sandbox/cookie")
    assert status == 200
    assert "upstream_session" not in str(headers) and "X-Upstream-Secret" not in headers
    assert headers.get("Connection", "").lower() != "x-upstream-secret"


def test_an_upstream_redirect_is_answered_502(signed_in, portal, sandbox):
    response = signed_in.get(portal.url + "/api/_sandbox/redirect", allow_redirects=False, timeout=10)
    assert response.status_code == 502 and response.json()["error"] == "upstream_redirect"
    assert "Location" not in response.headers


def test_upstream_html_never_reaches_the_browser(signed_in, portal, sandbox):
    response = signed_in.get(portal.url + "/api/_sandbox/html", timeout=10)
    assert response.status_code == 502 and response.json()["error"] == "upstream_content"
    assert "<script" not in response.text


def test_proxied_answers_are_sandboxed(signed_in, portal):
    response = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# -- bodies ---------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_with_content_length(signed_in, portal, sandbox):
    status, _, _ = raw_request(signed_in, "POST", "/api/portfolios", headers={"X-CSRF": signed_in.csrf()},
                               body=b"x" * (MAX_BODY + 1))
    assert status == 413
    assert sandbox.api_requests() == []


def test_a_chunked_body_over_the_limit_is_413_never_truncated(signed_in, portal, sandbox):
    status, _, _ = raw_request(signed_in, "POST", "/api/portfolios", headers={"X-CSRF": signed_in.csrf()},
                               body=b"x" * (MAX_BODY + 100), chunked=True)
    assert status == 413
    assert sandbox.api_requests() == []


def test_a_chunked_body_under_the_limit_is_forwarded_whole(signed_in, portal, sandbox):
    body = b"y" * (MAX_BODY - 10)
    status, _, _ = raw_request(signed_in, "POST", "/api/portfolios", headers={"X-CSRF": signed_in.csrf()},
                               body=body, chunked=True)
    assert status == 405  # the sandbox API is read-only; the whole body reached it
    assert sandbox.api_requests()[-1]["body_length"] == len(body)


# -- /api/session -----------------------------------------------------------------------------------


def test_the_session_endpoint_says_who_and_until_when_without_calling_navexa(browser, portal, sandbox):
    sandbox.config(access_token_ttl=3600)
    signed_in = browser
    assert signed_in.sign_in().status_code == 302
    portal.clock.advance(3600)  # even with the token expired, nothing is refreshed
    response = signed_in.get(portal.url + "/api/session", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["signed_in"] is True and body["user"] == {"name": "Alice Nguyen", "email": "alice@example.com"}
    assert body["logout_url"] == "/logout"
    assert 11 * 3600 - 60 < body["expires_in"] <= 11 * 3600  # by the portal's clock, an hour on
    assert sandbox.stats()["api_requests"] == 0 and sandbox.stats()["token_requests"]["refresh_token"] == 0
    assert response.headers["Cache-Control"] == "no-store"


def test_the_session_endpoint_answers_401_when_signed_out(browser, portal):
    response = browser.get(portal.url + "/api/session", timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "session_expired"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.soak
def test_fifty_megabytes_stream_through_with_flat_memory(sandbox, redis_url):
    port = free_port()
    service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"), port=port,
                                workers=1, threads=4)
    try:
        with open(f"/proc/{service.process.pid}/task/{service.process.pid}/children") as children:
            worker = int(children.read().split()[0])
        browser = Browser(url)
        assert browser.sign_in().status_code == 302
        path = url + "/api/portfolios/101/reports/tax.pdf"
        browser.get(path, params={"size_mb": 1}, timeout=30).raise_for_status()  # warm: pools, imports
        before = rss_kib(worker)
        response = browser.get(path, params={"size_mb": 50}, stream=True, timeout=60)
        received = sum(len(chunk) for chunk in response.iter_content(256 * 1024))
        growth_mib = (rss_kib(worker) - before) / 1024
        assert received == 50 * 1024 * 1024
        print(f"worker RSS grew {growth_mib:.1f} MiB streaming 50 MiB")
        assert growth_mib <= 10, f"worker RSS grew {growth_mib:.1f} MiB"
    finally:
        service.stop()


# -- the fast path: the usual GET answered without Flask's machinery, exactly as the Flask view would ------


def answers_by_path(path: str) -> float:
    """portal_api_answers_total{path=…}: how many /api/ calls that path has answered in this process."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("portal_api_answers_total", {"path": path}) or 0.0


def fast_and_full(portal, browser):
    """Two in-process clients with this browser's cookies: one through the fast path (the app as it is
    served), one straight to the Flask app it wraps."""
    from werkzeug.test import Client

    from portal.api.fast_path import FastPath
    from tests.helpers import KEY_COOKIE, SAME_SITE_COOKIE, SESSION_COOKIE

    class FrontEnd(Client):
        """Sends X-CSRF on every call, as the portal's front-end code must."""

        def open(self, *args, headers=None, **kwargs):
            return super().open(*args, headers={"X-CSRF": "1", **(headers or {})}, **kwargs)

    hop = portal.app.wsgi_app
    assert isinstance(hop, FastPath)
    clients = FrontEnd(hop), FrontEnd(hop.wsgi_app)
    for client in clients:
        for name in (SESSION_COOKIE, KEY_COOKIE, SAME_SITE_COOKIE):
            client.set_cookie(name, browser.cookies.get(name), domain="localhost")
    return clients


def answered(response) -> tuple:
    headers = sorted((name, value) for name, value in response.headers.items())
    return response.status, headers, response.get_data()


@pytest.mark.parametrize("path, knobs, fast", [
    ("/api/portfolios/101/holdings", {}, True),
    ("/api/portfolios/101/performance?from=2026-01-01&groupBy=holding&x=a+b&x=%C3%A9", {}, True),
    ("/api/portfolios/101/holdings", {"gzip_responses": True}, True),
    ("/api/_sandbox/large?kb=300", {}, True),
    ("/api/_sandbox/large?kb=300", {"gzip_responses": True}, True),
    ("/api/portfolios/201", {}, True),  # another person's: Navexa's 404 passes through
    ("/api/_sandbox/cookie", {}, True),
    ("/api/_sandbox/redirect", {}, True),  # 502 upstream_redirect
    ("/api/_sandbox/html", {}, True),  # 502 upstream_content
    ("/api/portfolios", {"api_error": {"status": 503, "count": 1}}, True),  # 502
    ("/api/portfolios", {"api_error": {"status": 429, "count": 1, "retry_after": 7}}, True),
    ("/api/portfolios", {"api_error": {"status": 401, "count": 1}}, True),  # refreshed once and retried
    ("/api/portfolios", {"api_error": {"status": 403, "count": 1}}, True),
    ("/api/%252e%252e/userinfo", {}, False),  # 400 bad_path, nothing sent: Flask says so
    ("/api/session", {}, False),  # the portal's own
])
def test_the_fast_path_answers_exactly_as_the_flask_view_with_as_many_navexa_calls(signed_in, portal, sandbox,
                                                                                   path, knobs, fast):
    fast_client, full_client = fast_and_full(portal, signed_in)
    portal.clock.freeze()  # /api/session's expires_in must not tick between the two answers
    answers, calls, paths = [], [], []
    for client in (full_client, fast_client):
        for pattern in ("portal:gate:*", "portal:paused:*"):  # a 429 pauses the person: each path sees Navexa's
            for paused in portal.redis.scan_iter(pattern):
                portal.redis.delete(paused)
        sandbox.config(**knobs)
        before, fast_before = sandbox.stats()["api_requests"], answers_by_path("fast")
        headers = {"X-Request-ID": "same-for-both", "Accept-Encoding": "gzip" if knobs.get("gzip_responses") else ""}
        answers.append(answered(client.get(path, headers=headers)))
        calls.append(sandbox.stats()["api_requests"] - before)
        paths.append(answers_by_path("fast") - fast_before)
    assert answers[0] == answers[1]
    assert calls[0] == calls[1]
    # The straight-to-Flask client never takes the fast path; the served app takes it exactly when it should.
    assert paths == [0, 1 if fast else 0]


def test_when_the_session_cannot_go_on_the_fast_path_hands_over_and_nobody_is_asked_again(signed_in, portal, sandbox):
    """A refreshed token refused too: the fast path deletes the record and the Flask path signs out."""
    fast_client, _ = fast_and_full(portal, signed_in)
    sandbox.config(api_error={"status": 401, "count": 2})
    before = sandbox.stats()["api_requests"]
    response = fast_client.get("/api/portfolios")
    assert response.status_code == 401 and response.get_json()["error"] == "session_expired"
    assert sandbox.stats()["api_requests"] - before == 2  # the call and its one retry, nothing more
    assert not portal.redis.exists(token_key(signed_in.session_id()))
    assert not portal.redis.exists(session_key(signed_in.session_id()))


def test_a_portal_endpoint_under_api_is_never_forwarded_by_the_fast_path(make_portal, sandbox):
    """A portal-side /api/ view added later (the trial's GET /api/me) answers for itself, signed in or not."""
    from flask import jsonify

    portal = make_portal()
    portal.app.add_url_rule("/api/me", "me", lambda: jsonify(me="the portal's own"))
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    fast_before = answers_by_path("fast")
    response = person.get(portal.url + "/api/me", timeout=10)
    assert response.status_code == 200 and response.json() == {"me": "the portal's own"}
    assert sandbox.api_requests() == [] and answers_by_path("fast") == fast_before
    assert person.get(portal.url + "/api/portfolios", timeout=10).status_code == 200  # the rest still go fast
    assert answers_by_path("fast") == fast_before + 1


def test_the_fast_path_answers_the_usual_call_itself_and_leaves_the_rest_to_flask(signed_in, portal, sandbox):
    from werkzeug.test import EnvironBuilder

    from tests.helpers import KEY_COOKIE, SAME_SITE_COOKIE, SESSION_COOKIE

    hop = portal.app.wsgi_app
    cookie = "; ".join(f"{n}={signed_in.cookies.get(n)}" for n in (SESSION_COOKIE, KEY_COOKIE, SAME_SITE_COOKIE))

    def fast_answers(path="/api/portfolios", cookies=cookie, custom_header=True):
        headers = {"Cookie": cookies, **({"X-CSRF": "1"} if custom_header else {})}
        environ = EnvironBuilder(path=path, headers=headers).get_environ()
        return hop.answer(environ, 0.0, "-") is not None

    assert fast_answers()
    assert not fast_answers(cookies=cookie.split(";")[0])  # no key cookie
    assert not fast_answers(cookies=cookie.rsplit(";", 1)[0])  # no Strict same-site cookie: Flask refuses it
    assert not fast_answers(custom_header=False)  # no X-CSRF: Flask refuses it
    portal.clock.advance(SEEN_EVERY)  # "last used" is due: Flask notes it
    assert not fast_answers()
    assert signed_in.page("/portfolios").status_code == 200
    assert fast_answers()
    assert not fast_answers(path="/api/%2e%2e/userinfo")
    assert not hop.forwards("/api/session") and hop.forwards("/api/portfolios")
    to_leeway = signed_in.record().expires_at - portal.clock() - 30
    portal.clock.advance(to_leeway)  # the token is inside its refresh leeway: refreshing is Flask's
    assert not fast_answers()
    portal.clock.advance(-to_leeway)
    assert fast_answers()
    portal.redis.delete(*portal.redis.keys("portal:session:*"))  # the session is gone, the token record not yet
    assert not fast_answers()


def test_the_usual_call_asks_redis_once_for_the_session_its_tokens_and_the_persons_pause(signed_in, portal, sandbox):
    """Issue 30: the fast path's one Redis round trip is one MGET: the session, its token record and the person's
    Navexa pause (kept in the session's own slot, so it works on a Cluster). It was an MGET and then a GET of the
    person's pause: a second round trip on every /api/ call."""
    from werkzeug.test import EnvironBuilder

    from tests.helpers import KEY_COOKIE, SAME_SITE_COOKIE, SESSION_COOKIE

    cookie = "; ".join(f"{n}={signed_in.cookies.get(n)}" for n in (SESSION_COOKIE, KEY_COOKIE, SAME_SITE_COOKIE))

    def ask():
        environ = EnvironBuilder(path="/api/portfolios", headers={"Cookie": cookie, "X-CSRF": "1"}).get_environ()
        status, _, body = portal.app.wsgi_app.answer(environ, 0.0, "-")
        assert status == "200 OK" and b"".join(body)

    ask()
    portal.redis.config_resetstat()
    for _ in range(5):
        ask()
    calls = {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in portal.redis.info("commandstats").items()}
    assert {name: n for name, n in calls.items() if name not in ("info", "config", "config|resetstat")} == {"mget": 5}


def test_an_odd_content_length_streams_instead_of_crashing():
    upstream = urllib3.HTTPResponse(body=io.BytesIO(b"{}"), status=200, preload_content=False,
                                    headers={"Content-Type": "application/json", "Content-Length": "²"})
    assert isinstance(hop.reply(upstream).body, hop.UpstreamBody)


@pytest.mark.parametrize("content_type", ["application/x-javascript", "text/jscript", "text/xsl", "application/rss+xml",
                                          "application/mathml+xml", "text/html", "image/svg+xml", "text/vbscript",
                                          "application/x-shockwave-flash", "multipart/x-mixed-replace"])
def test_only_data_types_pass_the_proxy(content_type):
    upstream = urllib3.HTTPResponse(body=io.BytesIO(b"x"), status=200, preload_content=False,
                                    headers={"Content-Type": content_type})
    with pytest.raises(UpstreamContent):
        hop.reply(upstream)


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "application/problem+json",
                                          "text/csv", "application/pdf", "application/octet-stream", "text/plain"])
def test_data_still_passes(content_type):
    upstream = urllib3.HTTPResponse(body=io.BytesIO(b"{}"), status=200, preload_content=False,
                                    headers={"Content-Type": content_type, "Content-Length": "2"})
    assert hop.reply(upstream).body == b"{}"


def test_the_fast_paths_header_view_reads_what_werkzeugs_reads():
    """The fast path reads a request's headers straight from the environ (api.fast_path.RequestHeaders): each name
    a rule asks for gives what werkzeug's EnvironHeaders, and so Flask's request, gives: present, absent, any case."""
    from werkzeug.datastructures import EnvironHeaders
    from werkzeug.test import EnvironBuilder

    from portal.api.fast_path import RequestHeaders

    environ = EnvironBuilder(path="/api/portfolios", headers={
        "X-CSRF": "1", "Sec-Fetch-Site": "same-origin", "Accept": "application/json", "If-None-Match": '"e1"',
        "Content-Type": "application/json", "Accept-Encoding": "gzip, br"}, data=b"{}").get_environ()
    ours, theirs = RequestHeaders(environ), EnvironHeaders(environ)
    names = ["X-CSRF", "x-csrf", "Sec-Fetch-Site", "Origin", "Accept", "Accept-Language", "Content-Type",
             "Content-Length", "If-None-Match", "If-Modified-Since", "Accept-Encoding", "Authorization"]
    assert [ours.get(n) for n in names] == [theirs.get(n) for n in names]
    assert [n in ours for n in names] == [n in theirs for n in names]
    assert dict(ours) == dict(theirs) and len(ours) == len(theirs)
    assert hop.forwarded_headers(ours) == hop.forwarded_headers(theirs)
