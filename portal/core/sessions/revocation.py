"""Each session's refresh token, sealed under the server's key, so it can be revoked without the browser.

The token record (core.sessions.tokens) opens only with the key in the person's cookie. Ending a session from
elsewhere (back-channel logout, the sessions page, the operator command) has no cookie, so sign-in and each
refresh also keep a copy of the refresh token at `portal:revocable:{sid}`, sealed (core.storage.sealing) under
a key derived from SECRET_KEY with the session id as associated data, ending with the session. No Flask here.
"""

import logging

import redis

from ..storage import sealing
from ..storage.keyspace import REVOCABLE, session_scoped

log = logging.getLogger(__name__)


class RevocationCopies:
    """The sealed copies of sessions' refresh tokens (see the module docstring)."""

    def __init__(self, redis_client: redis.Redis, key: bytes):
        self.redis = redis_client
        self.key = key

    @staticmethod
    def key_of(sid: str) -> str:
        return session_scoped(REVOCABLE, sid)

    def sealed(self, sid: str, refresh_token: str) -> bytes:
        """The copy to store for this session (the caller writes it in its own pipeline, with the token record)."""
        return sealing.seal(self.key, refresh_token, self._aad(sid))

    def adopt(self, sid: str, refresh_token: str, ends_at: float):
        """Give a session from before revocation copies its copy, ending with it (kept if one is there)."""
        self.redis.set(self.key_of(sid), self.sealed(sid, refresh_token), nx=True, exat=int(ends_at))

    def opened(self, sid: str, sealed: bytes | None) -> str | None:
        """A copy read from Redis, opened; None if there is none or it does not open."""
        try:
            token = sealing.unseal(self.key, sealed, self._aad(sid)) if sealed else None
        except sealing.Unopenable:
            log.warning("a refresh token's revocation copy did not open (SECRET_KEY changed?)")
            return None
        return token if isinstance(token, str) else None

    @staticmethod
    def _aad(sid: str) -> bytes:
        return f"navexa-portal/revocable/v1/{sid}".encode()
