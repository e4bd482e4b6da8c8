"""Shared by the benchmarks: a local stack (redis-server, sandbox, portals) and a scripted sign-in."""

import os
import statistics
from contextlib import contextmanager

from tools.clients import Browser, SandboxControl
from tools.stack import free_port, portal_env, start_granian, start_portal, start_redis, start_sandbox


class Stack:
    """The services a benchmark starts (redis-server, the sandbox, gunicorn apps), stopped in reverse on exit."""

    def __init__(self):
        self.services = []
        self.masters = {}  # URL -> pid of the gunicorn master serving it

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for service in reversed(self.services):
            service.stop()

    def _keep(self, started):
        self.services.append(started[0])
        return started[1]

    def redis(self) -> str:
        return self._keep(start_redis())

    def sandbox(self) -> SandboxControl:
        return SandboxControl(self._keep(start_sandbox()))

    def gunicorn(self, env: dict, **options) -> str:
        """Start the portal (or options['app']) under gunicorn; its URL."""
        service, url = start_portal(env, **options)
        self.masters[url] = service.process.pid
        return self._keep((service, url))

    def granian(self, env: dict, app: str = "wsgi:app", workers: int = 2, threads: int = 8,
                port: int | None = None, interface: str = "wsgi") -> str:
        """Start the portal (or app) under granian's WSGI interface (or, "asgi", behind the portal's adapter as the
        image runs it); its URL."""
        service, url = start_granian(env, port=port, app=app, workers=workers, threads=threads, interface=interface)
        self.masters[url] = service.process.pid
        return self._keep((service, url))

    def server(self, kind: str, env: dict, **options) -> str:
        """gunicorn or granian, as kind says, with the same workers and threads."""
        if kind in ("granian", "image"):
            return self.granian(env, app=options.get("app", "wsgi:app"), workers=options.get("workers", 2),
                                threads=options.get("threads", 8), interface="asgi" if kind == "image" else "wsgi")
        return self.gunicorn(env, **options)

    def worker_cpu(self, url: str) -> float:
        """CPU seconds (user and system) the gunicorn workers serving url have used so far (Linux /proc)."""
        return sum(cpu_seconds(pid) for pid in children_of(self.masters[url]))


def children_of(pid: int) -> list[int]:
    return [int(entry) for entry in os.listdir("/proc")
            if entry.isdigit() and (fields := _stat(int(entry))) and int(fields[1]) == pid]


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (state, ppid, ...), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


@contextmanager
def stack(portals: int = 1, threads: int = 16):
    """Start redis-server, the sandbox and `portals` gunicorn processes serving one site."""
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        ports = [free_port() for _ in range(portals)]
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{ports[0]}")
        yield sandbox, [started.gunicorn(env, port=port, workers=1, threads=threads) for port in ports]


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
