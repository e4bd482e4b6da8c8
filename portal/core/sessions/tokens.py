"""Token records: sealed, one per signed-in session, refreshed once however many workers race.

The record lives in its own Redis key, never in the Flask session: a session written back at
the end of a request (last writer wins) would let a slow request put back a refresh token the
provider has already rotated. Only sign-in and refresh write
the record, and refresh only under the session's lock.

The record is sealed (core.storage.sealing) under the session's own key, which lives only in the
person's cookie, never in Redis: a Redis dump, even with the server's config, reveals no
token. The session id is in the associated data, so a record cannot be moved to another session.
The record ends when the session does: sign-in writes it with the session's absolute end, and a
refresh keeps that end; a refresh that finishes after sign-out deleted the record writes nothing and
revokes the refresh token it was given (with a provider that revokes only the token it is shown, the
rotated one would otherwise stay live).

How a request gets its access token (`TokenStore.access_token`):
- beyond the leeway: used as it is;
- inside the leeway but still valid: used as it is, while one request per session starts a
  refresh in the background (no request waits for a token it doesn't need yet); each session's
  leeway is stretched by its own share of REFRESH_SPREAD (from its id), so sessions whose tokens
  expire together refresh ahead at different moments, not all at once;
- expired, or just refused by the API: the request waits for the refresh, within one deadline;
  only MAX_WAITERS_PER_SESSION requests of a session may wait out a slow refresh in a worker
  (the rest give up after SHORT_WAIT), so one session's burst can't take every thread from everyone else;
- a failed refresh is remembered for REFRESH_BACKOFF (on the app's clock, or less when the provider's pause
  ends sooner): until then nobody asks the provider again, and waiters get the failure at once.

How a refresh can fail (the refresher, core.oauth.provider.refresher, raises these; web.problems answers them):

    TokenError                 the session's tokens could not be used
    ├── SessionEnded           the session cannot go on (no record, a record the key can't open,
    │                          invalid_grant / invalid_client)
    └── RefreshUnavailable     the provider could not be asked now; the session is kept
        ├── RefreshBusy        too many of this session's requests already wait for the refresh
        ├── RefreshTimedOut    the token endpoint (or another worker's refresh) took too long
        ├── RefreshRateLimited the token endpoint said 429, or the portal's own rate for it is used up
        │                      (`retry_after`); refreshes pause tenant-wide (core.storage.gate)
        └── RefreshRefused     the provider answered with another OAuth error (`error` is its code)

No Flask here: the refresher is a function handed in by the caller.
"""

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import redis

from ..oauth.refresh_failures import RefreshBusy, RefreshRateLimited, RefreshTimedOut, RefreshUnavailable, SessionEnded, TokenError
from ..observability import tracing
from ..observability.metrics import REFRESHES
from ..storage import sealing
from ..storage.keyspace import REFRESH_FAILED, REFRESH_LOCK, TOKENS, session_scoped
from ..storage.leased_lock import LeasedLock
from .revocation import RevocationCopies

log = logging.getLogger(__name__)

REFRESH_LEEWAY = 60  # s before expiry: refresh early so a token never expires mid-request…
LEEWAY_SHARE = 0.25  # …but never more than this share of its life (a 60 s token is refreshed at 45 s, not at once)
VALID_MARGIN = 5  # s: a token with less left than this counts as expired (it could lapse in flight)
LOCK_LEASE = 10.0  # s: renewed every third of it while a refresh is in flight, so a slow
#                    token endpoint never lets a second refresh start; a dead worker's lock lapses
WAIT_DEADLINE = 35.0  # s a request may wait for a refresh in all: longer than the provider's refresh timeout
LOCK_POLL = 0.02  # s between looks at the record while another worker refreshes
REFRESH_BACKOFF = 5.0  # s a failed refresh is remembered: waiters get its answer, nobody retries meanwhile
MAX_WAITERS_PER_SESSION = 4  # requests of one session that may wait out a slow refresh in one worker process;
SHORT_WAIT = 1.0  # s the others wait (enough for a normal refresh) before answering "busy", freeing their thread
RECORD_VERSION = 1
REFRESH_SPREAD = 1.0  # each session's leeway is stretched by up to this share of itself (0 to 1×, by session id)


