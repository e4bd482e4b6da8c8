"""pyreqwest (a Rust HTTP client) behind the one method the Navexa client uses of urllib3's pool, for benchmarks
only: issue 30 asked whether the /api/ hop's worker CPU drops by at least 15 % on it before it ships.

    ReqwestPool("http://127.0.0.1:8000").urlopen("GET", "/api/portfolios", headers={...}, preload_content=False)

Bytes pass as they came (no decompression, no redirects followed), as the portal's urllib3 pool does. What it does
not do, and would have to before it could ship: decode a compressed answer for the pages (decode_content=True),
and turn pyreqwest's errors into the ones NavexaClient._send maps (a refused connection, a timeout).

`bench/portal_reqwest.py` is the portal on it; `bench/floor_app.py` with FLOOR_CLIENT=pyreqwest the floor on it.
"""

from datetime import timedelta

import urllib3
from pyreqwest.client import SyncClientBuilder


class ReqwestResponse:
    """What the hop reads of urllib3's HTTPResponse: status, headers, read(), data, stream(), release_conn()."""

    def __init__(self, request, response):
        self._request = request
        self.status = response.status
        self.headers = urllib3.HTTPHeaderDict(response.headers.items())
        self._reader = response.body_reader
        self._data = None

    def read(self, amt=None, decode_content=None) -> bytes:
        if amt is None:
            return bytes(self._reader.bytes())
        chunk = self._reader.read(amt)
        return bytes(chunk) if chunk is not None else b""

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self.read()
            self.release_conn()
        return self._data

    def stream(self, amt, decode_content=None):
        while chunk := self._reader.read(amt):
            yield bytes(chunk)

    def drain_conn(self):
        pass  # the connection is given back (or dropped) when the request is closed

    def release_conn(self):
        if self._request is not None:
            self._request.__exit__(None, None, None)
            self._request = None


class ReqwestPool:
    """urlopen() on one pyreqwest SyncClient (its own connection pool), for one origin."""

    def __init__(self, origin: str, maxsize: int = 32, timeout=(3.05, 15)):
        self.origin = origin.rstrip("/")
        self.client = (SyncClientBuilder().gzip(False).brotli(False).zstd(False).deflate(False)
                       .follow_redirects(False).pool_max_idle_per_host(maxsize)
                       .connect_timeout(timedelta(seconds=timeout[0])).read_timeout(timedelta(seconds=timeout[1]))
                       .build())

    def urlopen(self, method, url, headers=None, body=None, timeout=None, redirect=False, retries=False,
                preload_content=True, decode_content=True) -> ReqwestResponse:
        builder = self.client.request(method, self.origin + url).headers(headers or {})
        if body is not None:
            builder = builder.body_bytes(body)
        request = builder.build_streamed()
        response = ReqwestResponse(request, request.__enter__())
        if preload_content:
            response.data  # noqa: B018 - read, and the connection given back, as urllib3's preload does
        return response
