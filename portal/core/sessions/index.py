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

Ending a session (`end`, the one way every part of the portal ends one) takes its record and its refresh
token's revocation copy (core.sessions.revocation) and deletes every key it has (core.storage.keyspace.SESSION_KEYS)
in one step: its browser's next request is signed out, on every worker, the fast path included; then the refresh
token is revoked, from that copy, since the browser's key is not at hand.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait

import redis

from ..storage.keyspace import IDP_ENDED, IDP_SESSION, PAUSED, PERSON, SESSION, SESSION_KEYS, session_scoped
from .pending import PendingLogins
from .record import SessionRecord
from .revocation import RevocationCopies

log = logging.getLogger(__name__)

REVOKE_WAIT = 5.0  # s an ending waits for its refresh tokens' revocations (they go on behind it if slower)
REVOKERS = 8  # revocations at once per process

# KEYS: every key of one session (one slot), its record first and its revocation copy second. Read both and
# delete them all in one step, so a refresh that lands meanwhile either is read here or finds its record gone
# (and revokes its own new token: core.sessions.tokens). {record, copy, keys deleted}.
_TAKE = """
local record = redis.call('GET', KEYS[1])
local copy = redis.call('GET', KEYS[2])
return {record, copy, redis.call('DEL', unpack(KEYS))}
"""

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

    def __init__(self, redis_client: redis.Redis, revocation: RevocationCopies | None, pending: PendingLogins, *,
                 revoke: Callable[[str], object], clock: Callable[[], float],
                 pause_of: Callable[[str], float] | None = None):
        self.redis = redis_client
        self.pause_of = pause_of  # seconds left of a person's Navexa pause (core.storage.gate), or None
        self.revocation = revocation
        self.pending = pending
        self._revokers = ThreadPoolExecutor(REVOKERS, thread_name_prefix="revoke")
        self.revoke = revoke
        self.clock = clock
        self._add = redis_client.register_script(_ADD)
        self._take = redis_client.register_script(_TAKE)

    def add(self, sid: str, *, sub: str | None, idp_sid: str | None, ends_at: float):
        """Index a new session under its person and its Navexa sign-in (whichever it has)."""
        for key in self._keys(sub, idp_sid):
            self._add(keys=[key], args=[int(ends_at), sid, int(self.clock())])
        if sub:
            self.carry_pause(sub, [sid])  # signed in while the person's calls are paused: paused too

    def carry_pause(self, sub: str, sids: list[str] | None = None):
        """Keep the person's Navexa pause in each of their sessions' slots (these, or all their live ones), where the
        /api/ fast path reads it in the same MGET as the session: after a 429, and for a session that starts or moves
        while it lasts. A session not yet indexed when a pause is carried finds it on its first call's 429 again."""
        left = self.pause_of(sub) if self.pause_of is not None else 0.0
        if left <= 0:
            return
        sids = self.of_person(sub) if sids is None else sids
        until = repr(self.clock() + left)
        with self.redis.pipeline(transaction=False) as pipe:  # one SET a session, each in its own slot
            for sid in sids:
                pipe.set(session_scoped(PAUSED, sid), until, px=int(left * 1000) + 1000)
            pipe.execute()

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

    def records(self, sids: Iterable[str]) -> dict[str, dict]:
        """The stored session JSON of each of these sessions that still exists."""
        sids = list(sids)
        if not sids:
            return {}
        with self.redis.pipeline(transaction=False) as pipe:  # one GET per session, each in its own slot
            for sid in sids:
                pipe.get(session_scoped(SESSION, sid))
            raws = pipe.execute()
        return {sid: data for sid, data in ((sid, _json(raw)) for sid, raw in zip(sids, raws, strict=True))
                if isinstance(data, dict)}

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

    def end(self, sids: Iterable[str], *, revoke: bool = True, refresh_tokens: Iterable[str] = (),
            in_hand: dict[str, dict] | None = None) -> list[str]:
        """End these sessions from anywhere: the one way a session ends (sign-out, the sessions page, back-channel
        logout, the operator command, the /api/ fast path's hand-over). For each, read its record and revocation
        copy and delete every key it has in one step (keyspace.SESSION_KEYS), unindex it and release its browser's
        claim: its browser's next request is signed out, on every worker. Then, if `revoke`, revoke the refresh
        tokens read on the way (and `refresh_tokens`, ones the caller holds) all at once, waiting up to REVOKE_WAIT:
        a slow provider delays the answer by that at most, and the rest finish behind it. `in_hand`: records the
        caller holds, for a session not stored yet (started in the same request). The ids that existed."""
        ended, to_revoke = [], list(refresh_tokens)
        for sid in sids:
            raw, copy, deleted = self._take(keys=[session_scoped(prefix, sid) for prefix in SESSION_KEYS])
            if deleted:
                ended.append(sid)
            record = SessionRecord.of(_json(raw) or (in_hand or {}).get(sid))
            if revoke and self.revocation is not None:
                to_revoke.append(self.revocation.opened(sid, copy))
            self.remove(sid, sub=record.sub, idp_sid=record.idp_sid)
            if record.claim:
                self.pending.release_browser(record.claim, sid)
        # Best effort: the provider may be slow or down; the sessions have ended all the same.
        unique = [token for token in dict.fromkeys(to_revoke) if token]
        wait([self._revokers.submit(self.revoke, token) for token in unique], timeout=REVOKE_WAIT)
        return ended

    def move(self, old: str, new: str, record: dict):
        """A session the release before stored under its cookie's id (`old`), its tokens already stored under its
        stored id (`new`, by the caller, who has the key that opens them): move its record there, keeping its time
        to live, with its index entries and browser claim; drop every other key of the old id (answers, claims,
        locks and remembered failures are made again as needed). Keys in two slots: one command at a time."""
        source, target = session_scoped(SESSION, old), session_scoped(SESSION, new)
        dumped, ttl = self.redis.dump(source), self.redis.pttl(source)
        if dumped is not None:
            self.redis.restore(target, max(ttl, 1), dumped, replace=True)  # DUMP and RESTORE: nothing unpickled
        for prefix in SESSION_KEYS:
            self.redis.delete(session_scoped(prefix, old))
        held = SessionRecord.of(record)
        for key in self._keys(held.sub, held.idp_sid):
            score = self.redis.zscore(key, old)
            if score is not None:
                self._add(keys=[key], args=[int(score), new, int(self.clock())])
                self.redis.zrem(key, old)
        if held.claim:
            self.pending.move_claim(held.claim, old, new)
        if held.sub:
            self.carry_pause(held.sub, [new])
        log.info("moved a session of the release before to its stored id")

    def remember_ended(self, idp_sid: str, until: float):
        """A logout token ended this Navexa sign-in: remember it until the token could no longer pass, so a portal
        session whose sign-in was still under way when the token came is ended as it starts (was_ended)."""
        self.redis.set(session_scoped(IDP_ENDED, _hashed(idp_sid)), b"1", exat=max(int(until), int(self.clock()) + 1))

    def was_ended(self, idp_sid: str) -> bool:
        return bool(self.redis.exists(session_scoped(IDP_ENDED, _hashed(idp_sid))))

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
        ended = self.end(candidates)
        self.remove_all(candidates, sub=sub, idp_sid=idp_sid)  # whatever the records said, these indexes forget them
        return ended

    @staticmethod
    def _keys(sub: str | None, idp_sid: str | None) -> list[str]:
        return ([person_key(sub)] if sub else []) + ([idp_session_key(idp_sid)] if idp_sid else [])


def _json(raw: bytes | None):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