@dataclass(frozen=True)
class TokenRecord:
    access_token: str
    refresh_token: str | None
    id_token: str | None
    scope: str | None
    expires_at: float
    lifetime: float | None = None  # s the access token was issued for (records before it have none)

    @classmethod
    def from_response(cls, token: dict, now: float, previous: "TokenRecord | None" = None) -> "TokenRecord":
        """Build a record from a token endpoint answer; keep the old refresh token if no new one came."""
        return cls(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or (previous.refresh_token if previous else None),
            id_token=token.get("id_token") or (previous.id_token if previous else None),
            scope=token.get("scope") or (previous.scope if previous else None),
            expires_at=now + float(token.get("expires_in") or 0),
            lifetime=float(token.get("expires_in") or 0) or None,
        )

    def leeway(self, most: float) -> float:
        """How long before expiry to refresh: `most`, or a quarter of a short token's life."""
        return min(most, LEEWAY_SHARE * self.lifetime) if self.lifetime else most

    def fresh(self, now: float, most_leeway: float, stretch: float = 0.0) -> bool:
        """Whether no refresh is due yet: more than the leeway (times 1 + stretch) left."""
        return self.expires_at - now > max(self.leeway(most_leeway) * (1 + stretch), VALID_MARGIN)

    def valid(self, now: float) -> bool:
        return self.expires_at - now > VALID_MARGIN


