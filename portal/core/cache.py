"""A short memory of each session's Navexa answers, so a period switch, a re-sort or the CSV right
after a page costs no Navexa call. No Flask here.

One Redis hash per session (`portal:cache:{sid}`, in the session's hash slot): a field per call (the
SHA-256 of its path and query, so paths aren't kept in the clear), each answer sealed with AES-GCM under
the session's own key (core.sealing), like the token record (a Redis dump reveals nothing), and stamped with when it was
fetched. An answer older than `ttl` is not used; the hash itself lapses `ttl` after its last write, and
goes with the session at sign-out. Only successful answers are kept.

The cache is best-effort: if Redis refuses a read or a write (down, or full under noeviction), the
page asks Navexa as if nothing were cached, and keeps nothing; one warning line says so.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from . import sealing
from .keyspace import CACHE, session_scoped
from .metrics import CACHE_LOOKUPS, REDIS_ERRORS

log = logging.getLogger(__name__)

DEFAULT_TTL = 60  # s: long enough for a visit's switches and sorts, short enough to show fresh prices


def call_id(path: str, params: dict | None) -> str:
    """The field of a call: its path and sorted query, hashed."""
    query = json.dumps(sorted((params or {}).items()), separators=(",", ":"))
    return hashlib.sha256(f"{path}?{query}".encode()).hexdigest()


class AnswerCache:
    """Sealed, short-lived Navexa answers per session."""

    def __init__(self, redis_client: redis.Redis, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time):
        self.redis = redis_client
        self.ttl = ttl
        self.clock = clock

    def get_many(self, sid: str, key: bytes, calls: dict[Any, tuple[str, dict | None]]) -> dict[Any, Any]:
        """The answers still fresh for these calls, by the calls' names (one round trip)."""
        if self.ttl <= 0 or not calls:
            return {}
        names = list(calls)
        fields = [call_id(*calls[name]) for name in names]
        try:
            stored = self.redis.hmget(self._key(sid), fields)
        except redis.RedisError as error:
            REDIS_ERRORS.inc()
            log.warning("answer cache unavailable reading: %s (asking Navexa)", type(error).__name__)
            stored = [None] * len(fields)
        found = {}
        for name, field, sealed in zip(names, fields, stored, strict=True):
            answer = self._open(sid, key, field, sealed) if sealed else None
            if answer is not None and self.clock() - answer["at"] <= self.ttl:
                found[name] = answer["data"]
        CACHE_LOOKUPS.labels("hit").inc(len(found))
        CACHE_LOOKUPS.labels("miss").inc(len(calls) - len(found))
        return found

    def put_many(self, sid: str, key: bytes, answers: list[tuple[str, dict | None, Any]]):
        """Keep these answers ((path, params, JSON) each) for ttl seconds."""
        if self.ttl <= 0 or not answers:
            return
        now = self.clock()
        sealed = {}
        for path, params, data in answers:
            field = call_id(path, params)
            sealed[field] = self._seal(sid, key, field, {"at": now, "data": data})
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self._key(sid), mapping=sealed)
                pipe.expire(self._key(sid), int(self.ttl) + 1)
                pipe.execute()
        except redis.RedisError as error:
            REDIS_ERRORS.inc()
            log.warning("answer cache unavailable writing: %s (nothing kept)", type(error).__name__)

    def delete(self, sid: str):
        self.redis.delete(self._key(sid))

    @staticmethod
    def _key(sid: str) -> str:
        return session_scoped(CACHE, sid)

    @staticmethod
    def _aad(sid: str, field: str) -> bytes:
        return f"navexa-portal/cache/v1/{sid}/{field}".encode()

    def _seal(self, sid: str, key: bytes, field: str, value: dict) -> bytes:
        return sealing.seal(key, value, self._aad(sid, field))

    def _open(self, sid: str, key: bytes, field: str, sealed: bytes) -> dict | None:
        try:
            answer = sealing.unseal(key, sealed, self._aad(sid, field))
        except sealing.Unopenable:
            return None  # another key, another session's field, or damage: fetch it again
        return answer if isinstance(answer, dict) else None
