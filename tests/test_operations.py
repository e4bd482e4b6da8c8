"""What operators see: JSON log lines with request ids and no secrets, under gunicorn (gunicorn.conf.py) and
granian (serve.py, the image's) alike, stopping gracefully with a request in flight; slow clients."""

import json
import logging
import re
import secrets
import signal
import threading
import time

import pytest
import redis
import requests

from portal.core.observability import logformat
from portal.core.sessions.tokens import VALID_MARGIN, TokenStore
from portal.core.storage.keyspace import PENDING
from portal.core.storage.sealing import decode_key
from portal.web.cookies import key_cookie
from portal.web.session_store import SESSION_COOKIE
from tests.helpers import PortalBrowser, query_of, stored_sid
from tools.clients import Browser
from tools.stack import SANDBOX_CLIENT_SECRET, free_port, portal_env, start_portal, start_redis

SERVERS = ["gunicorn", "granian"]  # every operator test holds under both (granian: serve.py)


def keep_dripping(drips: list, stop: threading.Event, every: float, byte: bytes) -> threading.Thread:
    """A thread sending one byte on each of these sockets every `every` seconds, until `stop` is set."""

    def drip_all():
        while not stop.wait(every):
            for drip in drips:
                try:
                    drip.send(byte)
                except OSError:
                    pass

    thread = threading.Thread(target=drip_all, daemon=True)
    thread.start()
    return thread


@pytest.fixture(params=SERVERS)
def logged_portal(request, sandbox, redis_url, tmp_path):
    """A portal under gunicorn (from gunicorn.conf.py) whose stderr goes to a file; yields (url, read_log)."""
    path = tmp_path / "portal.log"
    port = free_port()
    env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}")
    with open(path, "w") as log:
        service, url = start_portal(env, port=port, workers=1, log=log, server=request.param)
        service.secret_key = env["SECRET_KEY"]  # what its Redis calls a session follows from it
        yield url, service, lambda: path.read_text()
        service.stop()


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must parse


def test_a_whole_session_logs_json_lines_without_a_single_secret(logged_portal, sandbox, redis_url):
    url, service, read_log = logged_portal
    sandbox.config(access_token_ttl=VALID_MARGIN - 2)  # the first page must refresh
    person = Browser(url)
    authorize = person.start_login()
    state = query_of(authorize)["state"]
    verifier = json.loads(redis.Redis.from_url(redis_url).hget(PENDING + state, "data"))["code_verifier"]
    callback = person.approve(authorize)
    code = query_of(callback)["code"]
    assert person.get(callback, allow_redirects=False, timeout=10).status_code == 302
    sandbox.config(access_token_ttl=86400)
    assert person.get(url + "/portfolios", timeout=30).status_code == 200  # refreshes
    assert sandbox.stats()["token_requests"]["refresh_token"] == 1
    store = TokenStore(redis.Redis.from_url(redis_url), lambda _: {})
    sealing_key = person.cookies.get(key_cookie.dev_name)
    record = store.load(stored_sid(person.cookies.get(SESSION_COOKIE), service.secret_key), decode_key(sealing_key))
    csrf = person.get(url + "/logout", timeout=10).text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert person.post(url + "/logout", data={"csrf_token": csrf}, allow_redirects=False, timeout=10).status_code == 302

    text = read_log()
    lines = json_lines(text)
    requests_logged = [line for line in lines if line["logger"] == "portal.request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests_logged] == [
        ("GET", "/login", 302), ("GET", "/callback", 302), ("GET", "/portfolios", 200), ("GET", "/logout", 200),
        ("POST", "/logout", 302)]
    assert all(r["request_id"] and r["duration_ms"] >= 0 for r in requests_logged)
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]  # one line a request, not two
    assert requests_logged[2]["user"] == "auth0|alice-7f3a91" and requests_logged[0]["user"] is None
    assert any("refresh ok" in line["message"] for line in lines)
    for secret in (SANDBOX_CLIENT_SECRET, code, state, verifier, record.access_token, record.refresh_token,
                   record.id_token, sealing_key):
        assert secret not in text


