"""Token lifecycle: sealed records, one refresh per session across workers, failure policy, revocation.

Runs against the sandbox (rotation with reuse detection on, reuse interval 0) and a real
redis-server. Expiry is never slept on: the portal's clock is moved, or the sandbox issues
tokens already inside the refresh leeway.
"""

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from portal.core.oauth.refresh_failures import SessionEnded
from portal.core.sessions.tokens import REFRESH_BACKOFF, VALID_MARGIN
from portal.core.storage.sealing import decode_key, new_key
from tests.helpers import KEY_COOKIE, PortalBrowser, failed_key, lock_key, redis_dump, session_key, token_key, wait_for
from tests.oauth_helpers import refresh as sandbox_refresh
from tools.clients import Browser
from tools.stack import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, free_port, portal_env, start_portal

EXPIRED_TTL = VALID_MARGIN - 2  # s: a token issued for this long already counts as expired: its first use must refresh
TOKEN_TTL = 3600  # s the sandbox issues access tokens for here: well inside a 12 h session, so moving the clock
#                   past a token's expiry leaves the session open (Navexa's own 24 h would outlive it)


@pytest.fixture
def portal(make_portal):
    """These tests move the clock a token's lifetime (an hour) at a time, with no use between: the idle timeout,
    which would sign such a session out (its own tests are in test_sessions), is off here."""
    return make_portal(SESSION_IDLE_TIMEOUT="0")


@pytest.fixture(autouse=True)
def hour_long_tokens(sandbox):
    """Every sign-in in this module gets TOKEN_TTL access tokens (autouse: set before any sign-in)."""
    sandbox.config(access_token_ttl=TOKEN_TTL)


def get_page(browser, path="/portfolios"):
    return browser.page(path)


# -- sealing --------------------------------------------------------------------------


def test_redis_holds_no_token_in_the_clear_and_nothing_opens_without_the_cookie(signed_in, portal):
    record = signed_in.record()
    raw = redis_dump(portal.redis)
    assert record.access_token.encode() not in raw
    assert record.refresh_token.encode() not in raw
    assert record.access_token.split(".")[1].encode() not in raw  # not even the JWT's claims
    with pytest.raises(SessionEnded):
        portal.services.tokens.load(signed_in.session_id(), new_key())
    key = decode_key(signed_in.cookies.get(KEY_COOKIE))
    assert key not in raw and signed_in.cookies.get(KEY_COOKIE).encode() not in raw


def test_a_record_moved_to_another_session_does_not_open(signed_in, portal):
    sid = signed_in.session_id()
    portal.redis.set(token_key("other-session"), portal.redis.get(token_key(sid)))
    key = decode_key(signed_in.cookies.get(KEY_COOKIE))
    with pytest.raises(SessionEnded):
        portal.services.tokens.load("other-session", key)


def test_the_key_cookie_is_httponly_and_lax(browser, portal):
    callback = browser.approve(browser.start_login())
    response = browser.get(callback, allow_redirects=False, timeout=10)
    key_cookie = [c for c in response.raw.headers.getlist("Set-Cookie") if c.startswith("navexa_portal_key=")]
    assert key_cookie and "HttpOnly" in key_cookie[0] and "SameSite=Lax" in key_cookie[0]


@pytest.mark.parametrize("tamper", ["drop", "garble", "other-key"])
def test_without_a_working_key_cookie_the_person_is_signed_out_cleanly(signed_in, portal, tamper):
    from portal.core.storage.sealing import encode_key

    sid = signed_in.session_id()
    signed_in.cookies.set(KEY_COOKIE, None)
    replacement = {"drop": None, "garble": "not-base64!!", "other-key": encode_key(new_key())}[tamper]
    if replacement:
        signed_in.cookies.set(KEY_COOKIE, replacement, domain="127.0.0.1", path="/")
    response = get_page(signed_in)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/portfolios&expired=1")
    # A session id without its key cookie acts on nothing, ending itself included (N4: else anyone holding an id
    # could sign its person out): it waits for its end, or for the person to sign it out from their sessions page.
    assert portal.redis.exists(token_key(sid)) and portal.redis.exists(session_key(sid))
    ended = signed_in.get(portal.url + response.headers["Location"], timeout=10)
    assert ended.status_code == 200 and "Your session has ended" in ended.text


def test_the_session_record_is_json_and_holds_no_token(signed_in, portal):
    data = json.loads(portal.redis.get(session_key(signed_in.session_id())))
    assert data["user"]["email"] == "alice@example.com"
    assert not any("token" in key for key in data)


# -- refresh ----------------------------------------------------------------------------


