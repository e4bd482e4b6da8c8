"""Layered fixtures: real services (redis-server, sandbox) → app → live portal → signed-in browser."""

import inspect
import os
import secrets
from types import SimpleNamespace

import pytest
import redis

from portal.app import create_app
from portal.core.storage.keyspace import GATE, NAVEXA_PATHS, RATE_LIMIT
from portal.settings import Settings
from tests.helpers import PINNED_TODAY, BytecodeCache, LivePortal, MovableClock, PortalBrowser
from tools.clients import SandboxControl
from tools.stack import free_port, portal_env, start_redis, start_sandbox


@pytest.fixture(scope="session")
def sandbox_service():
    service, url = start_sandbox()
    yield SandboxControl(url)
    service.stop()


@pytest.fixture
def sandbox(sandbox_service, redis_url):
    """The session's sandbox, reset to defaults for each test; and no upstream pause or rate, nor a rate-limit
    counter, left in the shared Redis by an earlier test (they are per person, per tenant and per address, as in
    production, and every test's browser is 127.0.0.1)."""
    sandbox_service.reset()
    forget_pauses_and_limits(redis_url)
    return sandbox_service


def forget_pauses_and_limits(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    for pattern in (GATE + "*", f"*{RATE_LIMIT}*", NAVEXA_PATHS + "*"):  # the limiter's storage prefixes ours
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture(scope="session")
def redis_url():
    service, url = start_redis()
    yield url
    service.stop()


LONE_DB = 1  # lone_portal's database on the shared server (each xdist worker has its own server)
TEMPLATES = BytecodeCache()  # compiled once a run, whichever test's app renders a template first


@pytest.fixture
def make_portal(sandbox, redis_url):
    """Start portals with environment overrides (and create_app options); all are stopped after the test."""
    started = []
    secret_key = secrets.token_hex(32)  # one for every portal of the test, as every container shares SECRET_KEY

    def start(options: dict | None = None, **env):
        port = free_port()
        settings = Settings.from_env(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                                                **{"SECRET_KEY": secret_key, **env}))
        clock = MovableClock()
        app = create_app(settings, **{"clock": clock, "today": lambda: PINNED_TODAY, **(options or {})})
        app.jinja_env.bytecode_cache = TEMPLATES
        portal = LivePortal(app, port, clock)
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.stop()


@pytest.fixture
def portal(make_portal):
    return make_portal()


@pytest.fixture
def lone_portal(make_portal, redis_url):
    """A portal on a Redis database of its own (emptied first): a person's session index holds only this test's
    sessions, and a SCAN sees only its keys. The server is the test process's own, so no process starts."""
    url = redis_url.rstrip("/") + f"/{LONE_DB}"
    redis.Redis.from_url(url).flushdb()
    return make_portal(REDIS_URL=url)


@pytest.fixture
def browser(portal, sandbox):
    return PortalBrowser(portal, sandbox)


@pytest.fixture
def signed_in(browser):
    response = browser.sign_in("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/portfolios", response.text
    return browser


@pytest.fixture
def as_user(browser):
    def sign_in(username):
        response = browser.sign_in(username)
        assert response.status_code == 302, response.text
        return browser

    return sign_in


# -- real browser (Debian's Chromium through Playwright) --------------------------------


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        # Outside CI a missing browser skips; in CI a skip fails the run (see pytest_sessionfinish).
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-AU")
    yield context.new_page()
    context.close()


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failure: nothing may quietly not run."""
    if not os.environ.get("CI") or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; in CI every test must run.", red=True)
        session.exitstatus = 1


# -- markers ------------------------------------------------------------------------------------------------


PROCESS_STARTERS = ("start_redis(", "start_sandbox(", "start_portal(", "start_granian(", "subprocess.", "Popen(",
                    "signed_in_then_redis_stops(", "redis_topologies", "serve(")


def starts_processes(function, depth: int = 2) -> bool:
    """Whether a function's source starts a process, or a test helper it calls does (to `depth` calls)."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    if any(starter in source for starter in PROCESS_STARTERS):
        return True
    if depth <= 0:
        return False
    helpers = [function.__globals__.get(name) for name in getattr(getattr(function, "__code__", None), "co_names", ())]
    return any(starts_processes(helper, depth - 1) for helper in helpers
               if inspect.isfunction(helper) and helper.__module__.startswith("tests."))


def pytest_collection_modifyitems(config, items):
    """Mark `processes` every test that starts a process of its own (a redis-server, a sandbox, a served portal, a
    CLI), in its body or through a per-test fixture: `make test` and CI run them, `make test-fast` doesn't.
    Session-wide servers (redis_url, sandbox_service) are shared by the whole run and don't count."""
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        fixtures = [d for defs in (definitions.name2fixturedefs.values() if definitions else ()) for d in defs
                    if d.scope == "function"]
        if starts_processes(getattr(item, "function", None)) or any(starts_processes(d.func) for d in fixtures):
            item.add_marker(pytest.mark.processes)


# -- the page layer: the portal's pages in-process over the sandbox's own data -----------------------------------


class PageReader:
    """One person reading the portal's pages through Flask's test client, signed in in-process, with Navexa the
    sandbox's API in-process (tests/fake_navexa.SandboxNavexa): the page layer, for the pages' edge cases."""

    def __init__(self, app, navexa):
        self.app, self.navexa, self.client = app, navexa, app.test_client()
        self.portal = SimpleNamespace(url="", clock=app.extensions["navexa_portal"].clock)

    def get(self, url, allow_redirects=False, timeout=None, **kwargs):
        return self.client.get(url, follow_redirects=allow_redirects, **kwargs)


@pytest.fixture
def read_as(redis_url):
    """read_as("erin"): a PageReader signed in as that person (no provider: the session is started here)."""

    forget_pauses_and_limits(redis_url)

    def make(username: str) -> PageReader:
        from portal.web import sessions
        from sandbox.data import USERS
        from tests.fake_navexa import SandboxNavexa

        env = portal_env("http://idp.invalid", redis_url, "http://127.0.0.1:5999",
                         NAVEXA_API_URL="http://navexa.invalid/api")
        app = create_app(Settings.from_env(env), clock=MovableClock(), today=lambda: PINNED_TODAY)
        app.jinja_env.bytecode_cache = TEMPLATES
        navexa = SandboxNavexa(username)
        app.extensions["navexa_portal"].navexa.pool = navexa
        person = USERS[username]

        def sign_in():
            sessions.start(sessions.User(person["sub"], person["name"], person["email"]),
                           {"access_token": "page-layer", "refresh_token": "page-layer", "expires_in": 86400})
            return "signed in"

        app.add_url_rule("/_test/sign-in", "test_sign_in", sign_in)
        reader = PageReader(app, navexa)
        assert reader.client.get("/_test/sign-in").status_code == 200
        return reader

    return make