def test_the_request_id_is_taken_from_the_caller_or_made_and_echoed(logged_portal):
    url, _, read_log = logged_portal
    given = Browser(url).get(url + "/", headers={"X-Request-ID": "edge-7f3a-01"}, timeout=10)
    assert given.headers["X-Request-ID"] == "edge-7f3a-01"
    made = Browser(url).get(url + "/", timeout=10).headers["X-Request-ID"]
    hostile = Browser(url).get(url + "/", headers={"X-Request-ID": "x" * 200}, timeout=10).headers["X-Request-ID"]
    assert len(made) == 32 and len(hostile) == 32 and made != hostile
    logged = {line["request_id"] for line in json_lines(read_log()) if line["logger"] == "portal.request"}
    assert {"edge-7f3a-01", made, hostile} <= logged


def test_the_server_stops_gracefully_with_a_request_in_flight(logged_portal, sandbox):
    url, service, read_log = logged_portal
    person = Browser(url)
    assert person.sign_in().status_code == 302
    sandbox.config(api_latency_ms=1500)
    answers = []
    in_flight = threading.Thread(target=lambda: answers.append(person.get(url + "/portfolios", timeout=30)))
    in_flight.start()
    deadline = time.monotonic() + 10
    while not sandbox.api_requests() and time.monotonic() < deadline:
        time.sleep(0.02)
    service.process.send_signal(signal.SIGTERM)
    in_flight.join()
    assert answers[0].status_code == 200 and "Retirement" in answers[0].text
    assert service.process.wait(timeout=30) == 0
    messages = [line["message"] for line in json_lines(read_log())]
    assert any("Listening at" in m for m in messages)
    assert not any("Control server error" in m for m in messages)


# -- metrics ------------------------------------------------------------------------------------------

METRICS_TOKEN = "metrics-" + "t" * 24


def metric(text: str, name: str, labels: str = "") -> float:
    for line in text.splitlines():
        if line.startswith(name + (("{" + labels + "}") if labels else " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_are_off_unless_a_token_is_set(portal):
    assert Browser(portal.url).get(portal.url + "/metrics", timeout=10).status_code == 404


@pytest.mark.parametrize("server", SERVERS)
def test_metrics_need_the_token_and_add_up_every_worker(sandbox, redis_url, server):
    port = free_port()
    service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                                           METRICS_TOKEN=METRICS_TOKEN), port=port, workers=2, server=server)
    try:
        scraper = Browser(url)
        assert scraper.get(url + "/metrics", timeout=10).status_code == 401
        assert scraper.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        person = Browser(url)
        assert person.sign_in().status_code == 302
        assert person.get(url + "/portfolios", timeout=30).status_code == 200
        for _ in range(4):  # whichever worker answers, the figures are the sum over both
            text = scraper.get(url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
            assert metric(text, "portal_sign_ins_total", 'outcome="ok"') == 1
            assert metric(text, "portal_navexa_requests_total", 'status="200"') >= 3
            assert metric(text, "portal_navexa_request_seconds_count") >= 3
    finally:
        service.stop()


# -- rate limits --------------------------------------------------------------------------------------


def test_a_burst_of_sign_in_starts_from_one_address_is_limited_others_are_not(make_portal, sandbox):
    portal = make_portal(RATE_LIMIT_SIGN_IN="5 per minute", TRUSTED_PROXY_COUNT="1")
    attacker = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}  # fresh each run: counts persist in Redis
    statuses = [requests.get(portal.url + "/login", headers=attacker, allow_redirects=False, timeout=10)
                for _ in range(8)]
    assert [r.status_code for r in statuses] == [302] * 5 + [429] * 3
    refused = statuses[-1]
    assert int(refused.headers["Retry-After"]) > 0 and "Too Many Requests" in refused.text
    as_json = requests.get(portal.url + "/login", headers={**attacker, "X-Requested-With": "XMLHttpRequest"},
                           allow_redirects=False, timeout=10)
    assert as_json.status_code == 429 and as_json.json()["error"] == "too_many_requests"

    person = PortalBrowser(portal, sandbox)
    person.headers["X-Forwarded-For"] = f"198.51.100.{secrets.randbelow(250) + 1}"
    assert person.sign_in().status_code == 302
    assert all(person.page("/portfolios").status_code == 200 for _ in range(10))


