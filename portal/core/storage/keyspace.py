"""The portal's Redis: how to reach it, and what every key in it is called. No Flask here.

One server (`redis://`, `rediss://` for TLS), a primary found through Redis Sentinel (failover), or
a Redis Cluster (scale-out); everything else in the portal sees one client.

Every key starts `portal:`. A session's keys put its id in braces (`session_scoped`), Redis's hash
tag, so all of one session's keys share a Cluster slot: one command may touch several of them.
Single-key Lua scripts stay single-key, and keys in different slots are never touched in one command.

What each key holds, who writes it and when it ends: docs/architecture.md, "Where state lives".
"""

from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

SESSION = "portal:session:"
TOKENS = "portal:tokens:"  # noqa: S105 - a key prefix, not a secret
REFRESH_LOCK = "portal:refresh-lock:"
REFRESH_FAILED = "portal:refresh-failed:"
CACHE = "portal:answers:"  # was portal:cache: (a hash of one field a call) before the answers were kept together
IN_FLIGHT_CALL = "portal:inflight:"
PENDING = "portal:login:"
BROWSER = "portal:browser:"
REVOCABLE = "portal:revocable:"
PERSON = "portal:person:"
IDP_SESSION = "portal:idp-session:"
IDP_ENDED = "portal:idp-ended:"  # a Navexa sign-in a logout token ended, remembered for the token's lifetime
LOGOUT_JTI = "portal:logout-jti:"
GATE = "portal:gate:"
PAUSED = "portal:paused:"  # the person's Navexa pause, kept in each of their sessions' slots (the fast path's one MGET)
NAVEXA_PATHS = "portal:navexa-paths:"  # the API path family that answered, by API base: learned once, for every container
RATE_LIMIT = "portal:ratelimit"
# Every key of one session (all in its hash slot), its record first and its revocation copy second: deleting
# these ends it everywhere (core.sessions.index.SessionIndex.end).
SESSION_KEYS = (SESSION, REVOCABLE, TOKENS, REFRESH_LOCK, REFRESH_FAILED, CACHE, IN_FLIGHT_CALL, PAUSED)

TIMEOUT = 2  # s: a stuck Redis must fail a request, not hang a worker
HEALTH_CHECK_INTERVAL = 30  # s: a connection idle this long is checked before use


def session_scoped(prefix: str, sid: str) -> str:
    """A session's key: its id is the hash tag, so all of a session's keys share one Redis Cluster slot."""
    return f"{prefix}{{{sid}}}"


def connect(url: str | None, *, sentinels=(), sentinel_master: str = "", cluster: bool = False):
    """A client for the configured topology: one server at `url`, the primary Sentinel names `sentinel_master`
    (the `url` gives its db and credentials), or a Cluster reached through `url`."""
    options = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT, "health_check_interval": HEALTH_CHECK_INTERVAL}
    if sentinels:
        url = urlsplit(url or "redis://")
        sentinel = Sentinel(list(sentinels), sentinel_kwargs={"socket_timeout": TIMEOUT,
                                                                              "socket_connect_timeout": TIMEOUT})
        db = int(url.path.strip("/") or 0)
        return sentinel.master_for(sentinel_master, db=db, password=url.password,
                                   username=url.username, ssl=url.scheme == "rediss", **options)
    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def limiter_storage(url: str | None, client, *, cluster: bool = False) -> tuple[str, dict]:
    """Flask-Limiter's storage URI and options on the same Redis (the same pool where there is one)."""
    if cluster:
        node = urlsplit(url)
        scheme = "rediss+cluster" if node.scheme == "rediss" else "redis+cluster"
        return f"{scheme}://{node.netloc}", {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
    return "redis://", {"connection_pool": client.connection_pool}
