"""A short memory of each session's Navexa answers, so a period switch, a re-sort or the CSV right
after a page costs no Navexa call. No Flask here.

One Redis string per session (`portal:answers:{sid}`, in the session's hash slot): every answer the session
was given in the last `ttl` seconds, by call (128 bits of the SHA-256 of its path and query, so paths aren't
kept in the clear), each stamped with when it was fetched; the whole deflated against a dictionary of
Navexa's field names, then sealed with AES-GCM under the session's own key (core.storage.sealing), like the token
record: a Redis dump reveals nothing. One value a session, not one field per call: deflated together, a
visit's answers take half the room (and Redis's per-field overhead goes). An answer older than `ttl` is not
used and is dropped at the next write; the key lapses `ttl` after its last write, and goes with the session
at sign-out. Only successful answers are kept. Two of a session's requests writing at once may drop the
other's new answers (the last write wins): a later miss, never a wrong answer.

The cache is best-effort: if Redis refuses a read or a write (down, or full under noeviction), the
page asks Navexa as if nothing were cached, and keeps nothing; one warning line says so.

Identical calls in flight for one session are made once (`claim`, `wait_for`, `release`): the first
request to miss a call claims it (a field of `portal:inflight:{sid}`, for IN_FLIGHT seconds at most; the
hash itself lapses IN_FLIGHT after its last claim and goes with the session);
another request of the session (a second tab, on any worker) that misses it meanwhile waits for its
answer to land in the cache instead of asking Navexa again, and asks itself only if the claim goes
without an answer (the first call failed) or the wait runs out.
"""

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from ..observability.metrics import CACHE_LOOKUPS, REDIS_ERRORS
from ..storage import sealing
from ..storage.keyspace import CACHE, IN_FLIGHT_CALL, session_scoped
from ..values import is_number

log = logging.getLogger(__name__)

# What Navexa's answers say over and over (their field names, as public clients see them): deflate's preset
# dictionary, so even a small answer compresses well. Changing it changes the seal's version (_aad).
NAVEXA_ZDICT = (
    b'"dateCreated":"baseCurrencyCode":"AUD","totalReturn":"totalReturnPercent":"totalValue":"capitalGainValue":'
    b'"capitalGainPercent":"dividendReturnValue":"currencyCode":"portfolioId":"holdingId":"holdingTypeId":'
    b'"exchange":"ASX","displayExchange":"symbol":"name":"companyName":"classification":{"sector":"industryGroup":'
    b'"industry":"subIndustry":},"totalQuantity":"quantity":"currentPrice":"price":"brokerage":"exchangeRate":'
    b'"tradeType":"Buy","tradeTypeId":"tradeDate":"notes":"paidDate":"exDividendDate":"netAmount":"grossAmount":'
    b'"frankingCredits":"dividendCurrency":"isReinvested":false,"total":"value":"holdings":[{"id":'
)
DEFAULT_TTL = 60  # s: long enough for a visit's switches and sorts, short enough to show fresh prices
IN_FLIGHT = 20.0  # s a claim on a call lasts at most: longer than Navexa's read timeout
WAIT_POLL = 0.05  # s between looks for a claimed call's answer


# KEYS[1] the session's claims; ARGV: now (ms), how long a claim lasts (ms), the calls. A call is claimed unless
# a claim on it has not lapsed; 1 for each claimed, 0 for each another request holds.
_CLAIM = """
local now, lasts = tonumber(ARGV[1]), tonumber(ARGV[2])
local won = {}
for i = 3, #ARGV do
  local held = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if held > now then won[#won + 1] = 0 else
    redis.call('HSET', KEYS[1], ARGV[i], now + lasts)
    won[#won + 1] = 1
  end
end
redis.call('PEXPIRE', KEYS[1], lasts)
return won
"""


def call_id(path: str, params: dict | None) -> str:
    """The field of a call: its path and sorted query, hashed (128 bits, 22 characters: a field name is paid
    for in every session's hash)."""
    query = json.dumps(sorted((params or {}).items()), separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(f"{path}?{query}".encode()).digest()[:16]).rstrip(b"=").decode()