def test_with_redis_down_the_limiter_takes_nothing_down(make_portal, sandbox):
    service, url = start_redis()
    portal = make_portal(REDIS_URL=url, RATE_LIMIT_SIGN_IN="5 per minute")
    service.stop()
    assert requests.get(portal.url + "/", timeout=10).status_code == 200
    answers = [requests.get(portal.url + "/login", allow_redirects=False, timeout=10).status_code for _ in range(3)]
    assert answers == [503] * 3  # the pending-login store's answer, not a limiter's 500


def test_slow_clients_cost_nobody_else_an_answer_under_the_images_server(sandbox, redis_url):
    """20 connections dripping a header byte a second hold granian's attention, not its threads (2 of them here):
    ten fresh /healthz calls meanwhile each answer within 2.5 s (a few ms here; a blocked server would hold them
    until the dripping stops, past their 5 s timeout). Bounded: 20 sockets, about 5 s."""
    import socket

    port = free_port()
    service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"), port=port, workers=1,
                                threads=2, server="granian")
    drips, stop = [], threading.Event()
    try:
        for _ in range(20):
            drip = socket.create_connection(("127.0.0.1", port), timeout=5)
            drip.send(b"GET /portfolios HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            drips.append(drip)

        keep_dripping(drips, stop, every=1.0, byte=b"a")
        times = []
        for _ in range(10):
            started = time.monotonic()
            assert requests.get(url + "/healthz", timeout=5, headers={"Connection": "close"}).status_code == 200
            times.append(time.monotonic() - started)
            time.sleep(0.4)
        assert max(times) < 2.5, times  # wide: a loaded CI machine is slow, a blocked server is blocked
    finally:
        stop.set()
        for drip in drips:
            drip.close()
        service.stop()


def test_the_request_lines_path_is_redacted_too(caplog):
    caplog.set_level(logging.INFO, logger=logformat.REQUEST_LOGGER)
    logformat.log_request("GET", "/api/x;access_token=s3cret", 200, 0.0, "rid", None)
    record = caplog.records[-1]
    assert "s3cret" not in record.getMessage() and "s3cret" not in record.path


@pytest.mark.parametrize("server", SERVERS)
def test_one_persons_flood_over_their_navexa_budget_slows_nobody_else(sandbox, redis_url, server):
    """N1: with NAVEXA_RATE_LIMIT=2/second, one person keeping 40 /api/ calls in flight held every thread: another
    person's page and /healthz took 4.5–12.8 s. A person's calls over their budget now wait only while few of theirs
    do (a fixed number, shared by every worker); the rest are refused at once with 429 and Retry-After. Another
    person's page (from the answer cache) and /healthz answer within a second, each of 3 times. Bounded: 40 threads
    for about 4 s, two workers of 8 threads."""
    port = free_port()
    env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", NAVEXA_RATE_LIMIT="2/second")
    service, url = start_portal(env, port=port, workers=2, threads=8, server=server)
    stop, answers, timings = threading.Event(), [], []
    try:
        flooder, other = Browser(url), Browser(url)
        assert flooder.sign_in("alice").status_code == 302 and other.sign_in("bob").status_code == 302
        assert other.get(url + "/portfolios/201", timeout=30).status_code == 200  # its answers cached

        def flood(tab):
            while not stop.is_set():
                try:
                    answer = tab.get(url + "/api/portfolios", timeout=30)
                    answers.append((answer.status_code, answer.headers.get("Retry-After")))
                except requests.RequestException:
                    answers.append((None, None))

        tabs = [flooder.twin() for _ in range(40)]
        threads = [threading.Thread(target=flood, args=(tab,), daemon=True) for tab in tabs]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(answers) < 40 and time.monotonic() < deadline:  # the flood is under way
            time.sleep(0.05)
        for _ in range(3):
            for target, client in ((url + "/portfolios/201", other), (url + "/healthz", requests)):
                started = time.monotonic()
                assert client.get(target, timeout=30).status_code == 200
                timings.append(round(time.monotonic() - started, 2))
    finally:
        stop.set()
        for thread in threads if "threads" in dir() else []:
            thread.join(timeout=35)
        service.stop()
    print(f"{server}: another person's page and /healthz took {timings} s during the flood")
    # Within a second, as the issue asks, for the typical answer; the slowest within two (the test's own 40 client
    # threads share this machine's 2 cores with both workers: before the fix they took 5.5 to 11.5 s, every time).
    assert sorted(timings)[len(timings) // 2] < 1.0 and max(timings) < 2.0, timings
    refused = [retry for status, retry in answers if status == 429]
    assert refused and all(retry and retry.isdigit() and int(retry) >= 1 for retry in refused)


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("path", ["/backchannel-logout", "/logout"])
def test_slow_request_bodies_cost_nobody_else_an_answer(sandbox, redis_url, server, path):
    """N2: 40 anonymous sockets sending a POST's headers with Content-Length: 100000, then a body byte every 2 s,
    made every /healthz and signed-in page wait for as long as they dripped (16 suffice: 2 workers × 8 threads).
    Meanwhile now, /healthz and a signed-in page answer within a second, 3 times each. Bounded: 40 sockets, 6 s."""
    import socket

    port = free_port()
    service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"), port=port, workers=2,
                                threads=8, server=server)
    drips, stop, timings = [], threading.Event(), []
    try:
        person = Browser(url)
        assert person.sign_in().status_code == 302
        assert person.get(url + "/portfolios", timeout=30).status_code == 200  # its answers cached
        for _ in range(40):
            drip = socket.create_connection(("127.0.0.1", port), timeout=5)
            drip.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-"
                         "urlencoded\r\nContent-Length: 100000\r\n\r\nl".encode())
            drips.append(drip)

        keep_dripping(drips, stop, every=2.0, byte=b"o")
        time.sleep(0.5)  # every drip's headers are in: their bodies are what is slow
        for _ in range(3):
            for target, client in ((url + "/portfolios", person), (url + "/healthz", requests)):
                started = time.monotonic()
                try:
                    status = client.get(target, timeout=8).status_code
                except requests.Timeout:
                    status = "timed out"
                timings.append(round(time.monotonic() - started, 2))
                assert status == 200 or max(timings) >= 1.0
    finally:
        stop.set()
        for drip in drips:
            drip.close()
        service.stop()
    print(f"{server} {path}: a signed-in page and /healthz took {timings} s during the drip")
    assert max(timings) < 1.0, timings


