"""Token records: sealed, one per signed-in session, refreshed once however many workers race.

The record lives in its own Redis key, never in the Flask session: Flask-Session writes the
whole session back at the end of every request (last writer wins), so a slow request would
put back a refresh token the provider has already rotated. Only sign-in and refresh write
the record, and refresh only under the session's lock.

The record is sealed with AES-GCM under a random per-session key that lives only in the
person's cookie, never in Redis: a Redis dump, even with the server's config, reveals no
token. The session id is the associated data, so a record cannot be moved to another session.

No Flask here: the refresher is a function handed in by the caller.
"""

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

TOKEN_KEY_PREFIX = "portal:tokens:"  # noqa: S105 - not a secret
LOCK_KEY_PREFIX = "portal:refresh-lock:"
REFRESH_LEEWAY = 60  # s before expiry: refresh early so a token never expires mid-request
LOCK_LEASE = 10.0  # s: renewed every third of it while a refresh is in flight, so a slow
#                    token endpoint never lets a second refresh start; a dead worker's lock lapses
LOCK_WAIT = 45.0  # s a request waits for another worker's refresh: longer than the provider timeout
LOCK_POLL = 0.02  # s between looks at the record while another worker refreshes
RECORD_VERSION = 1


class TokenError(Exception):
    """The session's tokens could not be used."""


class SessionEnded(TokenError):
    """The session cannot go on: no record, a record the key can't open, or a refused refresh."""


class RefreshUnavailable(TokenError):
    """The provider could not be asked right now; the session is kept."""

    def __init__(self, message: str, *, timeout: bool = False, refused: str | None = None):
        super().__init__(message)
        self.timeout = timeout
        self.refused = refused  # the provider's OAuth error code, when it answered with one


@dataclass(frozen=True)
class TokenRecord:
    access_token: str
    refresh_token: str | None
    id_token: str | None
    scope: str | None
    expires_at: float

    @classmethod
    def from_response(cls, token: dict, now: float, previous: "TokenRecord | None" = None) -> "TokenRecord":
        """Build a record from a token endpoint answer; keep the old refresh token if no new one came."""
        return cls(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or (previous.refresh_token if previous else None),
            id_token=token.get("id_token") or (previous.id_token if previous else None),
            scope=token.get("scope") or (previous.scope if previous else None),
            expires_at=now + float(token.get("expires_in") or 0),
        )

    def fresh(self, now: float, leeway: float) -> bool:
        return self.expires_at - now > leeway


