"""Layered fixtures: real services (redis-server, sandbox) → app → client → signed-in browser."""

import os
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from config import Settings
from tools.services import free_port, start_redis, start_sandbox


class Sandbox:
    """Handle on a running sandbox: its URL, knobs and counters."""

    def __init__(self, url):
        self.url = url

    def reset(self):
        requests.post(self.url + "/_sandbox/reset", timeout=5).raise_for_status()

    def config(self, **knobs):
        response = requests.post(self.url + "/_sandbox/config", json=knobs, timeout=5)
        response.raise_for_status()
        return response.json()

    def stats(self):
        return requests.get(self.url + "/_sandbox/stats", timeout=5).json()

    def api_requests(self):
        return requests.get(self.url + "/_sandbox/requests", timeout=5).json()

    def token_requests(self):
        return requests.get(self.url + "/_sandbox/token_requests", timeout=5).json()


@pytest.fixture(scope="session")
def sandbox_service():
    service, url = start_sandbox()
    yield Sandbox(url)
    service.stop()


@pytest.fixture
def sandbox(sandbox_service):
    """The session's sandbox, reset to defaults for each test."""
    sandbox_service.reset()
    return sandbox_service


@pytest.fixture(scope="session")
def redis_url():
    service, url = start_redis()
    yield url
    service.stop()


# -- the portal -------------------------------------------------------------------------


def portal_env(sandbox_url, redis_url, public_url=None, **overrides):
    env = {
        "APP_ENV": "development",
        "NAVEXA_CLIENT_ID": "navexa-portal-dev",
        "NAVEXA_CLIENT_SECRET": "sandbox-client-secret",
        "NAVEXA_AUTH_URL": sandbox_url,
        "NAVEXA_API_URL": sandbox_url + "/api",
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
    }
    if public_url:
        env["PUBLIC_URL"] = public_url
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


class LivePortal:
    """A portal served over a real socket from a thread of the test process."""

    def __init__(self, app, port):
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def redis(self):
        return self.app.extensions["redis"]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_portal(sandbox, redis_url):
    """Start portals with optional environment overrides; all are stopped after the test."""
    from app import create_app

    started = []

    def start(**overrides):
        port = free_port()
        settings = Settings.from_env(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", **overrides))
        portal = LivePortal(create_app(settings), port)
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.stop()


@pytest.fixture
def portal(make_portal):
    return make_portal()


class Browser(requests.Session):
    """A cookie-keeping HTTP client that signs in the way a person's browser would."""

    def __init__(self, portal, sandbox):
        super().__init__()
        self.portal, self.sandbox = portal, sandbox

    def start_login(self, path="/login"):
        """GET the portal's /login; return the sandbox authorize URL it redirects to."""
        response = self.get(self.portal.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def approve(self, authorize_url, username="alice", decision="allow"):
        """Sign in at the sandbox; return the portal callback URL it redirects to."""
        page = self.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        answer = self.post(authorize_url, data={"username": username, "decision": decision},
                           allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def sign_in(self, username="alice", path="/login"):
        """Run the whole flow; return the portal's answer to /callback (not followed)."""
        callback = self.approve(self.start_login(path), username)
        return self.get(callback, allow_redirects=False, timeout=10)

    def session_id(self):
        return self.cookies.get("navexa_portal_session")

    def csrf(self):
        page = self.get(self.portal.url + "/logout", timeout=10).text
        marker = 'name="csrf_token" value="'
        return page.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
def browser(portal, sandbox):
    return Browser(portal, sandbox)


@pytest.fixture
def signed_in(browser):
    response = browser.sign_in("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/portfolios", response.text
    return browser


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


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
