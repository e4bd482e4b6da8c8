"""Sessions under attack and under failure: fixation, what a signed-out visitor costs, a flood of
anonymous sign-in starts, one absolute lifetime, and Redis going away."""

import html
import http.client
import json
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from portal.core.sessions.pending import PENDING_LOGIN_TTL
from portal.core.storage.keyspace import PENDING, SESSION
from portal.web.session_store import SESSION_COOKIE
from tests.helpers import (
    KEY_COOKIE,
    pending_login,
    query_of,
    session_key,
    signed_in_then_redis_stops,
    stored_sid,
    token_key,
    wait_for,
    warning_lines,
)
from tools.clients import Browser
from tools.stack import free_port, portal_env, start_portal, start_redis

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def compose_eviction_policy() -> str:
    return re.search(r'"--maxmemory-policy", "([a-z-]+)"', COMPOSE.read_text()).group(1)


# -- 1. fixation ---------------------------------------------------------------------------


@pytest.mark.parametrize("other_pending_logins", [0, 1, 2])
def test_a_planted_session_id_never_becomes_the_signed_in_one(browser, portal, other_pending_logins):
    planted = secrets.token_urlsafe(32)  # an id the attacker made the victim's browser carry
    stored = portal.app.session_interface.stored(planted)
    portal.redis.set(session_key(stored), json.dumps({}))  # an empty session the attacker started
    browser.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1", path="/")
    for _ in range(other_pending_logins):
        browser.start_login()
    assert browser.sign_in().status_code == 302

    assert browser.cookie_id() not in (None, planted) and browser.session_id() != stored
    assert portal.redis.get(session_key(stored)) is None
    assert portal.redis.exists(session_key(browser.session_id()))
    attacker = requests.Session()
    attacker.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1", path="/")
    answer = attacker.get(portal.url + "/portfolios", allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


# -- 2. a signed-out visitor costs little, briefly -----------------------------------------------


def stored_bytes(client, key) -> int:
    """What the portal stores under a key: its name and its value, in bytes. Redis's own overhead a key (about
    a hundred bytes, more or less by allocator and version) is not the portal's to bound."""
    if client.type(key) == b"hash":
        return len(key) + sum(len(field) + len(value) for field, value in client.hgetall(key).items())
    return len(key) + client.strlen(key)


@pytest.mark.parametrize("next_length", [0, 900, 4000])
def test_a_signed_out_visitor_costs_a_few_hundred_bytes_for_ten_minutes(portal, next_length):
    before = set(portal.redis.scan_iter("portal:*"))
    target = "/portfolios?" + "a" * max(0, next_length - 12) if next_length else None
    response = requests.get(portal.url + "/login", params={"next": target} if target else None,
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")
    added = set(portal.redis.scan_iter("portal:*")) - before
    assert [k for k in added if k.startswith(SESSION.encode())] == []
    assert len(added) == 1
    key = added.pop()
    assert 0 < portal.redis.ttl(key) <= PENDING_LOGIN_TTL
    # The pending login: a 43-character state in its key; verifier, nonce, binding hash, redirect URI and a
    # relative next (up to 1 KB; a 4 KB next is dropped, not stored): 359 bytes beyond the next on this code,
    # bounded at 400 (whatever redis-server or allocator keeps it).
    assert stored_bytes(portal.redis, key) <= 400 + (next_length if next_length <= 900 else 0)
    stored_next = pending_login(portal, query_of(response.headers["Location"])["state"])["next"]
    assert stored_next == (target if next_length <= 900 else None)


def test_anonymous_pages_write_no_session(portal):
    before = set(portal.redis.scan_iter(SESSION + "*"))
    for path in ("/", "/login?expired=1", "/logout", "/nowhere", "/portfolios", "/healthz"):
        response = requests.get(portal.url + path, allow_redirects=False, timeout=10)
        assert SESSION_COOKIE not in response.headers.get("Set-Cookie", ""), path
    assert set(portal.redis.scan_iter(SESSION + "*")) == before


@pytest.fixture
def small_redis():
    """A redis-server with the compose file's eviction policy; its memory limit is set by the test."""
    service, url = start_redis(extra_args=("--maxmemory-policy", compose_eviction_policy()))
    yield url
    service.stop()


@pytest.mark.soak
def test_a_flood_of_anonymous_sign_in_starts_does_not_sign_anyone_out(sandbox, small_redis):
    """600 cookieless /login requests against a portal under gunicorn, five times what its Redis (with the
    compose file's eviction policy) has room for: the person signed in before stays signed in."""
    port = free_port()
    # No rate limit here: this test is about what each request costs, not how many are let in.
    env = portal_env(sandbox.url, small_redis, f"http://127.0.0.1:{port}", RATE_LIMIT_SIGN_IN="100000 per minute")
    service, url = start_portal(env, port=port)
    store = redis.Redis.from_url(small_redis)
    try:
        person = Browser(url)
        assert person.sign_in().status_code == 302
        sid = stored_sid(person.cookies.get(SESSION_COOKIE), env["SECRET_KEY"])
        assert person.get(url + "/portfolios", timeout=10).status_code == 200
        used = store.info("memory")["used_memory"]
        store.config_set("maxmemory", used + 50_000)  # room for about 120 pending logins, not 600
        statuses = flood_logins(port, 600)  # 150 on each of 4 connections
        assert len(statuses) == 600 and set(statuses) <= {302, 503}  # a full store answers 503, never 500
        if compose_eviction_policy() == "noeviction":
            assert statuses.count(503) > 0  # the limit was really reached: new sign-in starts were refused
        else:
            assert store.info("stats")["evicted_keys"] > 0  # the limit was really reached
        assert store.exists(session_key(sid), token_key(sid)) == 2
        assert person.get(url + "/portfolios", allow_redirects=False, timeout=10).status_code == 200
        assert list(store.scan_iter(SESSION + "*")) == [session_key(sid).encode()]
    finally:
        service.stop()


def flood_logins(port: int, count: int, connections: int = 4) -> list[int]:
    """count cookieless GET /login over keep-alive connections; their statuses."""

    def flood(n):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        statuses = []
        for _ in range(n):
            connection.request("GET", "/login")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.close()
        return statuses

    with ThreadPoolExecutor(connections) as pool:
        return [s for batch in pool.map(flood, [count // connections] * connections) for s in batch]


# -- 3. pending logins are atomic ---------------------------------------------------------------


def test_two_sign_in_starts_at_once_keep_both(browser, portal):
    browser.start_login()  # the browser has been here before (its binding cookie is set)
    for _ in range(10):
        with ThreadPoolExecutor(2) as pool:
            urls = list(pool.map(lambda tab: tab.start_login(), [browser.twin(), browser.twin()]))
        for url in urls:
            assert browser.get(browser.approve(url), allow_redirects=False, timeout=10).status_code == 302


def test_the_same_callback_twice_at_once_is_exchanged_once_and_signs_in(browser, portal, sandbox):
    callback = browser.approve(browser.start_login())
    tabs = [browser.twin(), browser.twin()]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda tab: tab.get(callback, allow_redirects=False, timeout=10), tabs))
    assert sorted(a.status_code for a in answers) == [302, 400]
    assert sandbox.stats()["token_requests"]["authorization_code"] == 1
    winner = tabs[[a.status_code for a in answers].index(302)]
    assert winner.page().status_code == 200


def test_the_verifier_and_nonce_leave_redis_once_used(browser, portal):
    callback = browser.approve(browser.start_login())
    state = query_of(callback)["state"]
    assert pending_login(portal, state)["code_verifier"]
    browser.get(callback, allow_redirects=False, timeout=10)
    assert not portal.redis.exists(PENDING + state)


def test_another_browser_presenting_the_state_neither_uses_nor_spends_it(browser, portal, sandbox):
    callback = browser.approve(browser.start_login())
    stranger = requests.get(callback, allow_redirects=False, timeout=10)
    assert stranger.status_code == 400
    assert browser.get(callback, allow_redirects=False, timeout=10).status_code == 302
    assert sandbox.stats()["token_requests"]["authorization_code"] == 1


# -- 12. one absolute lifetime ----------------------------------------------------------------


def test_writing_to_a_session_never_extends_it(signed_in, portal):
    sid = signed_in.session_id()
    record = json.loads(portal.redis.get(session_key(sid)))
    record["exp"] = int(time.time()) + 100  # as if the session had 100 s left
    record.pop("csrf", None)  # so the next page must write the session (a new CSRF token)
    portal.redis.set(session_key(sid), json.dumps(record), ex=100)
    signed_in.start_login()
    response = signed_in.page("/logout")
    assert response.status_code == 200
    assert "csrf" in json.loads(portal.redis.get(session_key(sid)))  # the session was written…
    assert 0 < portal.redis.ttl(session_key(sid)) <= 100  # …without a longer life
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")


def test_the_session_and_its_cookies_end_together(browser, portal):
    response = browser.get(browser.approve(browser.start_login()), allow_redirects=False, timeout=10)
    cookies = {c.name: c for c in browser.cookies}
    ends = {cookies[SESSION_COOKIE].expires, cookies[KEY_COOKIE].expires}
    ttl_end = time.time() + portal.redis.ttl(session_key(browser.session_id()))
    token_end = time.time() + portal.redis.ttl(token_key(browser.session_id()))
    assert response.status_code == 302
    assert max(ends) - min(ends) <= 2 and abs(max(ends) - ttl_end) <= 3 and abs(token_end - ttl_end) <= 3


def test_a_session_ends_when_the_apps_clock_passes_its_end_everywhere_at_once(signed_in, portal, sandbox):
    """One clock: moved past the 12 h end, the pages, /api/session and the /api/ fast path all say it has
    ended (before, the session interface read the wall clock and the session lived on)."""
    assert signed_in.page("/api/session").status_code == 200
    portal.clock.advance(12 * 3600 + 1)
    assert signed_in.page("/api/session").status_code == 401
    assert signed_in.page("/api/portfolios").status_code == 401
    page = signed_in.page("/portfolios")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert sandbox.stats()["api_requests"] == 0  # nobody asked Navexa for an ended session


def test_the_session_lives_until_its_end_by_the_same_clock(make_portal, sandbox):
    from tests.helpers import PortalBrowser

    portal = make_portal(SESSION_IDLE_TIMEOUT="0")  # 12 hours without use: only the absolute end may apply
    signed_in = PortalBrowser(portal, sandbox)
    assert signed_in.sign_in().status_code == 302
    portal.clock.advance(12 * 3600 - 60)
    response = signed_in.page("/api/session")
    assert response.status_code == 200 and 0 < response.json()["expires_in"] <= 60


# -- 10. Redis going away ---------------------------------------------------------------------------


def test_with_redis_down_each_request_logs_one_line_and_healthz_stays_up(make_portal, sandbox, caplog):
    person, _, _ = signed_in_then_redis_stops(make_portal, sandbox, caplog)
    paths = ["/portfolios", "/", "/api/portfolios", "/portfolios/101", "/login", "/logout", "/sessions", "/portfolios", "/"]
    statuses = [person.page(path).status_code for path in paths]
    assert statuses == [503] * len(paths)
    portal_lines = warning_lines(caplog)
    assert len(portal_lines) == len(paths), [r.getMessage() for r in portal_lines]
    assert all(r.exc_info is None for r in caplog.records)
    assert person.page("/healthz").status_code == 200
    assert person.page("/readyz").status_code == 503


def test_redis_trouble_and_an_oversized_form_get_the_portals_own_plain_words(make_portal, sandbox, caplog):
    """E19: a hung Redis said "The portal's session store can't be reached" (the machinery, not what it means to the
    person); a form over 1 MB got werkzeug's "Request Entity Too Large". Each is the portal's own page in plain words."""
    person, _, _ = signed_in_then_redis_stops(make_portal, sandbox, caplog)
    down = person.page("/portfolios")
    said = html.unescape(down.text)
    assert down.status_code == 503 and "Navexa Portal is briefly unavailable" in said
    assert "session store" not in said and "Your portfolios are safe" in said
    portal = make_portal()
    big = requests.post(portal.url + "/logout", data={"csrf_token": "x", "pad": "a" * (1024 * 1024 + 10)}, timeout=10)
    said = html.unescape(big.text)
    assert big.status_code == 413 and "That's more than the portal accepts" in said
    assert "Request Entity Too Large" not in said and "1 MB" in said


# -- every way a session ends leaves none of its keys ----------------------------------------------------------


def keys_naming(client, sid: str) -> list[bytes]:
    """Every key whose name holds the session id, and every index that still lists it (a full SCAN)."""
    found = [key for key in client.scan_iter("*") if sid.encode() in key]
    for index in client.scan_iter("portal:*person:*"):
        if client.zscore(index, sid) is not None:
            found.append(index)
    for index in client.scan_iter("portal:*idp-session:*"):
        if client.zscore(index, sid) is not None:
            found.append(index)
    return found


def busy_session(portal, person, locked: bool = True) -> str:
    """A session with every key it can have: record, tokens, revocation copy, cached answers, a call in flight,
    a refresh lock and a remembered refresh failure."""
    from portal.core.oauth.refresh_failures import RefreshTimedOut
    from portal.core.storage.keyspace import REFRESH_FAILED, REFRESH_LOCK, session_scoped

    assert person.page("/portfolios").status_code == 200  # answers cached
    sid = person.session_id()
    portal.services.cache.claim(sid, {"x": ("/v1/portfolios/1", None)})  # a call in flight
    if locked:  # (a refresh would wait on these)
        portal.redis.set(session_scoped(REFRESH_LOCK, sid), b"someone", px=60_000)
        portal.redis.set(session_scoped(REFRESH_FAILED, sid), RefreshTimedOut("slow").remembered(), px=60_000)
    assert len(keys_naming(portal.redis, sid)) >= (9 if locked else 7)  # its own keys and its two index entries
    return sid


def test_sign_out_leaves_no_key_of_the_session_in_redis(lone_portal, sandbox):
    """Found by scanning: before, /logout left the session's Navexa-pause copy and its in-flight claims to lapse."""
    from tests.helpers import PortalBrowser

    person = PortalBrowser(lone_portal, sandbox)
    assert person.sign_in("alice").status_code == 302
    sid = busy_session(lone_portal, person)
    response = person.post(lone_portal.url + "/logout", data={"csrf_token": person.csrf()}, allow_redirects=False,
                           timeout=10)
    assert response.status_code == 302
    assert keys_naming(lone_portal.redis, sid) == []
    assert sandbox.stats()["revocations"] >= 1


def test_sign_out_during_a_refresh_leaves_no_refresh_token_live(portal, sandbox):
    """N3: sign-out loaded the record (RT1), revoked RT1 over HTTP, and only then deleted the record; a refresh answer
    arriving meanwhile was saved into it and deleted with it, and RT2 stayed live at a provider that revokes only
    the token it is shown. Now the record is taken before anything is revoked, and a refresh that finds it gone
    revokes its own new token: with such a provider, none of alice's refresh tokens is left live."""
    from portal.core.sessions.tokens import VALID_MARGIN
    from tests.helpers import PortalBrowser

    sandbox.config(revoke_only_the_token_shown=True, access_token_ttl=VALID_MARGIN - 2)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in("alice").status_code == 302
    assert sandbox.live_refresh_tokens("alice") == 1
    csrf = person.csrf()
    sandbox.config(token_latency_ms=800)  # the refresh and the revocation both take a while
    with ThreadPoolExecutor(2) as pool:
        page = pool.submit(person.get, portal.url + "/portfolios", timeout=30)  # its access token needs a refresh
        wait_for(lambda: sandbox.stats()["token_requests"].get("refresh_token", 0) >= 1)  # at the token endpoint
        out = pool.submit(person.post, portal.url + "/logout", data={"csrf_token": csrf}, allow_redirects=False,
                          timeout=30)
        page.result(), out.result()
    assert out.result().status_code == 302
    assert sandbox.live_refresh_tokens("alice") == 0, "a refresh token stayed live at the provider"


@pytest.mark.parametrize("how", ["sessions page", "operator", "fast path hand-over", "refresh refused"])
def test_every_other_way_a_session_ends_leaves_no_key_of_it(how, lone_portal, sandbox):
    from portal.core.sessions.record import SEEN_EVERY
    from tests.helpers import PortalBrowser

    person, other = PortalBrowser(lone_portal, sandbox), PortalBrowser(lone_portal, sandbox)
    assert person.sign_in("alice").status_code == 302 and other.sign_in("alice").status_code == 302
    sid = busy_session(lone_portal, person, locked=how not in ("fast path hand-over", "refresh refused"))
    if how == "sessions page":
        response = other.post(lone_portal.url + "/sessions/end-others", data={"csrf_token": other.csrf()},
                              allow_redirects=False, timeout=10)
        assert response.status_code == 302 and "ended=1" in response.headers["Location"]
    elif how == "operator":
        lone_portal.services.index.end_matching(sub=lone_portal.services.index.records([sid])[sid]["user"]["sub"])
    elif how == "fast path hand-over":
        lone_portal.clock.advance(SEEN_EVERY)
        assert person.page("/portfolios").status_code == 200  # "last used" noted: the next call goes fast
        sandbox.config(api_error={"status": 401, "count": 2})
        assert person.get(lone_portal.url + "/api/portfolios", headers={"X-CSRF": "1"}, timeout=10).status_code == 401
    else:  # Navexa refuses its refresh token (used elsewhere meanwhile: the family is revoked): the Flask path ends it
        from tests.oauth_helpers import refresh

        assert refresh(sandbox.url, person.record().refresh_token).status_code == 200  # rotated away from the portal
        sandbox.config(api_error={"status": 401, "count": 1})  # the page's call is refused: it must refresh
        assert person.get(lone_portal.url + "/portfolios/101", allow_redirects=False, timeout=10).status_code == 302
    assert keys_naming(lone_portal.redis, sid) == [], how


# -- the idle timeout (issue 29) ---------------------------------------------------------------------------------


def test_a_session_left_alone_for_its_idle_timeout_signs_out_and_revokes(make_portal, sandbox):
    """SESSION_IDLE_TIMEOUT (minutes; 60 by default): used within it, a session goes on (each use counts); left alone
    past it, the next page signs the person out, says why, and revokes the refresh token, and the next /api/ call of
    another such session is a 401 saying the same. The 12 h absolute end stays as it was."""
    from tests.helpers import PortalBrowser

    portal = make_portal(SESSION_IDLE_TIMEOUT="30")
    person, other = PortalBrowser(portal, sandbox), PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302 and other.sign_in("bob").status_code == 302
    portal.clock.advance(29 * 60)
    assert person.page().status_code == 200  # used within the half hour: it goes on, from now
    portal.clock.advance(29 * 60)
    assert person.page().status_code == 200
    portal.clock.advance(31 * 60)  # left alone past it
    revocations = sandbox.stats()["revocations"]
    moved = person.page()
    assert moved.status_code == 302 and "idle=1" in moved.headers["Location"]
    told = person.get(portal.url + moved.headers["Location"], allow_redirects=False, timeout=10)
    assert told.status_code == 200 and "You were signed out after 30 minutes without use" in html.unescape(told.text)
    assert sandbox.stats()["revocations"] == revocations + 1
    assert not portal.redis.exists(session_key(person.session_id()))
    api = other.get(portal.url + "/api/portfolios", timeout=10)  # bob too has been idle 89 minutes
    assert api.status_code == 401 and api.json()["error"] == "session_idle"


def test_the_idle_timeout_can_be_turned_off_and_the_sessions_page_says_when_it_ends(make_portal, sandbox):
    from tests.helpers import PortalBrowser

    off = make_portal(SESSION_IDLE_TIMEOUT="0")
    person = PortalBrowser(off, sandbox)
    assert person.sign_in().status_code == 302
    off.clock.advance(11 * 3600)
    assert person.page().status_code == 200  # only the 12 h end applies
    on = make_portal()
    person = PortalBrowser(on, sandbox)
    assert person.sign_in().status_code == 302
    assert "Each signs out after 60 minutes without use" in html.unescape(person.page("/sessions").text)