def test_a_fresh_token_is_used_without_refreshing(signed_in, sandbox):
    assert get_page(signed_in).status_code == 200
    assert sandbox.stats()["token_requests"]["refresh_token"] == 0


def test_an_expiring_token_is_refreshed_once_and_rotated(signed_in, portal, sandbox, caplog):
    caplog.set_level(logging.INFO)
    before = signed_in.record()
    portal.clock.advance(TOKEN_TTL)
    assert get_page(signed_in).status_code == 200
    after = signed_in.record()
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1
    assert after.refresh_token != before.refresh_token and after.access_token != before.access_token
    assert get_page(signed_in).status_code == 200  # the new token is fresh for the moved clock too
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1
    assert "refresh ok user=auth0|alice-7f3a91" in caplog.text
    for secret in (before.refresh_token, after.refresh_token, before.access_token, after.access_token):
        assert secret not in caplog.text


def burst(browser, urls, n) -> list[int]:
    """n concurrent GETs of /api/portfolios with the browser's cookies, spread over urls; their statuses."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda i: browser.twin().get(urls[i % len(urls)] + "/api/portfolios", timeout=60).status_code,
                             range(n)))


def assert_refreshed_exactly_once(sandbox):
    stats = sandbox.stats()
    assert stats["token_requests"]["refresh_token"] == 1
    assert stats["refresh_reuse_detected"] == 0


def test_concurrent_requests_in_one_process_refresh_once(signed_in, portal, sandbox):
    portal.clock.advance(TOKEN_TTL)
    assert burst(signed_in, [portal.url], 20) == [200] * 20
    assert_refreshed_exactly_once(sandbox)


@pytest.mark.soak
def test_fifty_requests_across_two_processes_refresh_exactly_once(sandbox, redis_url):
    """Two gunicorn processes share one Redis; the session's token is as good as expired, so every request waits."""
    env_a = portal_env(sandbox.url, redis_url)
    port_a, port_b = free_port(), free_port()
    env_a["PUBLIC_URL"] = f"http://127.0.0.1:{port_a}"
    env_b = dict(env_a)  # same settings: the B process serves the same site
    portal_a, url_a = start_portal(env_a, port=port_a, workers=1)
    portal_b, url_b = start_portal(env_b, port=port_b, workers=1)
    try:
        sandbox.config(access_token_ttl=EXPIRED_TTL)
        browser = Browser(url_a)
        assert browser.sign_in().status_code == 302
        sandbox.config(access_token_ttl=TOKEN_TTL)
        assert burst(browser, [url_a, url_b], 50) == [200] * 50
        assert_refreshed_exactly_once(sandbox)
    finally:
        portal_a.stop()
        portal_b.stop()


def test_a_token_endpoint_slower_than_the_lock_lease_still_refreshes_once(signed_in, portal, sandbox):
    # The refresh below takes over 3 leases: only renewal keeps others out. The lease is renewed every third of
    # it, so a watchdog stalled for two thirds loses it; at 0.6 s a loaded CI machine (3 test processes on
    # 2 cores) once stalled it 0.4 s. 1.5 s leaves a full second; production's lease is 10 s.
    portal.services.tokens.lock_lease = 1.5
    portal.services.tokens.max_waiters = 10  # all ten wait it out (the cap on waiters is tested in test_token_store)
    sandbox.config(token_latency_ms=5000)
    portal.clock.advance(TOKEN_TTL)
    assert burst(signed_in, [portal.url], 10) == [200] * 10
    assert_refreshed_exactly_once(sandbox)


def test_a_slow_request_does_not_put_back_an_old_refresh_token(signed_in, portal, sandbox):
    # The slow request is the first page after sign-in: it writes the session at its end (CSRF token).
    sandbox.config(api_latency_ms=1500)
    slow = threading.Thread(target=lambda: get_page(signed_in))
    slow.start()
    wait_for(lambda: len(sandbox.api_requests()) >= 1)
    portal.clock.advance(TOKEN_TTL)
    sandbox.config(api_latency_ms=0)
    assert get_page(signed_in.twin()).status_code == 200  # refreshes while the slow one runs
    slow.join()
    portal.clock.advance(TOKEN_TTL)
    assert get_page(signed_in).status_code == 200  # refreshes again with the rotated token
    stats = sandbox.stats()
    assert stats["token_requests"]["refresh_token"] == 2
    assert stats["refresh_reuse_detected"] == 0


# -- failure policy -------------------------------------------------------------------