def test_the_proxys_path_rules_answer_the_same_under_both_servers(sandbox, redis_url):
    """N7: granian's WSGI gave the app only the decoded path, so /api/x/caf%C3%A9 reached Navexa as
    caf%C3%83%C2%A9, and %c0%ae%c0%ae, %ff and a%2Fb were forwarded where gunicorn said 400 bad_path. Under both
    servers now (granian through the portal's ASGI adapter, which passes the raw target) every refused target is
    refused alike and nothing reaches Navexa, and café reaches it as the client encoded it."""
    from types import SimpleNamespace

    from tests.test_proxy import REFUSED_PATHS, raw_request

    answers = {}
    for server in SERVERS:
        port = free_port()
        service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"), port=port,
                                    workers=1, threads=4, server=server)
        try:
            person = Browser(url)
            assert person.sign_in().status_code == 302
            person.portal = SimpleNamespace(url=url)
            before = len(sandbox.api_requests())
            refused = {target: raw_request(person, "GET", target)[0]
                       for target in [*REFUSED_PATHS, "/api/%ff", "/api/a%2Fb"]}
            assert len(sandbox.api_requests()) == before, server  # nothing reached Navexa
            raw_request(person, "GET", "/api/x/caf%C3%A9")
            reached = sandbox.api_requests()[-1]["raw_path"]
            answers[server] = (refused, reached)
        finally:
            service.stop()
    print({server: sorted(set(refused.values())) for server, (refused, _) in answers.items()})
    assert answers["granian"] == answers["gunicorn"]
    assert all(status in (400, 404) for status in answers["granian"][0].values())
    assert answers["granian"][1].endswith("/x/caf%C3%A9")


