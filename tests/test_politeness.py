"""Polite to Navexa and its Auth0 tenant, shared by every process through Redis: counts, not timings.

Two portals on one Redis stand for two containers (in-process ones where the test moves the clock
instead of waiting; gunicorn processes where it doesn't need to).
"""

import json
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from portal.core.sessions.tokens import TokenStore
from portal.core.storage.keyspace import PAUSED, SESSION, session_scoped
from tests.helpers import PortalBrowser
from tools.clients import Browser
from tools.stack import free_port, portal_env, start_portal


def most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times)), default=0)


def refresh_times(sandbox) -> list[float]:
    return [r["at"] for r in sandbox.token_requests() if r["grant_type"] == "refresh_token"]


@pytest.fixture
def two_processes(sandbox, redis_url):
    """Two gunicorn portals (a worker each) on one Redis, with the environment given."""
    started = []

    def start(**env):
        env = {"SECRET_KEY": secrets.token_hex(32), **env}  # shared by both, as by every container
        for _ in range(2):
            port = free_port()
            started.append(start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", **env),
                                        port=port, workers=1))
        return [url for _, url in started[-2:]]

    yield start
    for service, _ in started:
        service.stop()


# -- the token endpoint: a rate for the whole tenant, and a pause after its 429 ---------------------------


def test_refreshes_keep_to_the_tenant_rate_across_two_processes_and_nobody_is_signed_out(two_processes, sandbox):
    urls = two_processes(REFRESH_RATE_LIMIT="4/second")
    sandbox.config(access_token_ttl=3)  # under VALID_MARGIN: every session's first call must refresh
    people = [Browser(urls[i % 2]) for i in range(12)]
    for person in people:
        assert person.sign_in().status_code == 302
    sandbox.config(access_token_ttl=86400)
    with ThreadPoolExecutor(24) as pool:  # every session from both processes at once
        statuses = list(pool.map(lambda i: people[i % 12].get(urls[i % 2] + "/api/portfolios", timeout=60).status_code,
                                 range(24)))
    assert statuses == [200] * 24  # each waited its turn (4 a second: 3 s for 12), none was signed out
    times = refresh_times(sandbox)
    assert len(times) == 12  # one refresh per session
    assert most_in_any_second(times) <= 5  # the rate, with the one-call burst at a window's edge


def test_a_429_from_the_token_endpoint_pauses_every_refresh_everywhere_and_keeps_every_session(make_portal, sandbox):
    first, second = make_portal(), make_portal()
    sandbox.config(access_token_ttl=3)
    alice, bob = PortalBrowser(first, sandbox), PortalBrowser(second, sandbox)
    assert alice.sign_in().status_code == 302 and bob.sign_in("bob").status_code == 302
    sandbox.config(access_token_ttl=86400, token_error={"status": 429, "count": 1, "retry_after": 30, "match": "/oauth/token"})

    refused = alice.get(first.url + "/api/portfolios", timeout=30)
    assert refused.status_code == 503 and refused.json()["error"] == "provider_rate_limited"
    assert 29 <= int(refused.headers["Retry-After"]) <= 30
    elsewhere = bob.get(second.url + "/api/portfolios", timeout=30)  # another person, another container
    assert elsewhere.status_code == 503 and elsewhere.json()["error"] == "provider_rate_limited"
    page = bob.page("/portfolios")
    assert page.status_code == 503 and "data-countdown" in page.text  # the page counts the wait down
    assert len(refresh_times(sandbox)) == 1  # only the first asked: the tenant-wide pause held the rest
    assert sandbox.stats()["token_rate_limited"] == 1

    for portal in (first, second):
        portal.clock.advance(31)  # the pause lapses (and the tokens are long expired: refresh due)
    assert alice.get(first.url + "/api/portfolios", timeout=30).status_code == 200
    assert bob.get(second.url + "/api/portfolios", timeout=30).status_code == 200  # nobody lost their session
    assert len(refresh_times(sandbox)) == 3


def test_a_token_endpoint_429_without_retry_after_pauses_for_the_default(make_portal, sandbox):
    from portal.core.storage.gate import DEFAULT_PAUSE

    portal = make_portal()
    sandbox.config(access_token_ttl=3)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    sandbox.config(access_token_ttl=86400, token_error={"status": 429, "count": 1, "match": "/oauth/token"})
    refused = person.get(portal.url + "/api/portfolios", timeout=30)
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) == DEFAULT_PAUSE
    portal.clock.advance(DEFAULT_PAUSE - 3)  # past the session's own backoff (5 s), still inside the pause
    still = person.get(portal.url + "/api/portfolios", timeout=30)
    assert still.status_code == 503 and 1 <= int(still.headers["Retry-After"]) <= 3
    assert len(refresh_times(sandbox)) == 1  # the pause held: nobody asked the token endpoint again
    portal.clock.advance(4)
    assert person.get(portal.url + "/api/portfolios", timeout=30).status_code == 200
    assert len(refresh_times(sandbox)) == 2


