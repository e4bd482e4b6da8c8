"""TokenStore alone: a table of record state × refresher outcome → result, on a real redis-server,
with a fake refresher and a fixed clock (no provider, no Flask)."""


import itertools
import json
import os
import threading
import time

import pytest
import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.core.oauth.refresh_failures import RefreshBusy, RefreshTimedOut, RefreshUnavailable, SessionEnded
from portal.core.sessions.tokens import RECORD_VERSION, REFRESH_LEEWAY, TokenRecord, TokenStore
from portal.core.storage.leased_lock import LeasedLock
from portal.core.storage.sealing import new_key
from tests.helpers import failed_key, lock_key, token_key, wait_for

NOW = 1_800_000_000.0


def session_end() -> float:
    """A session's absolute end as Redis reads it (real time: the injected clock is the tokens' own)."""
    return time.time() + 600

RECORDS = {  # state → (access token's seconds left, has a refresh token, reject the current token?, failed recently?)
    "fresh": (3600, True, False, False),
    "in_leeway": (REFRESH_LEEWAY / 2, True, False, False),
    "in_leeway_after_a_failure": (REFRESH_LEEWAY / 2, True, False, True),
    "expired": (-10, True, False, False),
    "expired_after_a_failure": (-10, True, False, True),
    "expired_no_refresh_token": (-10, False, False, False),
    "rejected_by_the_api": (3600, True, True, False),
}


