"""In-memory state of the sandbox: issued codes and tokens, knobs and counters.

Everything lives in one process behind one lock, so the sandbox can be strict
about races (a refresh token is rotated atomically) exactly as Auth0 is.
"""

import copy
import secrets
import threading
import time
from dataclasses import dataclass, field

DEFAULT_KNOBS = {
    "access_token_ttl": 86400,  # s, Navexa's documented expires_in
    "authorization_code_ttl": 60,  # s, Auth0's code lifetime
    "refresh_reuse_interval": 0,  # s, Auth0's "reuse interval" for rotated tokens
    "api_latency_ms": 0,
    "token_latency_ms": 0,
    "api_error": None,  # {"status": 429|500|503|401, "count": n, "retry_after": s, "match": "part of path?query"}
    "token_error": None,  # {"status": 429|500|502|503, "count": n, "match": "/oauth/revoke"}: token and revocation
    # endpoints fail (only the one whose path holds `match`, when given)
    "opaque_access_tokens": False,  # random strings instead of JWTs, as some certified providers issue
    "refuse_refresh_scope": False,  # a refresh grant carrying `scope` gets invalid_scope, as some providers answer
    "gzip_responses": False,  # gzip JSON answers for clients that accept it, as real APIs behind a CDN do
    "backchannel_logout_uri": None,  # where logout tokens go (the client's back-channel logout URI), if anywhere
    # {"per_second": n, "retry_after": s}: each person's API calls beyond n in any second answer 429, as a
    # rate-limited API does; None: no limit.
    "api_rate_limit": None,
    # Revoke only the refresh token shown (as some providers do), not its whole family (as Auth0 does).
    "revoke_only_the_token_shown": False,
    # Which API path family answers: "documented" ({base}/portfolios, Navexa's developer documentation), "v1"
    # ({base}/v1/portfolios, older public clients) or "both".
    "api_paths": "documented",
}


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    user: str
    redirect_uri: str
    scope: str
    audience: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    family: str
    sid: str | None = None  # the sign-in session it came from
    issued_at: float = field(default_factory=time.time)
    auth_time: int = field(default_factory=lambda: int(time.time()))
    used: bool = False

    # Authlib's AuthorizationCodeMixin
    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


@dataclass
class RefreshToken:
    token: str
    client_id: str
    user: str
    scope: str
    audience: str | None
    family: str
    rotated_at: float | None = None
    revoked: bool = False  # this token alone (revoke_only_the_token_shown)

    # Authlib's TokenMixin
    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_client_id(self):
        return self.client_id


class SandboxState:
    """The sandbox's whole mutable world, guarded by one lock."""

    def __init__(self, knob_defaults: dict | None = None):
        self.lock = threading.RLock()
        self.knob_defaults = {**DEFAULT_KNOBS, **(knob_defaults or {})}  # what reset() goes back to
        self.reset()

    def reset(self):
        with self.lock:
            self.knobs = copy.deepcopy(self.knob_defaults)
            self.codes: dict[str, AuthorizationCode] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.revoked_families: set[str] = set()
            self.used_nonces: set[str] = set()
            self.opaque_tokens: dict[str, dict] = {}  # opaque access token → its claims
            self.idp_sessions: dict[str, str] = {}  # sign-in session id (the ID token's sid) → user
            self.backchannel_log: list[dict] = []  # each logout token sent: initiator and the client's answer
            self.client_keys: dict | None = None  # the client's public JWKS, for private_key_jwt
            self.assertion_ids: set[str] = set()  # client assertion jtis already used
            self.api_log: list[dict] = []
            self.token_log: list[dict] = []
            self.stats = {
                "token_requests": {"authorization_code": 0, "refresh_token": 0},
                "refresh_reuse_detected": 0,
                "revocations": 0,
                "api_requests": 0,
                "logouts": 0,
                "client_assertions_refused": 0,
                "api_rate_limited": 0,
                "token_rate_limited": 0,
                "jwks_requests": 0,
            }
            self.api_calls_by_user: dict[str, list[float]] = {}  # each person's recent call times

    def configure(self, changes: dict) -> dict:
        with self.lock:
            self.knobs.update(changes)
            return copy.deepcopy(self.knobs)

    def knob(self, name):
        with self.lock:
            return self.knobs[name]

    def count(self, *path):
        with self.lock:
            node = self.stats
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] += 1

    def snapshot_stats(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.stats)

    def take_forced_error(self, knob: str, target: str = "") -> dict | None:
        """Consume one of the errors forced by a knob (api_error, token_error), if any are left and the
        request's path and query (target) contain the knob's `match`, when it has one."""
        with self.lock:
            forced = self.knobs.get(knob)
            if not forced or forced.get("count", 0) <= 0 or forced.get("match", "") not in target:
                return None
            forced["count"] -= 1
            return dict(forced)

    def log_api_request(self, entry: dict):
        with self.lock:
            self.stats["api_requests"] += 1
            self.api_log.append({**entry, "at": time.time()})
            del self.api_log[:-2000]

    def log_token_request(self, entry: dict):
        with self.lock:
            self.token_log.append({**entry, "at": time.time()})
            del self.token_log[:-5000]

    def over_rate(self, user: str) -> bool:
        """Whether this call of the person's goes over the api_rate_limit knob (and is counted as refused)."""
        with self.lock:
            limit = self.knobs.get("api_rate_limit")
            if not limit:
                return False
            now = time.time()
            recent = [t for t in self.api_calls_by_user.get(user, []) if now - t < 1.0]
            if len(recent) >= limit["per_second"]:
                self.stats["api_rate_limited"] += 1
                self.api_calls_by_user[user] = recent
                return True
            self.api_calls_by_user[user] = recent + [now]
            return False

    def revoke_family(self, family: str):
        with self.lock:
            self.revoked_families.add(family)

    def family_revoked(self, family: str) -> bool:
        with self.lock:
            return family in self.revoked_families

    def live_refresh_tokens(self, user: str) -> int:
        """The user's refresh tokens that would still refresh: neither rotated out nor revoked, nor their family."""
        with self.lock:
            return sum(1 for t in self.refresh_tokens.values() if t.user == user and t.rotated_at is None
                       and not t.revoked and t.family not in self.revoked_families)


def new_family() -> str:
    return secrets.token_urlsafe(12)
