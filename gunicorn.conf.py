"""gunicorn settings for Navexa Portal: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden on the command line; the environment variables below are the
operator's knobs (see README, "Running it in production").
"""

import os
import shutil
import tempfile

from gunicorn import glogging

from portal.core.observability.logformat import dict_config
from portal.settings import generate_development_key

generate_development_key()  # in the main process: one key for every worker of a development run without SECRET_KEY
bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))  # processes: about one per core
threads = int(os.environ.get("GUNICORN_THREADS", "8"))  # per process: requests mostly wait on Navexa and Redis
# uvicorn's worker with the portal's ASGI adapter around the WSGI app (portal/worker.py): a request's body is read
# before one of `threads` threads runs the app, so slow clients hold no thread, as under the image's granian.
worker_class = "portal.worker.Worker"
# A worker silent this long is restarted: longer than the longest legitimate wait (a refresh may take
# 35 s, then Navexa's read timeout of 15 s), so only a stuck worker is.
timeout = 60
graceful_timeout = 30  # on SIGTERM, requests in flight get this long to finish
keepalive = 5  # s an idle connection from the reverse proxy is kept
control_socket_disable = True  # gunicorn 27's control socket needs a writable $HOME; the portal's user has none
# The reverse proxy's X-Forwarded-* headers are honoured by the portal itself (TRUSTED_PROXY_COUNT), not here.
forwarded_allow_ips = "127.0.0.1"
accesslog = None  # the portal writes one JSON line per request itself (portal.web.requestlog)
errorlog = "-"


class Logger(glogging.Logger):
    """gunicorn's logger, whose access line is written only when an operator asks for it (--access-logfile):
    with a logconfig_dict, gunicorn would otherwise write it for every request, beside the portal's own."""

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


logger_class = Logger

logconfig_dict = dict_config(os.environ.get("LOG_LEVEL", "INFO"), ("gunicorn.error", "gunicorn.access"))

# Metrics (only when /metrics is on): each worker writes its counters under this directory and /metrics
# adds them up (prometheus-client's multiprocess mode). One directory per gunicorn master, made empty.
# Made here, as the master reads this file: before anything could create a metric.
if os.environ.get("METRICS_TOKEN"):
    _metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                         os.path.join(tempfile.gettempdir(), f"navexa-portal-metrics-{os.getpid()}"))
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