def ok(refresh_token):
    return {"access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 3600}


def fatal(refresh_token):
    raise SessionEnded("refresh refused: invalid_grant")


def unavailable(refresh_token):
    raise RefreshTimedOut("token endpoint timed out")


def no_access_token(refresh_token):
    return {"token_type": "Bearer"}


REFRESHERS = {"ok": ok, "fatal": fatal, "unavailable": unavailable, "no_access_token": no_access_token}
AFTER_A_REFRESH = {"ok": "new", "fatal": "gone", "unavailable": "same+failure", "no_access_token": "same+failure"}


def expectation(state: str, outcome: str) -> tuple:
    """(what access_token() gives or raises, the record afterwards, was the refresher asked?)"""
    if state == "fresh":
        return "current", "same", False
    if state == "in_leeway":  # still valid: answered at once, refreshed in the background
        return "current", AFTER_A_REFRESH[outcome], True
    if state == "in_leeway_after_a_failure":  # still valid, and nobody retries inside the backoff
        return "current", "same+failure", False
    if state == "expired_after_a_failure":  # the remembered failure is the answer, at once
        return RefreshUnavailable, "same+failure", False
    if state == "expired_no_refresh_token":
        return SessionEnded, "same", False
    result = {"ok": "new", "fatal": SessionEnded, "unavailable": RefreshUnavailable,
              "no_access_token": RefreshUnavailable}[outcome]
    return result, "same" if outcome == "fatal" else AFTER_A_REFRESH[outcome], True


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


@pytest.mark.parametrize("state, outcome", list(itertools.product(RECORDS, REFRESHERS)))
def test_access_token_by_record_state_and_refresher_outcome(client, state, outcome):
    seconds_left, has_refresh_token, reject, failed = RECORDS[state]
    calls = []

    def refresher(refresh_token):
        calls.append(refresh_token)
        return REFRESHERS[outcome](refresh_token)

    store = TokenStore(client, refresher=refresher, clock=lambda: NOW)
    sid, key = f"table-{state}-{outcome}", new_key()
    record = TokenRecord("current-access", "current-refresh" if has_refresh_token else None, None, None,
                         expires_at=NOW + seconds_left)
    store.start(sid, key, record, ends_at=session_end())
    if failed:
        client.set(failed_key(sid), RefreshTimedOut("earlier").remembered(), ex=60)
    expected, after, asked = expectation(state, outcome)

    if isinstance(expected, type):
        with pytest.raises(expected):
            store.access_token(sid, key, reject="current-access" if reject else None)
    else:
        assert store.access_token(sid, key, reject="current-access" if reject else None) == f"{expected}-access"

    wait_for(lambda: client.get(lock_key(sid)) is None)  # any refresh, in the background too, has finished
    assert calls == (["current-refresh"] if asked else [])
    if after == "gone":
        assert not client.exists(token_key(sid))
    else:
        current = store.load(sid, key)
        if after == "new":
            assert (current.access_token, current.refresh_token) == ("new-access", "new-refresh")
            assert current.expires_at == NOW + 3600 and current.lifetime == 3600
        else:
            assert current == record  # a failed or skipped refresh leaves the record as it was
    assert client.exists(failed_key(sid)) == (after == "same+failure")


@pytest.mark.parametrize("lifetime, leeway", [(86400, 60), (3600, 60), (120, 30), (60, 15), (None, 60)])
def test_the_leeway_is_sixty_seconds_or_a_quarter_of_a_short_tokens_life(lifetime, leeway):
    record = TokenRecord("a", "r", None, None, expires_at=NOW + 1000, lifetime=lifetime)
    assert record.leeway(REFRESH_LEEWAY) == leeway


def test_a_token_about_to_lapse_is_never_fresh_whatever_its_lifetime():
    record = TokenRecord("a", "r", None, None, expires_at=NOW + 3, lifetime=3)
    assert not record.fresh(NOW, REFRESH_LEEWAY) and not record.valid(NOW)


def test_a_sixty_second_token_is_not_refreshed_right_after_sign_in(client):
    calls = []
    store = TokenStore(client, refresher=lambda r: calls.append(r) or ok(r), clock=lambda: NOW)
    key = new_key()
    first = TokenRecord.from_response({"access_token": "a", "refresh_token": "r", "expires_in": 60}, NOW)
    store.start("short", key, first, ends_at=session_end())
    assert store.access_token("short", key) == "a"
    assert calls == []


def test_a_slow_refresh_ties_up_only_a_few_waiters_the_rest_answer_busy_quickly(client):
    release = threading.Event()

    def slow(refresh_token):
        release.wait(10)
        return ok(refresh_token)

    store = TokenStore(client, refresher=slow, clock=lambda: NOW, max_waiters=2)
    key = new_key()
    store.start("slow", key, TokenRecord("old", "r", None, None, expires_at=NOW - 10), ends_at=session_end())
    results = []

    def ask():
        started = time.monotonic()
        try:
            results.append((store.access_token("slow", key), time.monotonic() - started))
        except RefreshUnavailable as error:
            results.append(("busy" if isinstance(error, RefreshBusy) else "other", time.monotonic() - started))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    threads[0].start()
    wait_for(lambda: client.exists(lock_key("slow")))  # the first is refreshing (and counts as a waiter)
    for thread in threads[1:]:
        thread.start()
    wait_for(lambda: len(results) == 4, timeout=5)  # four beyond the cap gave up after SHORT_WAIT…
    answered_while_refreshing = sorted(r for r, _ in results)  # …while the refresh was still held up
    release.set()
    for thread in threads:
        thread.join()
    assert answered_while_refreshing == ["busy"] * 4
    assert sorted(r for r, _ in results) == ["busy"] * 4 + ["new-access"] * 2


def test_a_saved_record_keeps_the_sessions_remaining_lifetime(client):
    store = TokenStore(client, refresher=ok, clock=lambda: NOW)
    key = new_key()
    store.start("ttl", key, TokenRecord("a", "r", None, None, NOW + 10), ends_at=session_end())
    assert 590 < client.ttl(token_key("ttl")) <= 600  # started with the session's end
    client.expire(token_key("ttl"), 100)
    assert store.save("ttl", key, TokenRecord("b", "r", None, None, NOW + 10))
    assert 90 < client.ttl(token_key("ttl")) <= 100
    assert store.load("ttl", key).access_token == "b"


def test_a_record_deleted_at_sign_out_is_never_written_back_by_a_refresh(client):
    """A refresh that finishes after sign-out deleted the record writes nothing (before, it came back
    with a fresh lifetime and the rotated tokens)."""
    store = TokenStore(client, refresher=ok, clock=lambda: NOW)
    key = new_key()
    store.start("gone", key, TokenRecord("old", "r", None, None, expires_at=NOW - 10), ends_at=session_end())
    client.delete(store.key_of("gone"))  # sign-out took the record (core.sessions.index.end)
    assert not store.save("gone", key, TokenRecord("new", "r2", None, None, NOW + 3600))
    assert not client.exists(token_key("gone"))


def test_a_refresh_that_finds_its_session_ended_ends_the_request_too(client):
    def sign_out_meanwhile(refresh_token):
        client.delete(token_key("meanwhile"))  # sign-out, while the token endpoint answers
        return ok(refresh_token)

    store = TokenStore(client, refresher=sign_out_meanwhile, clock=lambda: NOW)
    key = new_key()
    store.start("meanwhile", key, TokenRecord("old", "r", None, None, expires_at=NOW - 10), ends_at=session_end())
    with pytest.raises(SessionEnded):
        store.access_token("meanwhile", key)
    assert not client.exists(token_key("meanwhile"))


def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one():
    old = TokenRecord("a1", "r1", "i1", "openid", 0)
    new = TokenRecord.from_response({"access_token": "a2", "expires_in": 60}, now=100, previous=old)
    assert (new.access_token, new.refresh_token, new.id_token, new.expires_at) == ("a2", "r1", "i1", 160)


def test_a_lock_held_by_a_dead_worker_lapses(client):
    client.set(lock_key("dead"), "someone", px=200)  # a worker died holding it
    lock = LeasedLock(client, lock_key("dead"), lease=1)
    assert not lock.acquire()
    wait_for(lock.acquire, timeout=5)
    assert client.get(lock_key("dead")) != b"someone"
    lock.release()
    assert client.get(lock_key("dead")) is None


def test_a_record_of_another_version_ends_the_session_cleanly(client):
    store = TokenStore(client, refresher=ok)
    key, nonce = new_key(), os.urandom(12)
    plain = json.dumps({"v": 99, "access_token": "a", "something_new": 1}).encode()
    aad = f"navexa-portal/tokens/v{RECORD_VERSION}/future".encode()
    client.set(token_key("future"), nonce + AESGCM(key).encrypt(nonce, plain, aad))
    with pytest.raises(SessionEnded):
        store.load("future", key)


def test_a_failure_recorded_while_a_request_waited_for_the_lock_is_not_asked_again(client):
    """The race: a waiter looks for a remembered failure, then the refresh fails and lets the lock go, then
    the waiter takes the lock. Under the lock, the refresh looks again and does not ask the provider."""
    calls = []
    store = TokenStore(client, refresher=lambda r: calls.append(r) or unavailable(r), clock=lambda: NOW)
    key = new_key()
    store.start("race", key, TokenRecord("old", "r", None, None, expires_at=NOW - 10), ends_at=session_end())
    with pytest.raises(RefreshUnavailable):
        store.access_token("race", key)  # the first refresh fails and is remembered
    with pytest.raises(RefreshUnavailable):
        store._refresh("race", key, store.load("race", key), "-")  # what the late lock holder does
    assert len(calls) == 1


def test_a_refresh_answer_after_sign_out_is_not_saved_and_its_new_refresh_token_is_revoked(redis_url):
    import redis

    client, revoked = redis.Redis.from_url(redis_url), []

    def sign_out_during_refresh(refresh_token):
        client.delete(token_key("f02"))  # sign-out deletes the record while the token endpoint answers
        return {"access_token": "new-access", "refresh_token": "rotated-refresh", "expires_in": 3600}

    store = TokenStore(client, sign_out_during_refresh, revoke=revoked.append)
    key = new_key()
    store.start("f02", key, TokenRecord("old", "r", None, None, expires_at=0), ends_at=2_000_000_000)
    with pytest.raises(SessionEnded):
        store.access_token("f02", key)
    assert not client.exists(token_key("f02")) and revoked == ["rotated-refresh"]


# -- the key ring's revocation copies (issue 29) -------------------------------------------------------------------


def test_revocation_copies_open_under_any_key_of_the_ring_name_their_key_and_fail_closed_when_it_is_revoked(
        redis_url, caplog):
    """A copy sealed under key a names it ("k1.a."); with b first it still opens, and b seals what is written next; a
    copy from before the ring (no key id) opens under whichever key sealed it; with a revoked, a's copies open
    nothing, saying so in one line."""
    import logging

    from portal.core.sessions.revocation import RevocationCopies

    client = redis.Redis.from_url(redis_url)
    key_a, key_b = new_key(), new_key()
    under_a = RevocationCopies(client, keys=[("a", key_a)])
    copy = under_a.sealed("sid1", "rt-1")
    assert copy.startswith(b"k1.a.")
    rotated = RevocationCopies(client, keys=[("b", key_b), ("a", key_a)])
    assert rotated.opened("sid1", copy) == "rt-1" and rotated.sealed("sid1", "rt-2").startswith(b"k1.b.")
    before_ring = RevocationCopies(client, keys=[("0", key_a)]).sealed("sid1", "rt-0")[len(b"k1.0."):]  # as the release before wrote
    assert rotated.opened("sid1", before_ring) == "rt-0"
    caplog.set_level(logging.WARNING)
    revoked = RevocationCopies(client, keys=[("b", key_b), ("a", key_a)], revoked={"a"})
    assert revoked.opened("sid1", copy) is None
    assert any("names key a, which is revoked" in r.getMessage() for r in caplog.records)
    assert revoked.opened("sid2", rotated.sealed("sid1", "x")) is None  # bound to its session id, as before
