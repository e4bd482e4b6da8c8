"""Each session's refresh token, sealed under the server's key, so it can be revoked without the browser.

The token record (core.sessions.tokens) opens only with the key in the person's cookie. Ending a session from
elsewhere (back-channel logout, the sessions page, the operator command) has no cookie, so sign-in and each
refresh also keep a copy of the refresh token at `portal:revocable:{sid}`, sealed (core.storage.sealing) under
a key derived from SECRET_KEY with the session id as associated data, ending with the session. No Flask here.
"""

import logging

import redis

from ..observability.metrics import KEYRING_OPENS
from ..storage import sealing
from ..storage.keyspace import REVOCABLE, session_scoped

log = logging.getLogger(__name__)


PREFIX = b"k1."  # a copy's format version; then its key's id and a ".": "k1.<id>.<sealed>"


class RevocationCopies:
    """The sealed copies of sessions' refresh tokens (see the module docstring).

    Keys: a ring of (id, key), the first sealing and every one opening (SECRET_KEYS); each copy names the id of the
    key that sealed it, so a copy sealed under an older key still opens, and is sealed under the first when next
    written (each refresh writes it). A key whose id is `revoked` opens nothing (one log line). A copy from before
    the ring (no id) is tried under every key."""

    def __init__(self, redis_client: redis.Redis, *, keys, revoked=frozenset()):
        self.redis = redis_client
        self.keys = dict(keys)  # id → key, in the ring's order
        self.sealing_id = next(iter(self.keys))
        self.revoked = frozenset(revoked)

    @staticmethod
    def key_of(sid: str) -> str:
        return session_scoped(REVOCABLE, sid)

    def sealed(self, sid: str, refresh_token: str) -> bytes:
        """The copy to store for this session (the caller writes it in its own pipeline, with the token record),
        sealed under the ring's first key and naming it."""
        return PREFIX + self.sealing_id.encode() + b"." + sealing.seal(self.keys[self.sealing_id], refresh_token, self._aad(sid))

    def adopt(self, sid: str, refresh_token: str, ends_at: float):
        """Give a session from before revocation copies its copy, ending with it (kept if one is there)."""
        self.redis.set(self.key_of(sid), self.sealed(sid, refresh_token), nx=True, exat=int(ends_at))

    def opened(self, sid: str, sealed: bytes | None) -> str | None:
        """A copy read from Redis, opened; None if there is none, its key is revoked or unknown, or it does not open."""
        if not sealed:
            return None
        if sealed.startswith(PREFIX):
            key_id, _, body = sealed[len(PREFIX):].partition(b".")
            key_id = key_id.decode(errors="replace")
            if key_id in self.revoked or key_id not in self.keys:
                log.warning("a refresh token's revocation copy names key %s, which is %s: not opened", key_id,
                            "revoked" if key_id in self.revoked else "not in SECRET_KEYS")
                return None
            candidates = [(key_id, body)]
        else:  # sealed before the ring: under whichever key it was
            candidates = [(key_id, sealed) for key_id in self.keys if key_id not in self.revoked]
        for key_id, body in candidates:
            try:
                token = sealing.unseal(self.keys[key_id], body, self._aad(sid))
            except sealing.Unopenable:
                continue
            KEYRING_OPENS.labels(key_id, "revocation_copy").inc()
            return token if isinstance(token, str) else None
        log.warning("a refresh token's revocation copy did not open (SECRET_KEY changed?)")
        return None

    @staticmethod
    def _aad(sid: str) -> bytes:
        return f"navexa-portal/revocable/v1/{sid}".encode()
