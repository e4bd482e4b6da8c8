"""The floor of the /api/ hop, for benchmarks only: a bare WSGI app that makes the one upstream call a
proxy must make (urllib3, one kept-alive connection pool) and returns its bytes. No Flask, no session,
no Redis, no checks: what any proxy under the same server costs at the least.

    FLOOR_UPSTREAM=http://127.0.0.1:8000/api gunicorn bench.floor_app:app

FLOOR_CLIENT=pyreqwest makes the call with pyreqwest (bench/reqwest_pool.py), as bench/portal_reqwest.py does.

With FLOOR_REDIS_URL it also makes the one Redis round trip a BFF can't do without (is this session still
live, what is its token, is its person paused?): an MGET of three keys with redis-py, as the portal's fast path
does, holding about as many bytes as the portal's session and token record. The portal's distance from this
second floor is what its own checks, crypto and log line cost.
"""

import os
from urllib.parse import urlsplit

import urllib3

UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:8000/api")
_parts = urlsplit(UPSTREAM)
if os.environ.get("FLOOR_CLIENT") == "pyreqwest":  # the same client as the portal it is compared with
    from bench.reqwest_pool import ReqwestPool

    _pool = ReqwestPool(f"{_parts.scheme}://{_parts.netloc}")
else:
    # With the portal's timeouts (a socket with a timeout polls before each read: the same syscalls as the portal's).
    _pool = urllib3.connection_from_url(f"{_parts.scheme}://{_parts.netloc}", maxsize=32, retries=False,
                                        timeout=urllib3.Timeout(connect=3.05, read=15))
_HEADERS = {"Authorization": "Bearer bench-token", "Accept": "application/json"}
_redis = None
if os.environ.get("FLOOR_REDIS_URL"):
    import redis

    _redis = redis.Redis.from_url(os.environ["FLOOR_REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)
    _KEYS = ("floor:{s}:session", "floor:{s}:tokens", "floor:{s}:paused")
    _redis.set(_KEYS[0], b"s" * 400)  # about a session record's size
    _redis.set(_KEYS[1], b"t" * 1100)  # about a sealed token record's


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    if _redis is not None:
        _redis.mget(*_KEYS)
    upstream = _pool.urlopen("GET", _parts.path + path.removeprefix("/api"), headers=_HEADERS, redirect=False)
    start_response(f"{upstream.status} OK", [("Content-Type", upstream.headers.get("Content-Type", "application/json")),
                                             ("Content-Length", str(len(upstream.data)))])
    return [upstream.data]
