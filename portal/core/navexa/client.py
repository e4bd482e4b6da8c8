"""NavexaClient: the Navexa API over urllib3's connection pool, with typed errors. No Flask here.

urllib3 directly (not requests): the hop is on every page and every /api/ call, and requests adds
about a millisecond of its own per call. Paths are sent as segments, each percent-encoded, so no
client or upstream can re-read them as something else; redirects are never followed.

`NavexaClient.request` is the one place where transport failures and error statuses become:

    NavexaError              a call did not give us data (`upstream_status`, `retry_after`)
    ├── Unauthorized         401: the token was not accepted (the caller refreshes once)
    │   └── TokenRejected    … and a refreshed one wasn't either (with_token): the session can't go on
    ├── Forbidden            403
    ├── NotFound             404
    ├── RateLimited          429, with Retry-After when Navexa sends it
    ├── UpstreamError        5xx, a 3xx, a connection failure, or an answer that isn't JSON
    └── UpstreamTimeout      no answer within the read timeout

What the person is told about each is errors.NAVEXA_ANSWERS.

Polite to Navexa (with a `gate`, core.storage.gate, and the person a call is for): after a 429 the
person's calls pause, from every worker and container, until its Retry-After lapses (a call meanwhile is
RateLimited at once, without asking Navexa); with NAVEXA_RATE_LIMIT, each person's calls keep to that
rate: at most PERSON_QUEUE of them wait for a reserved turn (a page's fan-out), and more are RateLimited at once,
so one person's flood never holds the threads everyone else needs.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3

from ..observability import tracing
from ..observability.metrics import NAVEXA_CALLS, NAVEXA_SECONDS
from ..storage.gate import whole_seconds
from ..storage.keyspace import NAVEXA_PATHS
from ..values import whole_number

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05  # s: a little over a TCP retransmit window
READ_TIMEOUT = 15  # s: Navexa's performance reports can be slow on large portfolios
POOL_SIZE = 32  # connections kept per worker; pages fetch several resources at once
FANOUT_THREADS = 16  # concurrent API calls per worker process, shared by all its requests
# The path families: Navexa's developer documentation calls {base}/portfolios (the default); older public clients
# called {base}/v1/portfolios. The pages name resources without one (resource()); the client puts its family first.
PATH_FAMILIES = {"documented": "", "v1": "/v1"}
LIST = "/portfolios"  # the call whose 404 means "the wrong family", not "no such thing"
PERSON_PATIENCE = 10.0  # s at most a call may wait for its person's turn under NAVEXA_RATE_LIMIT
PERSON_QUEUE = 8  # at most this many of one person's calls wait for a turn at once, every worker together (a page's
                  # fan-out waits; a flood beyond it is refused at once with 429: it never holds threads others need)


def resource(*segments: str | int) -> str:
    """The path of a Navexa resource, whatever the family: resource("portfolios", 101, "holdings") is
    "/portfolios/101/holdings"; the client adds its family's prefix ("/v1" for NAVEXA_API_PATHS=v1)."""
    return "/" + "/".join(map(str, segments))


