"""Navexa Portal under granian (a Rust HTTP server for WSGI apps): `python serve.py`.

The same knobs as gunicorn.conf.py: BIND, WEB_CONCURRENCY (worker processes), GUNICORN_THREADS (threads each),
LOG_LEVEL; JSON log lines on stderr through the portal's own formatter and redaction, one line a request
(the portal's; granian's access log stays off); Prometheus's multiprocess directory made fresh when /metrics is
on; on SIGTERM, requests in flight get 30 s to finish. Granian reads each request's headers in Rust and the portal's
ASGI adapter reads its body in the event loop before a Python thread sees it, so slow clients cost no thread
(bench/slow_clients.py; tests/test_operations.py).
"""

import os
import shutil
import tempfile

GRACEFUL_TIMEOUT = 30  # s requests in flight get on SIGTERM, as gunicorn.conf.py's graceful_timeout
HEADER_READ_TIMEOUT = 10_000  # ms a client may take to send its request's headers


def main():
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    from portal.core.observability.logformat import dict_config

    host, _, port = os.environ.get("BIND", "0.0.0.0:8000").rpartition(":")
    if os.environ.get("METRICS_TOKEN"):
        metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(
            tempfile.gettempdir(), f"navexa-portal-metrics-{os.getpid()}"))
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.makedirs(metrics_dir, exist_ok=True)
    # ASGI, with the portal's own adapter (asgi.py, portal/asgi.py): each request's body is read in the event loop
    # before one of GUNICORN_THREADS threads runs the WSGI app, so a slow body holds no thread (issue 28, N2).
    Server("asgi:app", address=host or "0.0.0.0", port=int(port), interface=Interfaces.ASGI,  # noqa: S104 - in a container
           workers=int(os.environ.get("WEB_CONCURRENCY", "2")),
           log_dictconfig=dict_config(os.environ.get("LOG_LEVEL", "INFO"), ("_granian", "granian.access")),
           log_access=False,
           respawn_failed_workers=True, workers_kill_timeout=GRACEFUL_TIMEOUT,
           http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT)).serve()


if __name__ == "__main__":
    main()
