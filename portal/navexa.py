"""NavexaClient: the Navexa API over a pooled requests.Session, with typed errors. No Flask here.

`NavexaClient.request` is the one place where transport failures and error statuses become:

    NavexaError              a call did not give us data (`upstream_status`, `retry_after`)
    ├── Unauthorized         401: the token was not accepted (the caller refreshes once)
    ├── Forbidden            403
    ├── NotFound             404
    ├── RateLimited          429, with Retry-After when Navexa sends it
    ├── UpstreamError        5xx, a connection failure, or an answer that isn't JSON
    └── UpstreamTimeout      no answer within the read timeout

What the person is told about each is errors.NAVEXA_ANSWERS.
"""

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05  # s: a little over a TCP retransmit window
READ_TIMEOUT = 15  # s: Navexa's performance reports can be slow on large portfolios
POOL_SIZE = 32  # connections kept per worker; pages fetch several resources at once
FANOUT_THREADS = 16  # concurrent API calls per worker process, shared by all its requests


class NavexaError(Exception):
    """A Navexa API call did not give us data."""

    def __init__(self, message: str, *, upstream_status: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.upstream_status = upstream_status
        self.retry_after = retry_after


class Unauthorized(NavexaError):
    pass


class Forbidden(NavexaError):
    pass


class NotFound(NavexaError):
    pass


class RateLimited(NavexaError):
    pass


class UpstreamError(NavexaError):
    pass


class UpstreamTimeout(NavexaError):
    pass


_BY_STATUS = {401: Unauthorized, 403: Forbidden, 404: NotFound, 429: RateLimited}


class NavexaClient:
    """Calls the Navexa API with a caller-supplied access token; safe to share between threads."""

    def __init__(self, base_url: str, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), pool_size: int = POOL_SIZE,
                 fanout_threads: int = FANOUT_THREADS):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.executor = ThreadPoolExecutor(fanout_threads, thread_name_prefix="navexa")
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def request(self, method: str, path: str, access_token: str, *, params=None, stream=False, headers=None,
                data=None, check=True) -> requests.Response:
        """Send one call; return the response if it is 2xx/3xx, else raise the matching NavexaError.

        With check=False any answer below 500 except 401 is returned as it is (for the proxy).
        """
        url = self.base_url + "/" + path.lstrip("/")
        sent_headers = {"Accept": "application/json", **(headers or {}), "Authorization": f"Bearer {access_token}"}
        try:
            response = self.http.request(method, url, params=params, headers=sent_headers, data=data,
                                         timeout=self.timeout, stream=stream, allow_redirects=False)
        except requests.Timeout as error:
            raise UpstreamTimeout("Navexa did not answer in time.") from error
        except requests.RequestException as error:
            raise UpstreamError("Navexa could not be reached.") from error
        if response.status_code < 400 or (not check and response.status_code < 500 and response.status_code != 401):
            return response
        response.close()
        kind = _BY_STATUS.get(response.status_code, UpstreamError)
        raise kind(f"Navexa answered {response.status_code} for {path}.", upstream_status=response.status_code,
                   retry_after=_retry_after(response))

    def get_json(self, path: str, access_token: str, params=None) -> Any:
        response = self.request("GET", path, access_token, params=params)
        try:
            return response.json()
        except ValueError as error:
            raise UpstreamError(f"Navexa sent something other than JSON for {path}.") from error

    def get_many(self, calls: dict[Any, tuple[str, dict | None]], access_token: str) -> dict[Any, Any]:
        """Make several GET calls at once; return their JSON by name, or raise the most telling error.

        A 401 wins (the caller refreshes and retries everything); otherwise the first failed call's error.
        """
        futures = {name: self.executor.submit(self.get_json, path, access_token, params)
                   for name, (path, params) in calls.items()}
        wait(futures.values())
        errors = [f.exception() for f in futures.values() if f.exception() is not None]
        if errors:
            raise next((e for e in errors if isinstance(e, Unauthorized)), errors[0])
        return {name: future.result() for name, future in futures.items()}


def _retry_after(response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None
