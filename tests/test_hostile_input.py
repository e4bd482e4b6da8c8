"""Hostile input, generated: 12,000 requests over /login?next=, /callback, session cookies, the state-changing
forms, POST /backchannel-logout and the sessions page's forms,
signed out and signed in. None may answer 500, echo markup unescaped, redirect off the site, or
show or log a token, code, verifier or secret.

The portal runs in this process behind Flask's test client (no socket per request, so ten thousand
requests stay quick); the sandbox and Redis behind it are real. EXAMPLES says how many each test makes.
"""

import json
import logging
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.app import create_app
from portal.core.storage.keyspace import PENDING
from portal.core.storage.sealing import decode_key
from portal.settings import Settings
from portal.web.cookies import key_cookie
from portal.web.services import services
from portal.web.session_store import SESSION_COOKIE
from tests.helpers import PINNED_TODAY, query_of, session_key
from tools.clients import Browser
from tools.stack import SANDBOX_CLIENT_SECRET, portal_env

pytestmark = pytest.mark.soak  # ten thousand generated requests: `make test` runs them, `make test-fast` doesn't
EXAMPLES = {"login": 2500, "callback": 2500, "callback_signed_in": 2000, "cookies": 2000, "forms": 1000,
            "backchannel": 1000, "session_forms": 1000, "signed_logout_tokens": 200, "bodies": 400}
PUBLIC_URL = "http://127.0.0.1:5999"  # a loopback redirect URI the sandbox accepts; nothing listens there
HOSTILE = [
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; alert(1); '", "//evil.example",
    "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "\r\nSet-Cookie: x=1", "%0d%0aSet-Cookie:x=1",
    "%2F%2Fevil.example", "%252F%252Fevil.example", "/%2F/evil.example", "/\t/evil.example", "\x00", "é", "😀",
    "../../../etc/passwd", "{{7*7}}", "${jndi:ldap://x}", "A" * 5000, "", " ", "%", "%%", "%zz", "&&&", "==",
]
# Markup our pages never contain: if one of these arrives in a value, it must not come back out.
MARKERS = ("<zz", "<script>", "<img")  # our one script tag has a src: "<script>" is always injected


def doubled(value: str) -> str:
    return quote(quote(value, safe=""), safe="")


values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40).map(lambda t: f"<zz>{t}</zz>"),
    st.text(max_size=40).map(lambda t: f"\"'><zz a='{t}'>"),
    st.sampled_from(HOSTILE).map(lambda v: quote(v, safe="")),
    st.sampled_from(HOSTILE).map(doubled),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=200),
    st.text(alphabet="/\\.%:?#&=@;<>\"' \t\r\nabcAZ09", max_size=60),
)
CALLBACK_NAMES = ["state", "code", "error", "error_description", "next", "iss", "session_state"]


@pytest.fixture(scope="module")
def app(sandbox_service, redis_url):
    # Thousands of sign-in requests from one address: the rate limit (tested elsewhere) stays out of the way.
    env = portal_env(sandbox_service.url, redis_url, PUBLIC_URL, RATE_LIMIT_SIGN_IN="1000000 per minute",
                     RATE_LIMIT_BACKCHANNEL_LOGOUT="1000000 per minute")
    application = create_app(Settings.from_env(env), today=lambda: PINNED_TODAY)
    application.testing = False  # errors take the same path as in production
    return application


class LogCollector(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines, self.tracebacks = [], 0

    def emit(self, record):
        self.lines.append(record.getMessage())
        self.tracebacks += record.exc_info is not None


@pytest.fixture(scope="module")
def logs():
    collector = LogCollector()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    yield collector
    root.removeHandler(collector)
    root.setLevel(previous)


@pytest.fixture(autouse=True)
def logs_stay_clean(logs, secrets_to_hide):
    """After each generated test (whichever process ran it): it logged, and no traceback or secret reached the logs."""
    first = len(logs.lines)
    tracebacks = logs.tracebacks
    yield
    written = logs.lines[first:]
    assert written, "the generated requests logged nothing: the check below would be empty"
    assert logs.tracebacks == tracebacks
    text = "\n".join(written)
    assert "Traceback" not in text
    for secret in secrets_to_hide:
        assert secret not in text


def sign_in_test_client(app, sandbox_url, username="alice"):
    """Sign in through the test client (portal) and a real browser client (sandbox); return the cookies."""
    client = app.test_client()
    authorize = client.get("/login").headers["Location"]
    callback = Browser(sandbox_url).approve(authorize, username)
    parts = urlsplit(callback)
    answer = client.get(parts.path, query_string=parts.query)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


@pytest.fixture(scope="module")
def signed_in_cookies(app, sandbox_service):
    return sign_in_test_client(app, sandbox_service.url)


@pytest.fixture(scope="module")
def secrets_to_hide(app, signed_in_cookies):
    record = services(app).tokens.load(app.session_interface.stored(signed_in_cookies[SESSION_COOKIE]),
                                       decode_key(signed_in_cookies[key_cookie.dev_name]))
    return [SANDBOX_CLIENT_SECRET, record.access_token, record.refresh_token, signed_in_cookies[key_cookie.dev_name]]


def client_with(app, cookies: dict):
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value, domain="localhost")
    return client