@pytest.mark.parametrize("server", SERVERS)
def test_a_request_with_two_host_headers_is_refused(sandbox, redis_url, server):
    """granian accepted two Host headers (which one the app reads is a guess); both servers refuse them now."""
    import socket

    port = free_port()
    service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"), port=port, workers=1,
                                threads=2, server=server)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
                               b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
        one = requests.get(url + "/healthz", timeout=10).status_code
    finally:
        service.stop()
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", answer[:200]
    assert one == 200


@pytest.mark.parametrize("server", SERVERS)
def test_a_large_answer_streams_whole_through_the_servers_adapter(sandbox, redis_url, server):
    """The adapter holds an answer of up to 64 KB and sends it whole; a longer one (2 MB through the /api/ proxy) is
    streamed chunk by chunk: both arrive complete, their length as announced, under both servers."""
    port = free_port()
    service, url = start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"), port=port, workers=1,
                                threads=2, server=server)
    try:
        person = Browser(url)
        assert person.sign_in().status_code == 302
        for kb in (15, 2048):
            answer = person.get(url + f"/api/_sandbox/large?kb={kb}", timeout=30)
            assert answer.status_code == 200 and len(answer.content) >= kb * 900  # about kb KB of JSON rows
            assert int(answer.headers.get("Content-Length", len(answer.content))) == len(answer.content)
            answer.json()  # whole: it parses
    finally:
        service.stop()


@pytest.mark.parametrize("server", SERVERS)
def test_on_sigterm_readyz_says_503_at_once_and_nothing_is_dropped(sandbox, redis_url, server):
    """Deploys: on SIGTERM /readyz answered 200 until the server stopped, so a load balancer kept sending requests to
    a container on its way out. Now /readyz is 503 within half a second, every request arriving during the grace
    (DRAIN_SECONDS, 2 here) is still answered, and then the server stops. Bounded: about 3 s of requests."""
    port = free_port()
    env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", DRAIN_SECONDS="2")
    service, url = start_portal(env, port=port, workers=1, threads=2, server=server)
    answers, stop = [], threading.Event()

    def keep_asking():
        while not stop.is_set():
            try:
                answers.append(requests.get(url + "/healthz", timeout=5).status_code)
            except requests.RequestException as error:
                answers.append(type(error).__name__)

    asking = threading.Thread(target=keep_asking, daemon=True)
    try:
        assert requests.get(url + "/readyz", timeout=5).status_code == 200
        asking.start()
        while len(answers) < 5:
            time.sleep(0.01)
        service.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        readiness = None
        while time.monotonic() - signalled < 0.5:
            readiness = requests.get(url + "/readyz", timeout=5).status_code
            if readiness == 503:
                break
        said_at = time.monotonic() - signalled
        during = len(answers)
        time.sleep(1.2)  # well inside the 2 s grace: the stream goes on being answered
        stop.set()
        asking.join(timeout=10)
    finally:
        stop.set()
        service.stop()
    print(f"{server}: /readyz 503 after {said_at:.2f} s; {len(answers)} answers, {len(answers) - during} after it")
    assert readiness == 503 and said_at < 0.5
    assert set(answers) == {200} and len(answers) > during  # nothing dropped, and still answering while draining


@pytest.fixture
def own_redis():
    """A redis-server of the test's own: a person's session index holds only this test's sessions."""
    service, url = start_redis()
    yield url
    service.stop()


