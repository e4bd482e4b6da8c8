"""The portal's Redis: one server (`redis://`, `rediss://` for TLS), a primary found through Redis
Sentinel (failover), or a Redis Cluster (scale-out). Everything else in the portal sees one client.

On a Cluster, a session's keys share one hash slot (see tokens.session_scoped), single-key Lua
scripts stay single-key, and keys in different slots are never touched in one command.
"""

from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from config import Settings

TIMEOUT = 2  # s: a stuck Redis must fail a request, not hang a worker
HEALTH_CHECK_INTERVAL = 30  # s: a connection idle this long is checked before use


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