def new_key() -> bytes:
    """A random per-session sealing key (256-bit)."""
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def decode_key(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    return key if len(key) == 32 else None


class TokenStore:
    """Sealed token records in Redis, with at most one refresh in flight per session."""

    def __init__(self, redis_client: redis.Redis, lifetime: int, refresher: Callable[[str], dict], *,
                 clock: Callable[[], float] = time.time, leeway: float = REFRESH_LEEWAY,
                 lock_lease: float = LOCK_LEASE, lock_wait: float = LOCK_WAIT):
        self.redis = redis_client
        self.lifetime = lifetime
        self.refresher = refresher
        self.clock = clock
        self.leeway = leeway
        self.lock_lease = lock_lease
        self.lock_wait = lock_wait

    # -- the record --------------------------------------------------------------------

    def save(self, sid: str, key: bytes, record: TokenRecord):
        """Seal and store the record, keeping the session's remaining lifetime."""
        nonce = os.urandom(12)
        plain = json.dumps({"v": RECORD_VERSION, **asdict(record)}).encode()
        sealed = nonce + AESGCM(key).encrypt(nonce, plain, self._aad(sid))
        ttl = self.redis.ttl(TOKEN_KEY_PREFIX + sid)
        self.redis.set(TOKEN_KEY_PREFIX + sid, sealed, ex=ttl if ttl and ttl > 0 else self.lifetime)

    def load(self, sid: str, key: bytes) -> TokenRecord:
        """Open the session's record; SessionEnded if there is none or the key does not open it."""
        sealed = self.redis.get(TOKEN_KEY_PREFIX + sid)
        if sealed is None:
            raise SessionEnded("no token record")
        try:
            data = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], self._aad(sid)))
        except (InvalidTag, ValueError) as error:
            raise SessionEnded("token record does not open with this key") from error
        if data.pop("v", None) != RECORD_VERSION:
            raise SessionEnded("token record of another version")
        return TokenRecord(**data)

    def delete(self, sid: str):
        self.redis.delete(TOKEN_KEY_PREFIX + sid, LOCK_KEY_PREFIX + sid)

    @staticmethod
    def _aad(sid: str) -> bytes:
        return f"navexa-portal/tokens/v{RECORD_VERSION}/{sid}".encode()

    # -- access tokens -----------------------------------------------------------------

    def access_token(self, sid: str, key: bytes, *, reject: str | None = None, user: str = "-") -> str:
        """Return an access token valid beyond the leeway, refreshing it first if needed.

        `reject` is a token the API just refused: it is refreshed even if it looks fresh,
        unless another worker has already replaced it. While another worker refreshes, this
        one watches the record and takes the result, rather than queueing to refresh itself.
        """
        record = self.load(sid, key)
        if self._usable(record, reject):
            return record.access_token
        lock = LeasedLock(self.redis, LOCK_KEY_PREFIX + sid, self.lock_lease)
        deadline = time.monotonic() + self.lock_wait
        while True:
            if lock.acquire():
                try:
                    record = self.load(sid, key)  # another worker may have refreshed before we got here
                    if self._usable(record, reject):
                        return record.access_token
                    return self._refresh(sid, key, record, user).access_token
                finally:
                    lock.release()
            time.sleep(LOCK_POLL)
            record = self.load(sid, key)
            if self._usable(record, reject):
                return record.access_token
            if time.monotonic() > deadline:
                raise RefreshUnavailable("another refresh of this session is taking too long", timeout=True)

    def _usable(self, record: TokenRecord, reject: str | None) -> bool:
        return record.access_token != reject and record.fresh(self.clock(), self.leeway)

    def _refresh(self, sid: str, key: bytes, record: TokenRecord, user: str) -> TokenRecord:
        if not record.refresh_token:
            log.info("refresh impossible user=%s outcome=no_refresh_token", user)
            raise SessionEnded("the access token expired and there is no refresh token")
        started = time.monotonic()
        try:
            answer = self.refresher(record.refresh_token)
        except TokenError as error:
            log.info("refresh failed user=%s outcome=%s", user, type(error).__name__)
            raise
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            log.warning("refresh failed user=%s outcome=no_access_token_in_answer", user)
            raise RefreshUnavailable("the token endpoint's answer had no access token")
        refreshed = TokenRecord.from_response(answer, self.clock(), previous=record)
        self.save(sid, key, refreshed)
        log.info("refresh ok user=%s in %.0f ms rotated=%s", user, 1000 * (time.monotonic() - started),
                 refreshed.refresh_token != record.refresh_token)
        return refreshed


class LeasedLock:
    """A Redis lock whose lease is renewed by a watchdog thread for as long as it is held."""

    def __init__(self, redis_client: redis.Redis, name: str, lease: float):
        self.lock = redis_client.lock(name, timeout=lease, thread_local=False)
        self.lease = lease
        self._done = threading.Event()
        self._watchdog = None

    def acquire(self) -> bool:
        """Take the lock if it is free (never blocks); start renewing its lease."""
        if not self.lock.acquire(blocking=False):
            return False
        self._done.clear()
        self._watchdog = threading.Thread(target=self._renew, daemon=True, name="token-lock-watchdog")
        self._watchdog.start()
        return True

    def _renew(self):
        while not self._done.wait(self.lease / 3):
            try:
                self.lock.reacquire()
            except redis.exceptions.LockError:
                log.warning("refresh lock lost before the refresh finished")
                return
            except redis.RedisError:
                log.warning("could not renew the refresh lock")

    def release(self):
        self._done.set()
        self._watchdog.join()
        try:
            self.lock.release()
        except redis.exceptions.LockError:
            pass  # the lease lapsed (Redis unreachable for a while): nothing left to release
