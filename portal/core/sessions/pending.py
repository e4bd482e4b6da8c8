"""Pending logins: what /login must remember until /callback, each in its own short-lived Redis key.

A pending login is keyed by its state, bound to the browser that started it (the hash of a
short-lived binding cookie is stored with it), and taken with an atomic compare-and-delete:
a doubled or replayed callback finds nothing, and another browser presenting the state neither
uses nor spends it. Nothing here outlives PENDING_LOGIN_TTL. No Flask here.

The same binding also names the browser's latest completed sign-in (`claim_browser`), so two
tabs finishing sign-in at once cannot leave one session orphaned; a session ended from elsewhere
releases that claim (`release_browser`), so the browser's next sign-in is not mistaken for a race lost.
"""

import hashlib
import json
from dataclasses import asdict, dataclass

import redis

from ..storage.keyspace import BROWSER, PENDING

PENDING_LOGIN_TTL = 600  # s: long enough to sign in at the provider, short enough to be useless if leaked
MAX_NEXT_LENGTH = 1024  # characters of `next` kept; a longer one is dropped, so a visitor can't make us store much

# Store a pending login and its expiry in one step: no key is ever left without a TTL.
_PUT = """
redis.call('HSET', KEYS[1], 'browser', ARGV[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""
# Take the pending login only if this browser started it: compare and delete in one step.
_TAKE = """
if redis.call('HGET', KEYS[1], 'browser') == ARGV[1] then
  local data = redis.call('HGET', KEYS[1], 'data')
  redis.call('DEL', KEYS[1])
  return data
end
return false
"""
# Record this browser's new session unless another tab completed one since this request began.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return false
"""
# Forget the browser's latest session only if it is still this one.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""


def binding_hash(binding: str) -> str:
    """What Redis keeps of a browser-binding cookie: never the cookie itself."""
    return hashlib.sha256(binding.encode()).hexdigest()


@dataclass(frozen=True)
class PendingLogin:
    code_verifier: str
    nonce: str
    redirect_uri: str
    next: str | None


class PendingLogins:
    """Pending logins and the browser's latest sign-in, in Redis."""

    def __init__(self, client: redis.Redis, ttl: int = PENDING_LOGIN_TTL):
        self.client = client
        self.ttl = ttl
        self._put = client.register_script(_PUT)
        self._take = client.register_script(_TAKE)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)

    def put(self, state: str, binding: str, pending: PendingLogin):
        self._put(keys=[PENDING + state],
                  args=[binding_hash(binding), json.dumps(asdict(pending)), self.ttl])

    def take(self, state: str, binding: str | None) -> PendingLogin | None:
        """Remove and return the pending login for state, if this browser started it and it has not expired."""
        if not binding:
            return None
        data = self._take(keys=[PENDING + state], args=[binding_hash(binding)])
        if data is None:
            return None
        try:
            return PendingLogin(**json.loads(data))
        except (ValueError, TypeError):
            return None

    def claim_browser(self, binding: str, presented_sid: str | None, new_sid: str) -> str | None:
        """Make new_sid this browser's session; None on success, else the session another tab just started."""
        current = self._claim(keys=[BROWSER + binding_hash(binding)],
                              args=[presented_sid or "", new_sid, self.ttl])
        return current.decode() if isinstance(current, bytes) else current

    def release_browser(self, claim: str, sid: str):
        """A session ended elsewhere: its browser (named by the claim, binding_hash of its cookie) has none."""
        self._release(keys=[BROWSER + claim], args=[sid])

    def move_claim(self, claim: str, old: str, new: str):
        """The browser's latest session is now called `new` (moved from `old`): its claim follows, if it is still it."""
        key = BROWSER + claim
        if self.client.get(key) == old.encode():
            self.client.set(key, new, keepttl=True)

    def forget_browser(self, binding: str | None):
        if binding:
            self.client.delete(BROWSER + binding_hash(binding))
