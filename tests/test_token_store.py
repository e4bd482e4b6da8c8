"""TokenStore alone: a table of record state × refresher outcome → result, on a real redis-server,
with a fake refresher and a fixed clock (no provider, no Flask)."""

import itertools
import json
import os

import pytest
import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.tokens import (
    RECORD_VERSION,
    REFRESH_LEEWAY,
    LeasedLock,
    RefreshUnavailable,
    SessionEnded,
    TokenRecord,
    TokenStore,
    new_key,
)
from tests.helpers import lock_key, token_key, wait_for

NOW = 1_800_000_000.0

RECORDS = {  # state → (access token's seconds left, has a refresh token, reject the current token?)
    "fresh": (3600, True, False),
    "in_leeway": (REFRESH_LEEWAY / 2, True, False),
    "expired": (-10, True, False),
    "expired_no_refresh_token": (-10, False, False),
    "rejected_by_the_api": (3600, True, True),
}


def ok(refresh_token):
    return {"access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 3600}


def fatal(refresh_token):
    raise SessionEnded("refresh refused: invalid_grant")


def unavailable(refresh_token):
    raise RefreshUnavailable("token endpoint timed out", timeout=True)


def no_access_token(refresh_token):
    return {"token_type": "Bearer"}


REFRESHERS = {"ok": ok, "fatal": fatal, "unavailable": unavailable, "no_access_token": no_access_token}

# (state, outcome) → what access_token() gives: "current", "new", or the exception it raises
EXPECTED = {}
for state, outcome in itertools.product(RECORDS, REFRESHERS):
    if state == "fresh":
        EXPECTED[state, outcome] = "current"  # the refresher is never asked
    elif state == "expired_no_refresh_token":
        EXPECTED[state, outcome] = SessionEnded
    else:
        EXPECTED[state, outcome] = {"ok": "new", "fatal": SessionEnded, "unavailable": RefreshUnavailable,
                                    "no_access_token": RefreshUnavailable}[outcome]


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


@pytest.mark.parametrize("state, outcome", list(EXPECTED))
def test_access_token_by_record_state_and_refresher_outcome(client, state, outcome):
    seconds_left, has_refresh_token, reject = RECORDS[state]
    calls = []

    def refresher(refresh_token):
        calls.append(refresh_token)
        return REFRESHERS[outcome](refresh_token)

    store = TokenStore(client, lifetime=600, refresher=refresher, clock=lambda: NOW)
    sid, key = f"table-{state}-{outcome}", new_key()
    record = TokenRecord("current-access", "current-refresh" if has_refresh_token else None, None, None,
                         expires_at=NOW + seconds_left)
    store.save(sid, key, record)
    expected = EXPECTED[state, outcome]

    if isinstance(expected, type):
        with pytest.raises(expected):
            store.access_token(sid, key, reject="current-access" if reject else None)
    else:
        assert store.access_token(sid, key, reject="current-access" if reject else None) == f"{expected}-access"

    asked = state not in ("fresh", "expired_no_refresh_token")
    assert calls == (["current-refresh"] if asked else [])
    after = store.load(sid, key)
    if expected == "new":
        assert (after.access_token, after.refresh_token, after.expires_at) == ("new-access", "new-refresh", NOW + 3600)
    else:
        assert after == record  # a failed or skipped refresh leaves the record as it was
    assert client.get(lock_key(sid)) is None  # the lock is always released


def test_a_saved_record_keeps_the_sessions_remaining_lifetime(client):
    store = TokenStore(client, lifetime=600, refresher=ok, clock=lambda: NOW)
    key = new_key()
    store.save("ttl", key, TokenRecord("a", "r", None, None, NOW + 10))
    client.expire(token_key("ttl"), 100)
    store.save("ttl", key, TokenRecord("b", "r", None, None, NOW + 10))
    assert 90 < client.ttl(token_key("ttl")) <= 100


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
    store = TokenStore(client, lifetime=60, refresher=ok)
    key, nonce = new_key(), os.urandom(12)
    plain = json.dumps({"v": 99, "access_token": "a", "something_new": 1}).encode()
    aad = f"navexa-portal/tokens/v{RECORD_VERSION}/future".encode()
    client.set(token_key("future"), nonce + AESGCM(key).encrypt(nonce, plain, aad))
    with pytest.raises(SessionEnded):
        store.load("future", key)