def revoke_at_sandbox(sandbox, refresh_token):
    requests.post(sandbox.url + "/oauth/revoke", timeout=5, data={
        "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET, "token": refresh_token})


def test_invalid_grant_ends_the_session_for_pages(signed_in, portal, sandbox):
    sid = signed_in.session_id()
    revoke_at_sandbox(sandbox, signed_in.record().refresh_token)
    portal.clock.advance(TOKEN_TTL)
    response = get_page(signed_in, "/portfolios?view=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/portfolios?view%3D1&expired=1"
    assert not portal.redis.exists(session_key(sid)) and not portal.redis.exists(token_key(sid))
    assert KEY_COOKIE not in signed_in.cookies


def test_invalid_grant_ends_the_session_for_json(signed_in, portal, sandbox):
    revoke_at_sandbox(sandbox, signed_in.record().refresh_token)
    portal.clock.advance(TOKEN_TTL)
    response = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert signed_in.get(portal.url + "/api/portfolios", timeout=10).status_code == 401


def test_a_reused_refresh_token_ends_the_session(signed_in, portal, sandbox):
    stolen = signed_in.record().refresh_token
    assert sandbox_refresh(sandbox.url, stolen).status_code == 200  # someone else rotated it first
    portal.clock.advance(TOKEN_TTL)
    assert get_page(signed_in).headers["Location"].endswith("expired=1")
    assert sandbox.stats()["refresh_reuse_detected"] == 1


@pytest.mark.parametrize("path, expected", [("/portfolios", 502), ("/api/portfolios", 502)])
def test_a_failing_token_endpoint_keeps_the_session(signed_in, portal, sandbox, path, expected):
    portal.clock.advance(TOKEN_TTL)
    sandbox.config(token_error={"status": 503, "count": 1, "match": "/oauth/token"})
    response = get_page(signed_in, path)
    assert response.status_code == expected
    assert portal.redis.exists(token_key(signed_in.session_id()))
    assert get_page(signed_in, path).status_code == expected  # within the backoff: the same answer, not a new grant
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1
    portal.clock.advance(REFRESH_BACKOFF)  # the backoff is on the app's clock: no waiting for Redis's TTL
    assert get_page(signed_in, path).status_code == 200  # after it, the next try refreshes and succeeds
    assert sandbox.stats()["token_requests"]["refresh_token"] == 2


def test_a_timing_out_token_endpoint_answers_504_and_keeps_the_session(make_portal, sandbox):
    portal = make_portal(options={"refresh_timeout": (2, 0.3)})
    browser = PortalBrowser(portal, sandbox)
    browser.sign_in()
    portal.clock.advance(TOKEN_TTL)
    sandbox.config(token_latency_ms=1000)
    response = get_page(browser)
    assert response.status_code == 504
    assert "Try again" in response.text
    assert portal.redis.exists(token_key(browser.session_id()))
    assert portal.redis.exists(session_key(browser.session_id()))


def test_an_api_401_refreshes_once_and_retries_once(signed_in, portal, sandbox):
    sandbox.config(api_error={"status": 401, "count": 1})
    assert signed_in.get(portal.url + "/api/portfolios", timeout=10).status_code == 200
    stats = sandbox.stats()
    assert stats["token_requests"]["refresh_token"] == 1
    assert stats["api_requests"] == 2


def test_an_api_401_on_a_page_refreshes_once_and_the_page_renders(signed_in, portal, sandbox):
    sandbox.config(api_error={"status": 401, "count": 1})
    assert get_page(signed_in).status_code == 200
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1


def test_a_second_api_401_ends_the_session(signed_in, portal, sandbox):
    sandbox.config(api_error={"status": 401, "count": 2})
    response = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "session_expired"
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1
    assert sandbox.stats()["api_requests"] == 2


# -- logout ----------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(signed_in, portal, sandbox):
    refresh_token = signed_in.record().refresh_token
    signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False, timeout=10)
    assert sandbox.stats()["revocations"] == 1
    assert sandbox_refresh(sandbox.url, refresh_token).json()["error"] == "invalid_grant"
    assert KEY_COOKIE not in signed_in.cookies


def test_logout_signs_out_even_when_revocation_fails(signed_in, portal, sandbox, caplog):
    caplog.set_level(logging.INFO)
    refresh_token = signed_in.record().refresh_token
    sid = signed_in.session_id()
    # Only the revocation fails: a stray token request (another test's background refresh reaching this
    # worker's sandbox late) once took the one forced error, and the revocation answered 200.
    sandbox.config(token_error={"status": 503, "count": 1, "match": "/oauth/revoke"})
    response = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()},
                              allow_redirects=False, timeout=10)
    assert response.status_code == 302 and "/oidc/logout" in response.headers["Location"]
    assert not portal.redis.exists(token_key(sid))
    assert "revocation answered 503" in caplog.text
    assert refresh_token not in caplog.text