def check(response, sent: list[str], secrets: list[str]):
    """What must hold for every answer, whatever was sent."""
    body = response.get_data(as_text=True)
    assert response.status_code != 500, body[:300]
    assert response.status_code < 500 or response.status_code in (502, 503, 504)
    assert "Traceback" not in body
    for value in sent:
        for marker in MARKERS:
            if marker in value.lower():
                assert marker not in body.lower(), f"unescaped payload {value!r}"
    for secret in secrets:
        assert secret not in body and secret not in str(response.headers)
    assert "code_verifier" not in body
    location = response.headers.get("Location")
    if location:
        if location.startswith("/"):
            assert not location.startswith(("//", "/\\")), location
        else:
            host = urlsplit(location).netloc
            assert host in (urlsplit(PUBLIC_URL).netloc, urlsplit(services_url.value).netloc), location
    for cookie in response.headers.getlist("Set-Cookie"):
        assert "x=1" not in cookie


class services_url:  # noqa: N801 - a holder for the sandbox's address, set by a fixture
    value = ""


@pytest.fixture(scope="module", autouse=True)
def remember_sandbox(sandbox_service):
    services_url.value = sandbox_service.url


SHARDS = 4  # each fuzz test runs as this many tests of EXAMPLES / SHARDS each, so `make test`'s processes share them


def fuzz_settings(name):
    def decorate(test):
        sharded = settings(max_examples=EXAMPLES[name] // SHARDS, deadline=None, database=None,
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])(test)
        return pytest.mark.parametrize("shard", range(SHARDS))(sharded)

    return decorate


@fuzz_settings("login")
@given(nexts=st.lists(values, max_size=3), extra=st.lists(st.tuples(st.sampled_from(["organization", "invitation",
                                                                                      "expired"]), values), max_size=2))
def test_login_with_any_next(shard, app, secrets_to_hide, logs, nexts, extra):
    query = urlencode([("next", n) for n in nexts] + extra)
    response = app.test_client().get("/login", query_string=query)
    check(response, nexts + [v for _, v in extra], secrets_to_hide)
    if response.status_code == 302 and not response.headers["Location"].startswith("/"):
        state = query_of(response.headers["Location"])["state"]
        stored = services(app).redis.hget(PENDING + state, "data")
        kept = json.loads(stored)["next"] if stored else None
        assert kept is None or (kept.startswith("/") and not kept.startswith(("//", "/\\")) and len(kept) <= 1024)


callback_pairs = st.lists(st.tuples(st.sampled_from(CALLBACK_NAMES), values), max_size=6)


@fuzz_settings("callback")
@given(pairs=callback_pairs, real_state=st.integers(0, 3).map(lambda n: n == 0), raw=st.booleans())
def test_callback_with_anything_signed_out(shard, app, secrets_to_hide, logs, pairs, real_state, raw):
    client = app.test_client()
    if real_state:  # a pending login this browser really started, answered with hostile values
        state = query_of(client.get("/login").headers["Location"])["state"]
        pairs = [("state", state)] + [(n, v) for n, v in pairs if n != "state"]
    query = "&".join(f"{n}={v}" for n, v in pairs) if raw else urlencode(pairs)
    response = client.get("/callback?" + query)
    check(response, [v for _, v in pairs], secrets_to_hide)


