"""Navexa Portal under granian (a Rust HTTP server for WSGI apps): `python serve.py`.

The same knobs as gunicorn.conf.py: BIND, WEB_CONCURRENCY (worker processes), GUNICORN_THREADS (threads each),
LOG_LEVEL; JSON log lines on stderr through the portal's own formatter and redaction, one line a request
(the portal's; granian's access log stays off); Prometheus's multiprocess directory made fresh when /metrics is
on; on SIGTERM, requests in flight get 30 s to finish. Granian reads each request's headers in Rust and the portal's
ASGI adapter reads its body in the event loop before a Python thread sees it, so slow clients cost no thread
(bench/slow_clients.py; tests/test_operations.py).
"""

import contextlib
import os
import shutil
import tempfile
import threading

GRACEFUL_TIMEOUT = 30  # s requests in flight get on SIGTERM, as gunicorn.conf.py's graceful_timeout
HEADER_READ_TIMEOUT = 10_000  # ms a client may take to send its request's headers


def main():
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    from portal.asgi import DRAIN_SECONDS
    from portal.core.observability.logformat import dict_config
    from portal.settings import generate_development_key

    class DrainingServer(Server):
        """On the first SIGTERM: the workers' /readyz answers 503 at once (the flag file), requests go on being
        answered for DRAIN_SECONDS, then granian stops as it does (finishing those in flight)."""

        drain_started = False

        def signal_handler_interrupt(self, *args, **kwargs):
            if not self.drain_started and DRAIN_SECONDS > 0:
                self.drain_started = True
                open(drain_flag, "w").close()  # noqa: SIM115 - a flag: its existence is the message
                threading.Timer(DRAIN_SECONDS, super().signal_handler_interrupt, args, kwargs).start()
                return
            super().signal_handler_interrupt(*args, **kwargs)

    drain_flag = os.path.join(tempfile.gettempdir(), f"navexa-portal-draining-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.remove(drain_flag)
    os.environ["PORTAL_DRAIN_FLAG"] = drain_flag  # the workers' adapter looks for it (asgi.py)
    generate_development_key()  # one key for every worker of a development run without SECRET_KEY
    host, _, port = os.environ.get("BIND", "0.0.0.0:8000").rpartition(":")
    if os.environ.get("METRICS_TOKEN"):
        metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(
            tempfile.gettempdir(), f"navexa-portal-metrics-{os.getpid()}"))
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.makedirs(metrics_dir, exist_ok=True)
    # ASGI, with the portal's own adapter (asgi.py, portal/asgi.py): each request's body is read in the event loop
    # before one of GUNICORN_THREADS threads runs the WSGI app, so a slow body holds no thread (issue 28, N2).
    DrainingServer("asgi:app", address=host or "0.0.0.0", port=int(port), interface=Interfaces.ASGI,  # noqa: S104 - in a container
           workers=int(os.environ.get("WEB_CONCURRENCY", "2")),
           log_dictconfig=dict_config(os.environ.get("LOG_LEVEL", "INFO"), ("_granian", "granian.access")),
           log_access=False,
           respawn_failed_workers=True, workers_kill_timeout=GRACEFUL_TIMEOUT,
           http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT)).serve()
    with contextlib.suppress(FileNotFoundError):
        os.remove(drain_flag)  # stopped: the next server's workers start ready


if __name__ == "__main__":
    main()