def test_sessions_whose_tokens_expire_together_refresh_ahead_at_different_moments():
    """Each session's leeway is stretched by its own share (0–100 %) of itself, from its id: 1,000 sessions whose
    tokens expire in the same second start their refresh over a minute, not in one second.
    Working: leeway 60 s, stretch 0–1 → refresh-ahead 60–120 s before expiry; 1,000 over 60 one-second
    buckets is about 17 a second; a bucket of more than 40 would be a pile-up."""
    moments = [int(60 * (1 + TokenStore.stretch(secrets.token_urlsafe(32)))) for _ in range(1000)]
    buckets = {second: moments.count(second) for second in set(moments)}
    assert min(moments) >= 60 and max(moments) <= 120
    assert max(buckets.values()) <= 40 and len(buckets) >= 55


# -- Navexa: each person's pause after a 429, their rate, and calls made once ---------------------------


def test_a_navexa_429_pauses_that_persons_calls_on_every_process_and_no_one_elses(two_processes, sandbox):
    first, second = two_processes()
    alice, bob = Browser(first), Browser(second)
    assert alice.sign_in().status_code == 302 and bob.sign_in("bob").status_code == 302
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 30})
    assert alice.get(first + "/api/portfolios", timeout=30).status_code == 429
    calls = sandbox.stats()["api_requests"]
    for url in (first, second, first, second):  # the same person on both containers: nothing reaches Navexa
        answer = alice.get(url + "/api/portfolios", timeout=30)
        assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
        assert 1 <= int(answer.headers["Retry-After"]) <= 30
    page = alice.get(second + "/portfolios", allow_redirects=False, timeout=30)
    assert page.status_code == 429 and "data-countdown" in page.text
    assert sandbox.stats()["api_requests"] == calls
    assert bob.get(second + "/api/portfolios", timeout=30).status_code == 200  # another person isn't paused
    assert sandbox.stats()["api_requests"] == calls + 1


def test_a_session_signed_in_during_the_persons_pause_is_paused_too(make_portal, sandbox):
    """The /api/ fast path reads the person's pause from the session's own slot (one MGET): a pause reaches every
    session the person has, and one signed in while it lasts. None of their calls reaches Navexa until it lapses;
    then each does."""
    portal = make_portal()
    laptop = PortalBrowser(portal, sandbox)
    assert laptop.sign_in().status_code == 302
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 30})
    assert laptop.get(portal.url + "/api/portfolios", timeout=30).status_code == 429
    phone = PortalBrowser(portal, sandbox)
    assert phone.sign_in().status_code == 302  # signed in during the pause
    calls = sandbox.stats()["api_requests"]
    for person in (laptop, phone, laptop, phone):
        answer = person.get(portal.url + "/api/portfolios", timeout=30)
        assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
    assert sandbox.stats()["api_requests"] == calls
    portal.clock.advance(31)
    for person in (laptop, phone):
        assert person.get(portal.url + "/api/portfolios", timeout=30).status_code == 200
    assert sandbox.stats()["api_requests"] == calls + 2


def test_when_the_persons_pause_lapses_their_calls_reach_navexa_again(make_portal, sandbox):
    portal = make_portal()
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 5})
    assert person.get(portal.url + "/api/portfolios", timeout=30).status_code == 429
    assert person.get(portal.url + "/api/portfolios", timeout=30).status_code == 429
    assert sandbox.stats()["api_requests"] == 1
    portal.clock.advance(6)
    assert person.get(portal.url + "/api/portfolios", timeout=30).status_code == 200
    assert sandbox.stats()["api_requests"] == 2


def test_two_tabs_opening_one_portfolio_at_once_on_two_processes_make_its_calls_once(make_portal, sandbox):
    first, second = make_portal(), make_portal()  # one Redis: one session seen by both
    tab = PortalBrowser(first, sandbox)
    assert tab.sign_in().status_code == 302
    other_tab = tab.twin()
    sandbox.config(api_latency_ms=300)  # long enough for the two loads to overlap
    before = sandbox.stats()["api_requests"]
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda pair: pair[0].get(pair[1] + "/portfolios/101", timeout=60),
                              [(tab, first.url), (other_tab, second.url)]))
    assert [p.status_code for p in pages] == [200, 200]
    assert pages[0].text.count("$82,361.00") >= 1 and pages[1].text.count("$82,361.00") >= 1
    assert sandbox.stats()["api_requests"] - before == 8  # one page's calls, not two pages'


