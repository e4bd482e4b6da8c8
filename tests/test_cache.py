"""The session's sealed cache of Navexa answers: what it saves, what it never does."""

import redis

from portal.core.navexa.cache import AnswerCache
from portal.core.navexa.client import resource
from portal.core.storage.keyspace import CACHE, session_scoped
from portal.core.storage.sealing import new_key


def calls_during(browser, *paths) -> int:
    before = browser.sandbox.stats()["api_requests"]
    for path in paths:
        assert browser.page(path).status_code == 200, path
    return browser.sandbox.stats()["api_requests"] - before


def cache_key(sid: str) -> str:
    return session_scoped(CACHE, sid)


def test_a_period_switch_a_re_sort_and_the_csv_right_after_cost_no_navexa_call(signed_in):
    assert calls_during(signed_in, "/portfolios/101") == 8
    assert calls_during(signed_in, "/portfolios/101?period=3M", "/portfolios/101?period=ALL&sort=symbol&dir=asc",
                        "/portfolios/101/holdings.csv?period=6M&sort=weight&dir=desc", "/portfolios/101") == 0


def test_answers_are_fetched_again_once_older_than_the_cache_time(signed_in, portal):
    assert calls_during(signed_in, "/portfolios/101") == 8
    portal.clock.advance(61)
    assert calls_during(signed_in, "/portfolios/101") == 8


def test_sign_out_deletes_the_cached_answers(signed_in, portal):
    signed_in.page("/portfolios/101")
    sid = signed_in.session_id()
    assert portal.redis.exists(cache_key(sid))
    signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False, timeout=10)
    assert not portal.redis.exists(cache_key(sid))


def test_cached_answers_are_sealed_and_open_only_with_the_sessions_key(signed_in, portal):
    signed_in.page("/portfolios")
    sid = signed_in.session_id()
    raw = portal.redis.get(cache_key(sid))
    assert raw and b"Retirement" not in raw and b"portfolios" not in raw
    calls = {"list": (resource("portfolios"), None)}
    cache = portal.services.cache
    assert cache.get_many(sid, signed_in.key(), calls)["list"]  # the session's own key opens it
    assert cache.get_many(sid, new_key(), calls) == {}  # any other key does not
    assert cache.get_many("another-session", signed_in.key(), calls) == {}  # nor does it move to another session


def test_a_failed_answer_is_never_cached(signed_in, sandbox):
    sandbox.config(api_error={"status": 503, "count": 1})
    assert signed_in.page("/portfolios").status_code == 502
    assert calls_during(signed_in, "/portfolios") > 0  # asked again, not answered from a cached failure


def test_people_never_share_cached_answers(browser, sandbox):
    browser.sign_in("alice")
    browser.page("/portfolios/101")
    bob = type(browser)(browser.portal, sandbox)
    bob.sign_in("bob")
    assert bob.page("/portfolios/101").status_code == 404


def test_a_cache_time_of_zero_turns_it_off(redis_url):
    cache = AnswerCache(redis.Redis.from_url(redis_url), ttl=0)
    key = new_key()
    cache.put_many("off", key, [("/portfolios", None, [1])])
    assert cache.get_many("off", key, {"list": ("/portfolios", None)}) == {}


def test_a_large_answer_is_kept_deflated_and_still_sealed(redis_url):
    """Working: 200 holdings of repetitive JSON are about 20 KB; deflated and sealed they are under a quarter of it."""
    import json

    client = redis.Redis.from_url(redis_url)
    cache, key = AnswerCache(client), new_key()
    answer = [{"holdingId": 1000 + i, "symbol": f"S{i:03}", "name": "A listed company", "units": 100, "currency": "AUD"}
              for i in range(200)]
    cache.put_many("deflated", key, [(resource("portfolios", 1, "holdings"), None, answer)])
    stored = client.get(cache_key("deflated"))
    assert len(stored) < len(json.dumps(answer)) / 4
    assert b"A listed company" not in stored and b"holdingId" not in stored
    assert cache.get_many("deflated", key, {"h": (resource("portfolios", 1, "holdings"), None)}) == {"h": answer}
    assert cache.get_many("deflated", new_key(), {"h": (resource("portfolios", 1, "holdings"), None)}) == {}


def test_a_sessions_answers_are_kept_together_and_stale_ones_dropped_at_the_next_write(redis_url):
    """Two answers written at t and t + 30 s, a third at t + 70 s (ttl 60): the first has gone, the others remain."""
    from tests.helpers import MovableClock

    clock = MovableClock()
    clock.freeze()
    client = redis.Redis.from_url(redis_url)
    cache, key = AnswerCache(client, ttl=60, clock=clock), new_key()
    calls = {name: (resource("portfolios", n), None) for n, name in enumerate(("first", "second", "third"))}
    cache.put_many("together", key, [(*calls["first"], {"n": 1})])
    clock.advance(30)
    cache.put_many("together", key, [(*calls["second"], {"n": 2})])
    assert cache.get_many("together", key, calls) == {"first": {"n": 1}, "second": {"n": 2}}
    clock.advance(40)
    cache.put_many("together", key, [(*calls["third"], {"n": 3})])
    assert cache.get_many("together", key, calls) == {"second": {"n": 2}, "third": {"n": 3}}
    assert client.type(cache_key("together")) == b"string" and client.ttl(cache_key("together")) <= 61