class AnswerCache:
    """Sealed, short-lived Navexa answers per session."""

    def __init__(self, redis_client: redis.Redis, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time):
        self.redis = redis_client
        self.ttl = ttl
        self.clock = clock
        self._claim = redis_client.register_script(_CLAIM)

    def get_many(self, sid: str, key: bytes, calls: dict[Any, tuple[str, dict | None]],
                 count: bool = True) -> dict[Any, Any]:
        """The answers still fresh for these calls, by the calls' names (one round trip)."""
        if self.ttl <= 0 or not calls:
            return {}
        try:
            stored = self._read(sid, key)
        except redis.RedisError as error:
            REDIS_ERRORS.inc()
            log.warning("answer cache unavailable reading: %s (asking Navexa)", type(error).__name__)
            stored = {}
        now, found = self.clock(), {}
        for name, call in calls.items():
            answer = stored.get(call_id(*call))
            if isinstance(answer, dict) and is_number(answer.get("at")) and now - answer["at"] <= self.ttl:
                found[name] = answer.get("data")
        if count:
            CACHE_LOOKUPS.labels("hit").inc(len(found))
            CACHE_LOOKUPS.labels("miss").inc(len(calls) - len(found))
        return found

    def put_many(self, sid: str, key: bytes, answers: list[tuple[str, dict | None, Any]]):
        """Keep these answers ((path, params, JSON) each) for ttl seconds, beside the session's other fresh ones."""
        if self.ttl <= 0 or not answers:
            return
        now = self.clock()
        try:
            kept = {field: answer for field, answer in self._read(sid, key).items()
                    if isinstance(answer, dict) and is_number(answer.get("at")) and now - answer["at"] <= self.ttl}
            kept.update({call_id(path, params): {"at": now, "data": data} for path, params, data in answers})
            self.redis.set(self._key(sid), sealing.seal_compressed(key, kept, self._aad(sid), NAVEXA_ZDICT),
                           ex=int(self.ttl) + 1)
        except redis.RedisError as error:
            REDIS_ERRORS.inc()
            log.warning("answer cache unavailable writing: %s (nothing kept)", type(error).__name__)

    def _read(self, sid: str, key: bytes) -> dict:
        """Every answer the session's cache holds (fresh or not), or {} if there is none or it doesn't open."""
        sealed = self.redis.get(self._key(sid))
        if not sealed:
            return {}
        try:
            stored = sealing.unseal_compressed(key, sealed, self._aad(sid), NAVEXA_ZDICT)
        except sealing.Unopenable:
            return {}  # another key, another session's value, or damage: fetch again
        return stored if isinstance(stored, dict) else {}

    def claim(self, sid: str, calls: dict[Any, tuple[str, dict | None]]) -> set:
        """Claim the calls nobody of this session is making now; the names claimed (all of them when the
        cache is off or Redis refuses: nothing can be shared then)."""
        if self.ttl <= 0 or not calls:
            return set(calls)
        names = list(calls)
        try:
            won = self._claim(keys=[self._claims_key(sid)],
                              args=[int(time.time() * 1000), int(IN_FLIGHT * 1000)] + [call_id(*calls[n]) for n in names])
        except redis.RedisError:
            return set(calls)
        return {name for name, ok in zip(names, won, strict=True) if ok}

    def release(self, sid: str, calls: dict[Any, tuple[str, dict | None]]):
        if self.ttl <= 0 or not calls:
            return
        try:
            self.redis.hdel(self._claims_key(sid), *(call_id(*call) for call in calls.values()))
        except redis.RedisError:
            pass  # the claims lapse by themselves within IN_FLIGHT

    def wait_for(self, sid: str, key: bytes, calls: dict[Any, tuple[str, dict | None]],
                 patience: float = IN_FLIGHT) -> dict[Any, Any]:
        """The answers of calls another request of this session is making, as they land in the cache; stops
        early when their claims are gone without an answer. What never came is missing from the result."""
        found, give_up = {}, time.monotonic() + patience
        pending = dict(calls)
        while pending and time.monotonic() < give_up:
            time.sleep(WAIT_POLL)
            found.update(self.get_many(sid, key, pending, count=False))
            pending = {name: call for name, call in pending.items() if name not in found}
            try:
                claimed = self._claimed(sid, [call_id(*c) for c in pending.values()]) if pending else False
            except redis.RedisError:
                break
            if not claimed:
                found.update(self.get_many(sid, key, pending, count=False))  # it may have landed just now
                break
        CACHE_LOOKUPS.labels("shared").inc(len(found))
        return found

    def delete(self, sid: str):
        self.redis.delete(self._key(sid))

    @staticmethod
    def _key(sid: str) -> str:
        return session_scoped(CACHE, sid)

    def _claimed(self, sid: str, fields: list[str]) -> bool:
        """Whether any of these calls is still claimed (its claim not yet lapsed)."""
        now_ms = time.time() * 1000  # claims are about calls in flight now: real time, not the app's clock
        return any(until is not None and float(until) > now_ms for until in self.redis.hmget(self._claims_key(sid), fields))

    @staticmethod
    def _claims_key(sid: str) -> str:
        return session_scoped(IN_FLIGHT_CALL, sid)

    @staticmethod
    def _aad(sid: str) -> bytes:
        return f"navexa-portal/answers/v1/{sid}".encode()
