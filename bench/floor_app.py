"""The floor of the /api/ hop, for benchmarks only: a bare WSGI app that makes the one upstream call a
proxy must make (urllib3, one kept-alive connection pool) and returns its bytes. No Flask, no session,
no Redis, no checks: what any proxy under the same server costs at the least.

    FLOOR_UPSTREAM=http://127.0.0.1:8000/api gunicorn bench.floor_app:app
"""

import os
from urllib.parse import urlsplit

import urllib3

UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:8000/api")
_parts = urlsplit(UPSTREAM)
_pool = urllib3.connection_from_url(f"{_parts.scheme}://{_parts.netloc}", maxsize=32, retries=False)
_HEADERS = {"Authorization": "Bearer bench-token", "Accept": "application/json"}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    upstream = _pool.urlopen("GET", _parts.path + path.removeprefix("/api"), headers=_HEADERS, redirect=False)
    start_response(f"{upstream.status} OK", [("Content-Type", upstream.headers.get("Content-Type", "application/json")),
                                             ("Content-Length", str(len(upstream.data)))])
    return [upstream.data]
