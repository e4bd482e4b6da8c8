"""Shared by the benchmarks: a local stack (redis-server, sandbox, portals) and a scripted sign-in."""

import statistics
from contextlib import contextmanager
from urllib.parse import urljoin

import requests

from tools.services import free_port, start_portal, start_redis, start_sandbox

CLIENT = {"NAVEXA_CLIENT_ID": "navexa-portal-dev", "NAVEXA_CLIENT_SECRET": "sandbox-client-secret"}


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
        env = {"APP_ENV": "development", **CLIENT, "NAVEXA_AUTH_URL": sandbox_url,
               "NAVEXA_API_URL": sandbox_url + "/api", "REDIS_URL": redis_url,
               "PUBLIC_URL": f"http://127.0.0.1:{ports[0]}", "SECRET_KEY": "bench-" + "k" * 32}
        urls = []
        for port in ports:
            service, url = start_portal(env, port=port, workers=1, threads=threads)
            services.append(service)
            urls.append(url)
        yield sandbox_url, urls
    finally:
        for service in reversed(services):
            service.stop()


def sandbox_config(sandbox_url, **knobs):
    requests.post(sandbox_url + "/_sandbox/config", json=knobs, timeout=10).raise_for_status()


def sandbox_stats(sandbox_url):
    return requests.get(sandbox_url + "/_sandbox/stats", timeout=10).json()


def sign_in(portal_url: str, username: str = "alice") -> requests.Session:
    """Sign in through the sandbox's form, as a browser would; return the signed-in session."""
    http = requests.Session()
    authorize = http.get(portal_url + "/login", allow_redirects=False, timeout=10).headers["Location"]
    http.get(authorize, timeout=10).raise_for_status()
    callback = http.post(authorize, data={"username": username, "decision": "allow"},
                         allow_redirects=False, timeout=10).headers["Location"]
    landed = http.get(callback, allow_redirects=False, timeout=10)
    assert landed.status_code == 302, landed.text
    http.headers["Referer"] = urljoin(portal_url, "/")
    return http


def clone(http: requests.Session) -> requests.Session:
    twin = requests.Session()
    twin.cookies.update(http.cookies)
    return twin


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values):
    return statistics.median(values)