def test_rotating_secret_keys_signs_nobody_out_and_ends_sessions_everywhere_as_before(sandbox, own_redis):
    """Key rotation (issue 29): rotating SECRET_KEY used to break "sign out everywhere" and back-channel logout's
    revocations for every existing session. With SECRET_KEYS, each step of the README's procedure on its own
    process, on one Redis: sessions signed in under key a are still listed, ended from /sessions and by back-channel
    logout with their refresh tokens revoked after b is put first; a used session is re-sealed under b (the newest
    key seals); and once a is retired, the re-sealed session goes on."""
    key_a, key_b = secrets.token_hex(32), secrets.token_hex(32)
    redis_url = own_redis

    def serve(keys: str):
        port = free_port()
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", SECRET_KEYS=keys)
        env.pop("SECRET_KEY", None)
        return start_portal(env, port=port, workers=1, threads=2)

    service, url = serve(f"a:{key_a}")
    try:
        laptop, phone, bob = Browser(url), Browser(url), Browser(url)
        assert laptop.sign_in().status_code == 302 and phone.sign_in().status_code == 302
        assert bob.sign_in("bob").status_code == 302
    finally:
        service.stop()
    service, url = serve(f"b:{key_b},a:{key_a}")  # b seals now; a still opens
    try:
        for person in (laptop, phone, bob):
            person.portal_url = url
        assert laptop.get(url + "/portfolios", allow_redirects=False, timeout=10).status_code == 200  # moved to b
        store = redis.Redis.from_url(redis_url)
        copies = [store.get(key) for key in store.scan_iter("portal:revocable:*")]
        assert any(copy.startswith(b"k1.b.") for copy in copies)  # re-sealed under the newest key
        sessions_page = laptop.get(url + "/sessions", timeout=10).text
        assert sessions_page.count('class="card session') == 2
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', sessions_page).group(1)
        revoked = sandbox.stats()["revocations"]
        ended = laptop.post(url + "/sessions/end-others", data={"csrf_token": csrf}, allow_redirects=False, timeout=10)
        assert ended.status_code == 302 and sandbox.stats()["revocations"] == revoked + 1  # opened under a
        assert phone.get(url + "/portfolios", allow_redirects=False, timeout=10).status_code == 302
        sandbox.config(backchannel_logout_uri=url + "/backchannel-logout")
        assert [d["status"] for d in sandbox.logout_elsewhere("bob")] == [200]
        assert sandbox.stats()["revocations"] == revoked + 2
    finally:
        service.stop()
    service, url = serve(f"b:{key_b}")  # a retired
    try:
        laptop.portal_url = url
        assert laptop.get(url + "/portfolios", allow_redirects=False, timeout=10).status_code == 200
    finally:
        service.stop()


@pytest.mark.parametrize("server", SERVERS)
def test_without_a_secret_key_every_worker_of_a_development_run_shares_the_one_it_generates(sandbox, redis_url,
                                                                                           server, tmp_path):
    """Seen in the container check's sandbox demo (.env.sandbox sets no SECRET_KEY): one time in four, the page after
    signing in sent alice back to /login. Each of the two workers generated a key of its own, so a session started
    by one was unknown to the other. The server generates the development key once, before its workers start; the
    workers' settings take it. 40 requests, each on a new connection, reach both workers: all are signed in."""
    port = free_port()
    env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", SECRET_KEY=None)
    path = tmp_path / "portal.log"
    with open(path, "w") as log:
        service, url = start_portal(env, port=port, workers=2, threads=2, log=log, server=server)
    try:
        person = Browser(url)
        assert person.sign_in().status_code == 302
        answers = [person.get(url + "/portfolios", allow_redirects=False, timeout=10,
                              headers={"Connection": "close"}).status_code for _ in range(40)]
        assert answers == [200] * 40
        assert "SECRET_KEY is not set: generated one for this run" in path.read_text()  # an operator is told
    finally:
        service.stop()