# -- a slow or failing provider -------------------------------------------------------------------


def inside_the_leeway(portal, seconds_left=30):
    """Move the portal's clock so the session's token has seconds_left: inside the leeway, still valid."""
    portal.clock.advance(TOKEN_TTL - seconds_left)


def timed_burst(browser, n, path="/api/portfolios"):
    def one(_):
        started = time.monotonic()
        status = browser.twin().get(browser.portal.url + path, timeout=60).status_code
        return status, time.monotonic() - started

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_a_slow_token_endpoint_delays_nobody_whose_token_is_still_valid(signed_in, portal, sandbox):
    sandbox.config(token_latency_ms=3000)
    inside_the_leeway(portal)
    old = signed_in.record().access_token
    results = timed_burst(signed_in, 32)
    assert [status for status, _ in results] == [200] * 32
    # An ordering fact, not a stopwatch: every answer was in before the refresh was, so none waited for it.
    assert signed_in.record().access_token == old and portal.redis.exists(lock_key(signed_in.session_id()))
    wait_for(lambda: sandbox.stats()["token_requests"]["refresh_token"] == 1)
    wait_for(lambda: not portal.redis.exists(lock_key(signed_in.session_id())))
    assert_refreshed_exactly_once(sandbox)
    assert signed_in.record().access_token != old
    assert signed_in.record().expires_at > portal.clock() + TOKEN_TTL / 2  # the session survived, refreshed
    assert get_page(signed_in).status_code == 200


def test_a_failing_token_endpoint_is_asked_once_per_backoff_and_answers_fast(signed_in, portal, sandbox):
    sandbox.config(token_error={"status": 503, "count": 1000})
    portal.clock.advance(TOKEN_TTL)
    results = timed_burst(signed_in, 16)
    assert [status for status, _ in results] == [502] * 16
    # Every answer came inside one backoff window (the failure is still remembered), from one grant.
    assert portal.redis.exists(failed_key(signed_in.session_id()))
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1
    assert portal.redis.exists(token_key(signed_in.session_id()))


def test_a_still_valid_token_is_used_while_its_refresh_keeps_failing(signed_in, portal, sandbox):
    sandbox.config(token_error={"status": 503, "count": 1000})
    inside_the_leeway(portal)
    assert [status for status, _ in timed_burst(signed_in, 8)] == [200] * 8
    wait_for(lambda: portal.redis.exists(failed_key(signed_in.session_id())))
    assert [status for status, _ in timed_burst(signed_in, 8)] == [200] * 8
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1  # not retried inside the backoff


def test_the_portal_gives_the_token_endpoint_thirty_seconds(portal):
    assert portal.services.provider.refresh_timeout[1] >= 30


# -- a provider like the certified ones: short opaque tokens, no scope on refresh ---------------------


@pytest.fixture
def strict_provider(sandbox):
    sandbox.config(opaque_access_tokens=True, access_token_ttl=60, refuse_refresh_scope=True)
    return sandbox


def test_short_opaque_tokens_are_not_refreshed_right_after_sign_in(strict_provider, signed_in, portal):
    assert not signed_in.record().access_token.count(".") == 2  # opaque, not a JWT
    assert get_page(signed_in).status_code == 200
    assert strict_provider.stats()["token_requests"]["refresh_token"] == 0


def test_a_refresh_carries_no_scope_and_a_strict_provider_accepts_it(strict_provider, signed_in, portal):
    before = signed_in.record()
    portal.clock.advance(50)  # 10 s left of 60: inside the 15 s leeway, still valid
    assert get_page(signed_in).status_code == 200
    wait_for(lambda: signed_in.record().access_token != before.access_token)
    refresh = [r for r in strict_provider.token_requests() if r["grant_type"] == "refresh_token"]
    assert len(refresh) == 1 and "scope" not in refresh[0]["params"]
    portal.clock.advance(60)  # the old token has expired; the refreshed one is in use
    assert get_page(signed_in).status_code == 200


def test_a_provider_refusing_the_refresh_is_described_as_refusing(make_portal, strict_provider, caplog):
    caplog.set_level(logging.INFO)
    portal = make_portal(NAVEXA_REFRESH_SCOPE="openid offline_access")  # a scope this provider refuses
    browser = PortalBrowser(portal, strict_provider)
    browser.sign_in()
    portal.clock.advance(120)
    response = get_page(browser)
    assert response.status_code == 502
    assert "refused to renew your session" in response.text and "can't be reached" not in response.text
    assert "refused: invalid_scope" in caplog.text
    assert portal.redis.exists(token_key(browser.session_id()))  # not a reason to sign the person out