class NavexaError(Exception):
    """A Navexa API call did not give us data."""

    def __init__(self, message: str, *, upstream_status: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.upstream_status = upstream_status
        self.retry_after = retry_after


class Unauthorized(NavexaError):
    pass


class TokenRejected(Unauthorized):
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
_CALLS_BY_STATUS: dict = {}  # status -> its child of NAVEXA_CALLS, looked up once (on every /api/ call's path)


class NavexaClient:
    """Calls the Navexa API with a caller-supplied access token; safe to share between threads.

    `pool` is anything with urllib3's HTTPConnectionPool.urlopen (tests hand in one that fails on demand).
    """

    def __init__(self, base_url: str, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), pool_size: int = POOL_SIZE,
                 fanout_threads: int = FANOUT_THREADS, pool=None, gate=None, paths: str = "documented",
                 remember=None):
        self.gate = gate  # core.storage.gate.Gate per person, or None
        self.on_pause: Callable[[str], None] | None = None  # told the person after a 429 paused their calls
        self.family = paths  # the pages' path family (PATH_FAMILIES)
        self.remember = remember  # a redis client: the family learned from a 404, shared by every container
        self._consulted = remember is None
        parts = urlsplit(base_url.rstrip("/"))
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path.rstrip("/")
        self.timeouts = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self.executor = ThreadPoolExecutor(fanout_threads, thread_name_prefix="navexa")
        # One origin, so one connection pool (not a PoolManager, which parses and routes every URL again).
        self.pool = pool or urllib3.connection_from_url(self.origin, maxsize=pool_size, block=False, retries=False)

    def url(self, path: str | Sequence[str], params=None) -> str:
        """The upstream URL: the origin, then target()."""
        return self.origin + self.target(path, params)

    def target(self, path: str | Sequence[str], params=None) -> str:
        """The request target: the API base's path, then each segment percent-encoded (a str path is split
        on '/'), then the query."""
        segments = [s for s in path.split("/") if s] if isinstance(path, str) else path
        query = "?" + urlencode(params, doseq=True) if params else ""
        return self.base_path + "/" + "/".join(quote(s, safe="") for s in segments) + query

    def request(self, method: str, path: str | Sequence[str], access_token: str, *, params=None, headers=None,
                body=None, stream=False, check=True, person: str | None = None,
                pause_checked: bool = False) -> urllib3.BaseHTTPResponse:
        """Send one call; return the response if it is 2xx or 304, else raise the matching NavexaError.

        With check=False any answer below 500 except 401 and redirects is returned as it is (for the proxy).
        stream=True leaves the body unread and undecoded (compressed bytes stay compressed).
        `person` (the session's sub) puts the call within the person's pause and rate (the module docstring);
        pause_checked=True skips the pause check (the caller has made it, once for several calls); the rate, if
        any, is still kept, and a 429 still pauses.
        """
        if self.gate is not None and person:
            if not pause_checked:
                self.check_pause(person)
            self._wait_for_turn(person)
        sent_headers = {"Accept": "application/json", **(headers or {}), "Authorization": f"Bearer {access_token}"}
        started = time.perf_counter()
        if tracing.enabled():  # off, the hot path builds no span attributes at all
            with tracing.span(f"navexa {method}", **{"http.request.method": method, "server.address": self.origin,
                                                       "url.path": self.target(path)}) as current:  # no query values
                response = self._send(method, path, params, tracing.inject(sent_headers), body, stream)
                tracing.set_status(current, response.status)
        else:
            response = self._send(method, path, params, sent_headers, body, stream)
        status = response.status
        (_CALLS_BY_STATUS.get(status) or _CALLS_BY_STATUS.setdefault(status, NAVEXA_CALLS.labels(str(status)))).inc()
        if status == 429 and self.gate is not None and person:
            seconds = self.gate.pause(person, _retry_after(response))
            log.info("Navexa said 429: this person's calls pause for %.0f s on every worker", seconds)
            if self.on_pause is not None:
                try:
                    self.on_pause(person)  # kept in each of their sessions' slots too, for the /api/ fast path
                except Exception as error:  # noqa: BLE001 - the person's own pause holds; their next 429 carries it
                    log.warning("the pause could not be kept with the person's sessions: %s", type(error).__name__)
        NAVEXA_SECONDS.observe(time.perf_counter() - started)
        if status < 300 or status == 304 or (not check and 400 <= status < 500 and status != 401):
            return response
        response.drain_conn()
        response.release_conn()
        kind = _BY_STATUS.get(status, UpstreamError)
        raise kind(f"Navexa answered {status}.", upstream_status=status, retry_after=_retry_after(response))

    def _send(self, method, path, params, sent_headers, body, stream) -> urllib3.BaseHTTPResponse:
        """One HTTP call to Navexa; the errors of getting no answer as NavexaErrors."""
        try:
            response = self.pool.urlopen(method, self.target(path, params), headers=sent_headers, body=body,
                                         timeout=self.timeouts, redirect=False, retries=False,
                                         preload_content=not stream, decode_content=not stream)
        except urllib3.exceptions.NewConnectionError as error:  # a subclass of ConnectTimeoutError, but refused
            NAVEXA_CALLS.labels("error").inc()
            raise UpstreamError(f"Navexa could not be reached ({type(error).__name__}).") from error
        except urllib3.exceptions.TimeoutError as error:
            NAVEXA_CALLS.labels("timeout").inc()
            raise UpstreamTimeout("Navexa did not answer in time.") from error
        except urllib3.exceptions.HTTPError as error:
            NAVEXA_CALLS.labels("error").inc()
            raise UpstreamError(f"Navexa could not be reached ({type(error).__name__}).") from error
        return response

    def check_pause(self, person: str):
        """Raise RateLimited, without calling, while Navexa has asked this person's calls to wait."""
        paused = self._pause(person)
        if paused is not None:
            NAVEXA_CALLS.labels("paused").inc()
            raise paused

    def _pause(self, person: str | None) -> RateLimited | None:
        """The RateLimited a call for this person gets while Navexa has asked them to wait, else None."""
        paused = self.gate.paused_for(person) if self.gate is not None and person else 0
        return RateLimited("Navexa asked us to wait.", upstream_status=429, retry_after=whole_seconds(paused)) \
            if paused else None

    def _wait_for_turn(self, person: str):
        """Wait for the person's reserved turn under NAVEXA_RATE_LIMIT, if it is among the next PERSON_QUEUE (and
        within PERSON_PATIENCE); else RateLimited at once, without calling, with when to come back."""
        if self.gate.rate is None:
            return
        wait, refused = self.gate.reserve_turn(person, min(PERSON_PATIENCE, PERSON_QUEUE / self.gate.rate))
        if refused is not None:
            NAVEXA_CALLS.labels("paused").inc()
            raise RateLimited("This person's Navexa budget is used up.", upstream_status=429,
                              retry_after=whole_seconds(refused))
        if wait > 0:
            time.sleep(wait)

    def _remembered_key(self) -> str:
        return NAVEXA_PATHS + hashlib.sha256((self.origin + self.base_path).encode()).hexdigest()[:16]

    def learned_family(self) -> str:
        """The family the pages use: the one learned (by any container) for this API base, else the configured."""
        if self.remember is not None:
            try:
                learned = self.remember.get(self._remembered_key())
            except Exception:  # noqa: BLE001 - Redis trouble: keep the family in hand
                learned = None
            if learned and learned.decode() in PATH_FAMILIES:
                self.family = learned.decode()
        return self.family

    def get_json(self, path: str, access_token: str, params=None, person: str | None = None,
                 pause_checked: bool = False) -> Any:
        """A page's call: the resource `path` under the family's prefix. When the list of portfolios is a 404, the
        family is wrong for this Navexa: the other is tried once, and the one that answers is used from then on,
        by every container (remembered in Redis), with one warning saying how to set it."""
        if not self._consulted:  # once a process: another container may have learned the family already
            self._consulted = True
            self.learned_family()
        family = self.family
        try:
            response = self.request("GET", PATH_FAMILIES[family] + path, access_token, params=params, person=person,
                                    pause_checked=pause_checked)
        except NotFound:
            if path != LIST:
                raise
            if self.learned_family() != family:  # another container has learned it meanwhile
                return self.get_json(path, access_token, params, person, pause_checked)
            other = next(name for name in PATH_FAMILIES if name != family)
            response = self.request("GET", PATH_FAMILIES[other] + path, access_token, params=params, person=person,
                                    pause_checked=pause_checked)
            self.family = other
            if self.remember is not None:
                try:
                    self.remember.set(self._remembered_key(), other)
                except Exception as error:  # noqa: BLE001 - remembered in this process at least
                    log.warning("the Navexa path family could not be remembered in Redis: %s", type(error).__name__)
            log.warning("Navexa answered 404 for %s%s and 200 for %s%s: the pages use the %s paths now; set "
                        "NAVEXA_API_PATHS=%s to start with them", PATH_FAMILIES[family], path, PATH_FAMILIES[other],
                        path, other, other)
        try:
            return json.loads(response.data)
        except ValueError as error:
            raise UpstreamError(f"Navexa sent something other than JSON for {path}.") from error

    def get_many(self, calls: dict[Any, tuple[str, dict | None]], access_token: str,
                 optional: frozenset = frozenset(), failures: dict | None = None,
                 person: str | None = None) -> dict[Any, Any]:
        """Make several GET calls at once; return their JSON by name.

        A failed call named in `optional` is left out of the answer (the page shows a notice where it
        would have been), its error put in `failures` if given; any other failure raises. A 401 always
        raises (the caller refreshes and retries).
        """
        paused = self._pause(person)  # read once for all of them: one Redis read a page, not one a call
        if paused is not None:  # each call fails as it would have on its own, and none is made
            NAVEXA_CALLS.labels("paused").inc(len(calls))
            futures, failed = {}, dict.fromkeys(calls, paused)
        else:
            traced = tracing.enabled()  # each call's spans under the request's: a copy of its context for each
            futures = {name: self.executor.submit(tracing.carried(self.get_json) if traced else self.get_json, path,
                                                  access_token, params, person, True)
                       for name, (path, params) in calls.items()}
            wait(futures.values())
            failed = {name: f.exception() for name, f in futures.items() if f.exception() is not None}
        fatal = [e for name, e in failed.items() if isinstance(e, Unauthorized) or name not in optional]
        if fatal:
            raise next((e for e in fatal if isinstance(e, Unauthorized)), fatal[0])
        for name, error in failed.items():
            log.warning("optional Navexa call %r failed: %s", name, error)
        if failures is not None:
            failures.update(failed)
        return {name: future.result() for name, future in futures.items() if name not in failed}


def with_token(call: Callable[[str], Any], token_for: Callable[[str | None], str]) -> Any:
    """call(token) with token_for(None); if Navexa refuses that token (401), once more with
    token_for(refused), which refreshes it. A second refusal is TokenRejected: the session can't go on."""
    token = token_for(None)
    try:
        return call(token)
    except Unauthorized:
        log.info("Navexa refused the access token; refreshing once")
    token = token_for(token)
    try:
        return call(token)
    except Unauthorized as error:
        raise TokenRejected("Navexa refused a refreshed access token too.", upstream_status=401) from error


def _retry_after(response) -> int | None:
    return whole_number(response.headers.get("Retry-After"))