@fuzz_settings("callback_signed_in")
@given(pairs=callback_pairs)
def test_callback_with_anything_signed_in(shard, app, signed_in_cookies, secrets_to_hide, logs, pairs):
    response = client_with(app, signed_in_cookies).get("/callback", query_string=urlencode(pairs))
    check(response, [v for _, v in pairs], secrets_to_hide)
    assert response.status_code in (302, 400)
    assert services(app).redis.exists(session_key(app.session_interface.stored(signed_in_cookies[SESSION_COOKIE])))  # still signed in


# Browsers send at most about 4 KB of cookie: longer values never reach a server.
cookie_values = st.one_of(values, st.text(alphabet="ABCabc0123456789-_", min_size=43, max_size=43)).map(lambda v: v[:3000])


@fuzz_settings("cookies")
@given(session_cookie=cookie_values, key=st.one_of(st.none(), cookie_values), binding=st.one_of(st.none(), cookie_values),
       path=st.sampled_from(["/", "/portfolios", "/portfolios/101", "/api/portfolios", "/logout", "/login",
                             "/callback?state=x&code=y", "/healthz", "/portfolios/101/holdings.csv"]))
def test_any_session_cookie(shard, app, secrets_to_hide, logs, session_cookie, key, binding, path):
    cookies = {SESSION_COOKIE: session_cookie, key_cookie.dev_name: key, "navexa_portal_login": binding}
    client = client_with(app, {k: v for k, v in cookies.items() if v is not None and "\x00" not in v})
    response = client.get(path)
    check(response, [session_cookie, key or "", binding or ""], secrets_to_hide)
    assert response.status_code in (200, 302, 400, 401, 403, 404)  # 403: /api/ without X-CSRF


@fuzz_settings("forms")
@given(csrf=st.one_of(values, st.none()), header=st.one_of(values, st.none()),
       path=st.sampled_from(["/logout", "/api/portfolios"]))
def test_state_changing_requests_with_any_csrf_value(shard, app, signed_in_cookies, secrets_to_hide, logs, csrf, header, path):
    # What reaches a server as a header: bytes read as latin-1, no line breaks (HTTP can't carry them).
    wire = header.encode("utf-8", "surrogatepass").decode("latin-1").replace("\r", "").replace("\n", "") if header else None
    headers = {"X-CSRF": wire} if wire else {}
    data = {"csrf_token": csrf} if csrf is not None else None
    response = client_with(app, signed_in_cookies).post(path, data=data, headers=headers)
    check(response, [csrf or "", header or ""], secrets_to_hide)
    assert response.status_code in (400, 403)  # never accepted: the values are never the session's token
    assert services(app).redis.exists(session_key(app.session_interface.stored(signed_in_cookies[SESSION_COOKIE])))


def b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()


# Almost-JWTs: three parts, whose header and claims are JSON-ish and hostile, and any signature.
almost_jwts = st.builds(lambda header, claims, signature: f"{b64(header)}.{b64(claims)}.{b64(signature)}",
                        st.one_of(values, st.sampled_from(['{"alg":"none"}', '{"alg":"HS256"}', '{"alg":"RS256","kid":"x"}'])),
                        st.one_of(values, st.just('{"events":{"http://schemas.openid.net/event/backchannel-logout":{}}}')),
                        values)


@fuzz_settings("backchannel")
@given(fields=st.lists(st.tuples(st.sampled_from(["logout_token", "logout_token", "sid", "sub", "state"]),
                                 st.one_of(values, almost_jwts)), max_size=3))
def test_backchannel_logout_with_any_form(shard, app, signed_in_cookies, secrets_to_hide, logs, fields):
    from werkzeug.datastructures import MultiDict

    response = app.test_client().post("/backchannel-logout", data=MultiDict(fields))
    check(response, [v for _, v in fields], secrets_to_hide)
    assert response.status_code == 400 and response.is_json and response.headers["Cache-Control"] == "no-store"
    assert services(app).redis.exists(session_key(app.session_interface.stored(signed_in_cookies[SESSION_COOKIE])))  # nobody was signed out


@fuzz_settings("session_forms")
@given(path=st.sampled_from(["/sessions/end", "/sessions/end-others", "/sessions/end-everywhere"]),
       csrf=st.one_of(values, st.none()), handle=st.one_of(values, st.none()), same_site=st.booleans())