class TokenStore:
    """Sealed token records in Redis, with at most one refresh in flight per session."""

    def __init__(self, redis_client: redis.Redis, refresher: Callable[[str], dict], *,
                 clock: Callable[[], float] = time.time, leeway: float = REFRESH_LEEWAY,
                 lock_lease: float = LOCK_LEASE, wait_deadline: float = WAIT_DEADLINE,
                 backoff: float = REFRESH_BACKOFF, max_waiters: int = MAX_WAITERS_PER_SESSION,
                 revoke: Callable[[str], object] = lambda refresh_token: None,
                 revocation: RevocationCopies | None = None):
        self.redis = redis_client
        self.revocation = revocation  # each refresh token's copy for ending the session from elsewhere (None: none kept)
        self.refresher = refresher
        self.revoke = revoke  # best effort: a rotated refresh token that no session will ever use is revoked
        self.clock = clock
        self.leeway = leeway
        self.lock_lease = lock_lease
        self.wait_deadline = wait_deadline
        self.backoff = backoff
        self.max_waiters = max_waiters
        self._waiters: dict[str, int] = {}
        self._waiters_lock = threading.Lock()

    # -- the record --------------------------------------------------------------------

    def start(self, sid: str, key: bytes, record: TokenRecord, ends_at: float):
        """Store a new session's first record (and its refresh token's revocation copy), to end with the
        session at ends_at (epoch seconds)."""
        with self.redis.pipeline(transaction=False) as pipe:  # one hash slot: the session's
            pipe.set(self.key_of(sid), self._sealed(sid, key, record), exat=int(ends_at))
            if self.revocation and record.refresh_token:
                pipe.set(self.revocation.key_of(sid), self.revocation.sealed(sid, record.refresh_token), exat=int(ends_at))
            pipe.execute()

    def save(self, sid: str, key: bytes, record: TokenRecord) -> bool:
        """Replace the session's record, keeping its end; False (nothing written) if the session's
        record is gone: a refresh that finishes after sign-out never brings it back."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.key_of(sid), self._sealed(sid, key, record), xx=True, keepttl=True)
            if self.revocation and record.refresh_token:
                pipe.set(self.revocation.key_of(sid), self.revocation.sealed(sid, record.refresh_token), xx=True,
                         keepttl=True)
            return bool(pipe.execute()[0])

    def adopt(self, sid: str, key: bytes, ends_at: float):
        """Give a session from before revocation copies (the previous release's) its copy, ending with it."""
        if not self.revocation:
            return
        record = self.load(sid, key)
        if record.refresh_token:
            self.revocation.adopt(sid, record.refresh_token, ends_at)

    def _sealed(self, sid: str, key: bytes, record: TokenRecord) -> bytes:
        return sealing.seal(key, {"v": RECORD_VERSION, **asdict(record)}, self._aad(sid))

    def load(self, sid: str, key: bytes) -> TokenRecord:
        """Open the session's record; SessionEnded if there is none or the key does not open it."""
        return self.unseal(sid, key, self.redis.get(self.key_of(sid)))

    def usable_token(self, sid: str, key: bytes, sealed: bytes | None) -> str | None:
        """The access token of a sealed record read from Redis if it can be used as it is (no refresh
        due); None for anything else: no record, one the key doesn't open, a token to refresh."""
        try:
            record = self.unseal(sid, key, sealed)
        except SessionEnded:
            return None
        return record.access_token if record.fresh(self.clock(), self.leeway, self.stretch(sid)) else None

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # a session's share never changes: worked out once a process while in use
    def stretch(sid: str) -> float:
        """This session's own share of REFRESH_SPREAD, 0 to REFRESH_SPREAD, the same in every process."""
        return REFRESH_SPREAD * int(hashlib.sha256(sid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    @staticmethod
    def key_of(sid: str) -> str:
        return session_scoped(TOKENS, sid)

    def unseal(self, sid: str, key: bytes, sealed: bytes | None) -> TokenRecord:
        """Open a sealed record read from Redis; SessionEnded if there is none or the key does not open it."""
        if sealed is None:
            raise SessionEnded("no token record")
        try:
            data = sealing.unseal(key, sealed, self._aad(sid))
        except sealing.Unopenable as error:
            raise SessionEnded("token record does not open with this key") from error
        if not isinstance(data, dict) or data.pop("v", None) != RECORD_VERSION:
            raise SessionEnded("token record of another version")
        try:
            return TokenRecord(**data)
        except TypeError as error:
            raise SessionEnded("token record of an unknown shape") from error

    @staticmethod
    def _aad(sid: str) -> bytes:
        return f"navexa-portal/tokens/v{RECORD_VERSION}/{sid}".encode()

    # -- access tokens -----------------------------------------------------------------

    def access_token(self, sid: str, key: bytes, *, reject: str | None = None, user: str = "-") -> str:
        """Return an access token for this request, refreshing as the module docstring says.

        `reject` is a token the API just refused: it is never returned, and a refresh replaces it
        unless another worker already has.
        """
        record = self.load(sid, key)
        now = self.clock()
        if record.access_token != reject and record.fresh(now, self.leeway, self.stretch(sid)):
            return record.access_token
        if record.access_token != reject and record.valid(now):
            self._refresh_ahead(sid, key, record, user)
            return record.access_token
        return self._wait_for_refresh(sid, key, reject, user)

    def _refresh_ahead(self, sid: str, key: bytes, record: TokenRecord, user: str):
        """Start a background refresh unless one is in flight or recently failed."""
        if self._recent_failure(sid) is not None:
            return
        lock = LeasedLock(self.redis, session_scoped(REFRESH_LOCK, sid), self.lock_lease)
        if not lock.acquire():
            return  # another request is refreshing this session

        def run():
            try:
                current = self.load(sid, key)
                if current.access_token == record.access_token:  # nobody refreshed since we looked
                    self._refresh(sid, key, current, user)
            except SessionEnded:
                self.redis.delete(self.key_of(sid))  # the session can't go on: its next request signs out
            except (TokenError, redis.RedisError) as error:
                log.info("background refresh did not complete user=%s outcome=%s", user, type(error).__name__)
            finally:
                lock.release()

        threading.Thread(target=run, daemon=True, name="token-refresh-ahead").start()

    def _wait_for_refresh(self, sid: str, key: bytes, reject: str | None, user: str) -> str:
        with self._waiting(sid) as patience, tracing.span("refresh"):
            lock = LeasedLock(self.redis, session_scoped(REFRESH_LOCK, sid), self.lock_lease)
            deadline = time.monotonic() + patience
            waiting = tracing.start("refresh.lock_wait")  # until this request holds the lock, or needs it no more
            try:
                while True:
                    self._raise_recent_failure(sid)
                    if lock.acquire():
                        waiting.end()
                        try:
                            record = self.load(sid, key)  # another worker may have refreshed before we got here
                            if record.access_token != reject and record.valid(self.clock()):
                                return record.access_token
                            return self._refresh(sid, key, record, user).access_token
                        finally:
                            lock.release()
                    time.sleep(LOCK_POLL)
                    record = self.load(sid, key)
                    if record.access_token != reject and record.valid(self.clock()):
                        waiting.end()
                        return record.access_token
                    if time.monotonic() > deadline:
                        if patience < self.wait_deadline:
                            raise RefreshBusy("this session's refresh is slow and others are waiting")
                        raise RefreshTimedOut("another refresh of this session is taking too long")
            finally:
                if waiting.is_recording():  # left the loop another way (a failure, the deadline)
                    waiting.end()

    @contextmanager
    def _waiting(self, sid: str):
        """How long this request may wait: the full deadline for max_waiters of a session, SHORT_WAIT beyond."""
        with self._waiters_lock:
            admitted = self._waiters.get(sid, 0) < self.max_waiters
            if admitted:
                self._waiters[sid] = self._waiters.get(sid, 0) + 1
        try:
            yield self.wait_deadline if admitted else min(SHORT_WAIT, self.wait_deadline)
        finally:
            if admitted:
                with self._waiters_lock:
                    self._waiters[sid] -= 1
                    if not self._waiters[sid]:
                        del self._waiters[sid]

    def _recent_failure(self, sid: str) -> RefreshUnavailable | None:
        """The session's last failed refresh, while its backoff lasts on the app's clock."""
        remembered = self.redis.get(session_scoped(REFRESH_FAILED, sid))
        if remembered is None:
            return None
        failure, now = RefreshUnavailable.recalled(remembered), self.clock()
        return None if failure.until is not None and now >= failure.until else failure.as_of(now)

    def _raise_recent_failure(self, sid: str):
        failure = self._recent_failure(sid)
        if failure is not None:
            raise failure

    def _refresh(self, sid: str, key: bytes, record: TokenRecord, user: str) -> TokenRecord:
        """Refresh now (the caller holds the lock); a failure that keeps the session is remembered."""
        # Checked under the lock: a failure is recorded before its lock is released, so a request that
        # looked just before it was recorded and then took the lock still gets it instead of asking again.
        self._raise_recent_failure(sid)
        if not record.refresh_token:
            log.info("refresh impossible user=%s outcome=no_refresh_token", user)
            raise SessionEnded("the access token expired and there is no refresh token")
        started = time.monotonic()
        try:
            with tracing.span("refresh.grant"):
                answer = self.refresher(record.refresh_token)
            if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
                log.warning("refresh failed user=%s outcome=no_access_token_in_answer", user)
                raise RefreshUnavailable("the token endpoint's answer had no access token")
        except RefreshUnavailable as error:
            REFRESHES.labels(error.outcome).inc()
            log.info("refresh failed user=%s outcome=%s refused=%s", user, error.outcome, getattr(error, "error", "-"))
            lasts = self.backoff
            if isinstance(error, RefreshRateLimited) and error.retry_after:
                lasts = min(lasts, error.retry_after)  # nobody is held past the pause's own end
            self.redis.set(session_scoped(REFRESH_FAILED, sid), error.remembered(at=self.clock(), lasts=lasts),
                           px=max(1, int(lasts * 1000)))
            raise
        except TokenError as error:
            REFRESHES.labels("session_ended").inc()
            log.info("refresh failed user=%s outcome=%s", user, type(error).__name__)
            raise
        REFRESHES.labels("ok").inc()
        refreshed = TokenRecord.from_response(answer, self.clock(), previous=record)
        if not self.save(sid, key, refreshed):
            if refreshed.refresh_token and refreshed.refresh_token != record.refresh_token:
                self.revoke(refreshed.refresh_token)  # nobody holds it now: it must not stay live at the provider
            log.info("refresh ok user=%s but the session ended meanwhile: nothing saved", user)
            raise SessionEnded("the session ended while its refresh was in flight")
        log.info("refresh ok user=%s in %.0f ms rotated=%s", user, 1000 * (time.monotonic() - started),
                 refreshed.refresh_token != record.refresh_token)
        return refreshed
