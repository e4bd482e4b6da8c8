"""Shared by the benchmarks: a local stack (redis-server, sandbox, portals) and a scripted sign-in."""

import statistics
from contextlib import contextmanager

from tools.clients import Browser, SandboxControl
from tools.services import free_port, portal_env, start_portal, start_redis, start_sandbox


@contextmanager
def stack(portals: int = 1, threads: int = 16):
    """Start redis-server, the sandbox and `portals` gunicorn processes serving one site."""
    services = []
    try:
        redis_service, redis_url = start_redis()
        services.append(redis_service)
        sandbox_service, sandbox_url = start_sandbox()
        services.append(sandbox_service)
        ports = [free_port() for _ in range(portals)]
        env = portal_env(sandbox_url, redis_url, f"http://127.0.0.1:{ports[0]}")
        urls = []
        for port in ports:
            service, url = start_portal(env, port=port, workers=1, threads=threads)
            services.append(service)
            urls.append(url)
        yield SandboxControl(sandbox_url), urls
    finally:
        for service in reversed(services):
            service.stop()


def sign_in(portal_url: str, username: str = "alice") -> Browser:
    """Sign in through the sandbox's form, as a browser would; return the signed-in client."""
    browser = Browser(portal_url)
    landed = browser.sign_in(username)
    assert landed.status_code == 302, landed.text
    return browser


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values):
    return statistics.median(values)