def test_the_session_forms_with_any_values(shard, app, signed_in_cookies, secrets_to_hide, logs, path, csrf, handle,
                                           same_site):
    cookies = {k: v for k, v in signed_in_cookies.items() if same_site or k != "navexa_portal_same_site"}
    data = {k: v for k, v in {"csrf_token": csrf, "session": handle}.items() if v is not None}
    response = client_with(app, cookies).post(path, data=data)
    check(response, [csrf or "", handle or ""], secrets_to_hide)
    assert response.status_code in (400, 403)  # never accepted: the values are never the session's token
    assert services(app).redis.exists(session_key(app.session_interface.stored(signed_in_cookies[SESSION_COOKIE])))


# Tenant-signed logout tokens whose numbers are anything JSON can carry, non-finite ones included (N8: a NaN iat was a
# 500 with a traceback). Each is signed by the sandbox's tenant key: only its claims are hostile.
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70),
                    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -0.0, True, None, "1", []]))


@fuzz_settings("signed_logout_tokens")
@given(claims=st.dictionaries(st.sampled_from(["iat", "exp", "nbf"]), numbers, min_size=1, max_size=3),
       user=st.sampled_from(["alice", None]))
def test_backchannel_logout_with_any_number_in_a_signed_token(shard, app, signed_in_cookies, secrets_to_hide, logs,
                                                               claims, user, sandbox_service):
    from tools.clients import SandboxControl

    sandbox = SandboxControl(sandbox_service.url)
    token = sandbox.logout_token(user, claims=claims)
    response = app.test_client().post("/backchannel-logout", data={"logout_token": token})
    check(response, [], secrets_to_hide)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    logging.getLogger(__name__).info("signed logout token with %s: %s", sorted(claims), response.status_code)
    if response.status_code == 200:  # numbers a tenant may sign and that hold (a finite iat, a future exp): it ended
        restore = sign_in_test_client(app, sandbox_service.url)
        signed_in_cookies.update(restore)
        secrets_to_hide[:] = secrets_to_hide[:1] + [v for v in secrets_of(app, restore)]


def secrets_of(app, cookies):
    record = services(app).tokens.load(app.session_interface.stored(cookies[SESSION_COOKIE]),
                                       decode_key(cookies[key_cookie.dev_name]))
    return [record.access_token, record.refresh_token, cookies[key_cookie.dev_name]]


# Bodies on every anonymous POST, through the ASGI adapter both servers run (portal.asgi): any size up to past the
# limit, any chunking, an honest or lying Content-Length, and a client too slow to finish. Never a 500, never a
# thread held by a slow body, and a body within the limit sent in time reaches the app.
@fuzz_settings("bodies")
@given(path=st.sampled_from(["/backchannel-logout", "/logout", "/login", "/callback", "/sessions/end"]),
       size=st.one_of(st.integers(0, 2048), st.integers(1024 * 1024 - 16, 1024 * 1024 + 16)),
       pieces=st.integers(1, 5), lie=st.sampled_from([None, 0, -1, 1, 10**9]), stalls=st.booleans())
def test_any_body_on_an_anonymous_post_through_the_servers_adapter(shard, app, secrets_to_hide, logs, path, size,
                                                                   pieces, lie, stalls):
    import asyncio

    from portal.asgi import BufferedWSGI
    from portal.settings import MAX_BODY

    body = b"logout_token=" + b"a" * size
    announced = len(body) if lie is None else max(0, len(body) + lie) if lie in (-1, 0, 1) else lie
    chunks = [body[i * len(body) // pieces:(i + 1) * len(body) // pieces] for i in range(pieces)]
    adapter = BufferedWSGI(app.wsgi_app, threads=2, body_deadline=0.2)
    sent = []

    async def receive():
        if chunks:
            chunk = chunks.pop(0)
            if stalls and not chunks:
                await asyncio.sleep(1)  # the last piece never comes in time
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        await asyncio.sleep(1)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(announced).encode())], "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 80)}
    asyncio.run(adapter(scope, receive, send))
    adapter.executor.shutdown(wait=True)
    status = sent[0]["status"]
    logging.getLogger(__name__).info("%s with %d bytes (announced %d): %s", path, len(body), announced, status)
    assert status != 500 and status < 500 or status in (502, 503, 504)
    if announced > MAX_BODY:
        assert status == 413  # refused before a byte of the body is read
    elif stalls:
        assert status in (408, 413)  # too slow (or past the limit before it stalled): never a thread held
    elif len(body) > MAX_BODY:
        assert status == 413
    else:
        assert status not in (408, 413)  # within the limit and in time: the app itself answered