def test_with_a_per_person_rate_a_page_waits_for_its_turns_rather_than_failing(make_portal, sandbox):
    portal = make_portal(NAVEXA_RATE_LIMIT="4/second", NAVEXA_CACHE_SECONDS="0")
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    assert person.page("/portfolios/101").status_code == 200  # 8 calls at once, 4 a second: about 2 s
    times = [r["at"] for r in sandbox.api_requests()]
    assert len(times) == 8 and most_in_any_second(times) <= 5


def test_the_sandbox_rate_limits_each_person_and_says_when_to_come_back(signed_in, portal, sandbox):
    sandbox.config(api_rate_limit={"per_second": 2, "retry_after": 3})
    statuses = [signed_in.get(portal.url + "/api/portfolios", timeout=10) for _ in range(3)]
    assert [s.status_code for s in statuses] == [200, 200, 429]
    assert statuses[-1].headers["Retry-After"] == "3" and sandbox.stats()["api_rate_limited"] == 1


def test_a_reserved_turn_is_a_fixed_number_ahead_or_refused_at_once(redis_url):
    """N1's mechanism: at 2 a second with room for 4 calls ahead (2 s), the first call goes now, the next four are
    given 0.5, 1.0, 1.5 and 2.0 s to wait (their slots taken), and the sixth is refused at once, told to come back
    in 0.5 s (when the first reservation's slot has passed); nothing was taken for it."""
    import redis as redis_lib

    from portal.core.storage.gate import Gate

    now = [1000.0]
    gate = Gate(redis_lib.Redis.from_url(redis_url), f"test:gate:{secrets.token_hex(4)}:", rate=2, clock=lambda: now[0])
    given = [gate.reserve_turn("alice", 2.0) for _ in range(6)]
    assert given[:5] == [(0.0, None), (0.5, None), (1.0, None), (1.5, None), (2.0, None)]
    assert given[5] == (0.0, 0.5)
    now[0] += 0.5  # half a second on: one more fits
    assert gate.reserve_turn("alice", 2.0) == (2.0, None) and gate.reserve_turn("bob", 2.0) == (0.0, None)


def test_when_the_token_endpoints_pause_lapses_one_refresh_probes_before_the_rest(make_portal, sandbox):
    """After a token-endpoint 429 lapsed, several processes asked at once (5 asks in 6 s with Retry-After: 4). Now
    the first refresh after the pause is a probe, alone, from every process together: the others are told to come
    back in a second meanwhile (their sessions kept), and once the probe has succeeded, everyone refreshes."""
    first, second = make_portal(), make_portal()
    sandbox.config(access_token_ttl=3)
    people = [PortalBrowser(portal, sandbox) for portal in (first, second, first, second)]
    for person, user in zip(people, ("alice", "bob", "carol", "erin"), strict=True):
        assert person.sign_in(user).status_code == 302
    sandbox.config(access_token_ttl=86400, token_error={"status": 429, "count": 1, "retry_after": 4, "match": "/oauth/token"})
    assert people[0].get(first.url + "/api/portfolios", timeout=30).status_code == 503  # the 429: paused 4 s
    for portal in (first, second):
        portal.clock.advance(5)  # the pause lapses
    asked = len(refresh_times(sandbox))
    sandbox.config(token_latency_ms=600)  # the probe takes a while: everyone else arrives while it is out
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda person: person.get(person.portal.url + "/api/portfolios", timeout=30), people))
    assert len(refresh_times(sandbox)) - asked == 1, "more than one refresh asked while the probe was out"
    assert sorted(a.status_code for a in answers) == [200, 503, 503, 503]
    assert all(a.headers["Retry-After"] == "1" and a.json()["error"] == "provider_rate_limited"
               for a in answers if a.status_code == 503)
    sandbox.config(token_latency_ms=0)
    for portal in (first, second):
        portal.clock.advance(2)  # the second they were told to wait (each session remembers its refusal that long)
    assert [person.get(person.portal.url + "/api/portfolios", timeout=30).status_code for person in people] == [200] * 4


def test_a_session_moved_to_its_stored_id_during_the_persons_pause_is_paused_there_too(portal):
    """A session of the release before moves to its stored id at its first use (SessionIndex.move): the person's
    pause, read by the fast path from the session's own slot, goes with it."""
    index, redis_client = portal.services.index, portal.redis
    portal.services.navexa.gate.pause("auth0|carol", 30)
    record = {"user": {"sub": "auth0|carol"}, "exp": int(portal.clock()) + 3600}
    redis_client.set(session_scoped(SESSION, "old-id"), json.dumps(record), ex=3600)
    index.move("old-id", "new-id", record)
    until = redis_client.get(session_scoped(PAUSED, "new-id"))
    assert until is not None and float(until) == pytest.approx(portal.clock() + 30, abs=1)
    assert redis_client.get(session_scoped(PAUSED, "old-id")) is None
    index.move("other-old", "other-new", {"user": {"sub": "auth0|erin"}})  # a person not paused: nothing written
    assert redis_client.get(session_scoped(PAUSED, "other-new")) is None
