"""Who holds which sessions, and ending them from anywhere. No Flask here.

Every signed-in session is indexed twice, by its person (the ID token's `sub`) and by the Navexa
sign-in it came from (the ID token's `sid`), each a Redis sorted set of portal session ids scored by
the session's absolute end. So any worker of any container can list a person's sessions (the
sessions page) or end every session of a person or of a Navexa sign-in (back-channel logout).

Cluster: each index is one key (its hash tag is the hashed `sub` or `sid`), changed only by
single-key commands and a single-key script; a session's own keys are deleted in one command in
the session's slot; commands for several slots go in a non-transactional pipeline, which redis-py
sends slot by slot. An index lives as long as its longest session, and ended sessions are pruned
from it whenever it is written or read.

Ending a session deletes every key it has (core.storage.keyspace.SESSION_KEYS): its browser's next request
is signed out, on every worker, the fast path included; the refresh token is revoked first, from
its revocation copy (core.sessions.tokens), since the browser's key is not at hand.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait

import redis

from ..storage.keyspace import IDP_SESSION, NAVEXA_PAUSED, PERSON, SESSION, SESSION_KEYS, session_scoped
from .pending import PendingLogins
from .tokens import TokenStore

log = logging.getLogger(__name__)

REVOKE_WAIT = 5.0  # s an ending waits for its refresh tokens' revocations (they go on behind it if slower)
REVOKERS = 8  # revocations at once per process

# What a session's stored JSON says of where it came from (web.sessions writes these fields).
RECORD_USER = "user"  # {"sub", "name", "email"}
RECORD_IDP_SID = "idp_sid"  # the Navexa sign-in session's `sid`, if the ID token had one
RECORD_CLAIM = "claim"  # the hash of its browser's binding cookie (core.sessions.pending's claim on the browser)

# KEYS[1] an index; ARGV: the session's end, its id, now. Prune ended ones, add, live as long as the longest.
_ADD = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(last[2])))
return 1
"""


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def person_key(sub: str) -> str:
    return session_scoped(PERSON, _hashed(sub))


def idp_session_key(idp_sid: str) -> str:
    return session_scoped(IDP_SESSION, _hashed(idp_sid))


class SessionIndex:
    """The person and Navexa-sign-in indexes of portal sessions, and ending sessions through them."""

    def __init__(self, redis_client: redis.Redis, tokens: TokenStore, pending: PendingLogins, *,
                 revoke: Callable[[str], object], clock: Callable[[], float]):
        self.redis = redis_client
        self.tokens = tokens
        self.pending = pending
        self._revokers = ThreadPoolExecutor(REVOKERS, thread_name_prefix="revoke")
        self.revoke = revoke
        self.clock = clock
        self._add = redis_client.register_script(_ADD)

    def add(self, sid: str, *, sub: str | None, idp_sid: str | None, ends_at: float):
        """Index a new session under its person and its Navexa sign-in (whichever it has)."""
        for key in self._keys(sub, idp_sid):
            self._add(keys=[key], args=[int(ends_at), sid, int(self.clock())])

    def of_person(self, sub: str) -> list[str]:
        return self._live(person_key(sub))

    def of_idp_session(self, idp_sid: str) -> list[str]:
        return self._live(idp_session_key(idp_sid))

    def _live(self, key: str) -> list[str]:
        now = int(self.clock())
        with self.redis.pipeline(transaction=False) as pipe:  # one key: one slot
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrangebyscore(key, now, "+inf")
            _, members = pipe.execute()
        return [m.decode() for m in members]

    def exists(self, sid: str) -> bool:
        """Whether the session is still live (its record is there)."""
        return bool(self.redis.exists(session_scoped(SESSION, sid)))

    def mark_paused(self, sub: str, seconds: float):
        """Copy a person's Navexa pause into each of their sessions' slots, where the /api/ fast path reads it
        in the same round trip as the session (the person's own key is in another slot)."""
        until = repr(self.clock() + seconds)
        sids = self.of_person(sub)
        with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.set(session_scoped(NAVEXA_PAUSED, sid), until, px=int(seconds * 1000) + 1000)
            pipe.execute()

    def records(self, sids: Iterable[str]) -> dict[str, dict]:
        """The stored session JSON of each of these sessions that still exists."""
        sids = list(sids)
        if not sids:
            return {}
        with self.redis.pipeline(transaction=False) as pipe:  # one GET per session, each in its own slot
            for sid in sids:
                pipe.get(session_scoped(SESSION, sid))
            raws = pipe.execute()
        found = {}
        for sid, raw in zip(sids, raws, strict=True):
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = None
            if isinstance(data, dict):
                found[sid] = data
        return found

    def remove(self, sid: str, *, sub: str | None, idp_sid: str | None):
        """Unindex a session that its own browser ended (it deleted the session's keys itself)."""
        self.remove_all([sid], sub=sub, idp_sid=idp_sid)

    def remove_all(self, sids: list[str], *, sub: str | None, idp_sid: str | None):
        """Unindex these sessions from the person's and the Navexa sign-in's indexes."""
        keys = self._keys(sub, idp_sid)
        if not sids or not keys:
            return
        with self.redis.pipeline(transaction=False) as pipe:  # one key a command: each index is its own slot
            for key in keys:
                pipe.zrem(key, *sids)
            pipe.execute()

    def end(self, sid: str) -> bool:
        """End one session from anywhere (end_all); True if it existed."""
        return bool(self.end_all([sid]))

    def end_all(self, sids: list[str]) -> list[str]:
        """End these sessions from anywhere: delete every key they have, unindex them and release their
        browsers' claims (each browser's next request is signed out), then revoke their refresh tokens all at
        once, waiting up to REVOKE_WAIT: a slow provider delays the answer by that at most, however many
        sessions end, and the rest of the revocations finish behind it. The ids that existed."""
        ended, refresh_tokens = [], []
        records = self.records(sids)
        for sid in sids:
            record = records.get(sid, {})
            user = record.get(RECORD_USER) if isinstance(record.get(RECORD_USER), dict) else {}
            refresh_token = self.tokens.revocable_refresh_token(sid)  # read before its keys go
            if self.redis.delete(*(session_scoped(prefix, sid) for prefix in SESSION_KEYS)):
                ended.append(sid)
            if refresh_token:
                refresh_tokens.append(refresh_token)
            self.remove(sid, sub=user.get("sub"), idp_sid=record.get(RECORD_IDP_SID))
            if isinstance(record.get(RECORD_CLAIM), str):
                self.pending.release_browser(record[RECORD_CLAIM], sid)
        # Best effort: the provider may be slow or down; the sessions have ended all the same.
        wait([self._revokers.submit(self.revoke, token) for token in refresh_tokens], timeout=REVOKE_WAIT)
        return ended

    def end_matching(self, *, sub: str | None = None, idp_sid: str | None = None) -> list[str]:
        """End every session of a Navexa sign-in (idp_sid), or of a person (sub), or only those with both
        when both are given (back-channel logout's rule); the ids ended."""
        if idp_sid is not None:
            candidates = self.of_idp_session(idp_sid)
            if sub is not None:
                candidates = [sid for sid in candidates if sid in set(self.of_person(sub))]
        elif sub is not None:
            candidates = self.of_person(sub)
        else:
            return []
        ended = self.end_all(candidates)
        self.remove_all(candidates, sub=sub, idp_sid=idp_sid)  # whatever the records said, these indexes forget them
        return ended

    @staticmethod
    def _keys(sub: str | None, idp_sid: str | None) -> list[str]:
        return ([person_key(sub)] if sub else []) + ([idp_session_key(idp_sid)] if idp_sid else [])
