"""Layered fixtures: real services (redis-server, sandbox) → app → client → signed-in browser."""

import pytest
import requests

from tools.services import start_redis, start_sandbox


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
