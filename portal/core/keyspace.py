"""The portal's Redis: how to reach it, and what every key in it is called. No Flask here.

One server (`redis://`, `rediss://` for TLS), a primary found through Redis Sentinel (failover), or
a Redis Cluster (scale-out); everything else in the portal sees one client.

Every key starts `portal:`. A session's keys put its id in braces (`session_scoped`), Redis's hash
tag, so all of one session's keys share a Cluster slot: one command may touch several of them.
Single-key Lua scripts stay single-key, and keys in different slots are never touched in one command.

| prefix | holds |
|---|---|
| SESSION (`portal:session:{sid}`) | the session's JSON (web.session_store) |
| TOKENS (`portal:tokens:{sid}`) | the sealed token record (core.tokens) |
| REFRESH_LOCK, REFRESH_FAILED | the refresh lock's lease; a remembered refresh failure (core.tokens) |
| CACHE (`portal:answers:{sid}`) | the session's recent Navexa answers, deflated and sealed together (core.cache) |
| IN_FLIGHT_CALL (`portal:inflight:{sid}:<field>`) | a Navexa call one of the session's requests is making now (core.cache) |
| NAVEXA_PAUSED (`portal:navexa-paused:{sid}`) | until when its person is paused at Navexa: the fast path's copy (core.session_index) |
| PENDING (`portal:login:<state>`) | a pending login (core.pending) |
| BROWSER (`portal:browser:<hash>`) | a browser's latest session (core.pending) |
| REVOCABLE (`portal:revocable:{sid}`) | the refresh token sealed under the server's key, to revoke it without the browser (core.tokens) |
| PERSON (`portal:person:{<hash of sub>}`) | a sorted set: the person's live sessions, scored by their end (core.session_index) |
| IDP_SESSION (`portal:idp-session:{<hash of sid>}`) | the same for one Navexa sign-in session (core.session_index) |
| LOGOUT_JTI (`portal:logout-jti:<hash>`) | a back-channel logout token already used, until its end (core.logout_token) |
| GATE (`portal:gate:…`) | upstream rates and pauses: the token endpoint's, each person's at Navexa (core.upstream_gate) |
| RATE_LIMIT | Flask-Limiter's counters (web.ratelimit) |
"""

from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from ..settings import Settings

SESSION = "portal:session:"
TOKENS = "portal:tokens:"  # noqa: S105 - a key prefix, not a secret
REFRESH_LOCK = "portal:refresh-lock:"
REFRESH_FAILED = "portal:refresh-failed:"
CACHE = "portal:answers:"  # was portal:cache: (a hash of one field a call) before the answers were kept together
IN_FLIGHT_CALL = "portal:inflight:"
NAVEXA_PAUSED = "portal:navexa-paused:"
PENDING = "portal:login:"
BROWSER = "portal:browser:"
REVOCABLE = "portal:revocable:"
PERSON = "portal:person:"
IDP_SESSION = "portal:idp-session:"
LOGOUT_JTI = "portal:logout-jti:"
GATE = "portal:gate:"
RATE_LIMIT = "portal:ratelimit"
# Every key of one session (all in its hash slot): deleting these ends it everywhere.
SESSION_KEYS = (SESSION, TOKENS, REFRESH_LOCK, REFRESH_FAILED, CACHE, REVOCABLE, NAVEXA_PAUSED)

TIMEOUT = 2  # s: a stuck Redis must fail a request, not hang a worker
HEALTH_CHECK_INTERVAL = 30  # s: a connection idle this long is checked before use


def session_scoped(prefix: str, sid: str) -> str:
    """A session's key: its id is the hash tag, so all of a session's keys share one Redis Cluster slot."""
    return f"{prefix}{{{sid}}}"


def connect(settings: Settings):
    """A client for the configured topology."""
    options = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT, "health_check_interval": HEALTH_CHECK_INTERVAL}
    if settings.redis_sentinels:
        url = urlsplit(settings.redis_url or "redis://")
        sentinel = Sentinel(list(settings.redis_sentinels), sentinel_kwargs={"socket_timeout": TIMEOUT,
                                                                              "socket_connect_timeout": TIMEOUT})
        db = int(url.path.strip("/") or 0)
        return sentinel.master_for(settings.redis_sentinel_master, db=db, password=url.password,
                                   username=url.username, ssl=url.scheme == "rediss", **options)
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, **options)


def limiter_storage(settings: Settings, client) -> tuple[str, dict]:
    """Flask-Limiter's storage URI and options on the same Redis (the same pool where there is one)."""
    if settings.redis_cluster:
        node = urlsplit(settings.redis_url)
        scheme = "rediss+cluster" if node.scheme == "rediss" else "redis+cluster"
        return f"{scheme}://{node.netloc}", {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
    return "redis://", {"connection_pool": client.connection_pool}
