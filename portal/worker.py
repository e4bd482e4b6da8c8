"""gunicorn's worker for Navexa Portal (gunicorn.conf.py's worker_class): uvicorn's, serving the portal's WSGI app
through portal.asgi.BufferedWSGI on `--threads` threads, as the image's granian serves it. So under gunicorn too a
request's body is read in the event loop before a thread runs the app (a slow body holds no thread: issue 28, N2),
the proxy's path rules see the raw target, and a second Host header is refused. `gunicorn -c gunicorn.conf.py
wsgi:app` is unchanged: the worker wraps whatever WSGI app it loads."""

import logging
import signal
import threading

from uvicorn import Server
from uvicorn_worker import UvicornWorker

from .asgi import DRAIN_SECONDS, BufferedWSGI

log = logging.getLogger(__name__)


class DrainingServer(Server):
    """uvicorn's server, which on its first SIGTERM only starts draining: /readyz answers 503 at once, requests go on
    being answered for DRAIN_SECONDS, then it stops as uvicorn does (finishing those in flight)."""

    def __init__(self, config, adapter: BufferedWSGI):
        super().__init__(config)
        self.adapter = adapter

    def handle_exit(self, sig, frame):
        if sig == signal.SIGTERM and not self.adapter.draining and DRAIN_SECONDS > 0:
            self.adapter.draining = True
            log.info("SIGTERM: /readyz answers 503; stopping in %.0f s", DRAIN_SECONDS)
            threading.Timer(DRAIN_SECONDS, super().handle_exit, (sig, frame)).start()
            return
        super().handle_exit(sig, frame)


class Worker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "on", "access_log": False, "server_header": False,
                     "date_header": True, "proxy_headers": False}  # X-Forwarded-*: the portal's ProxyFix, not here

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = self.cfg.graceful_timeout  # requests in flight finish on SIGTERM
        self.config.access_log = bool(self.cfg.accesslog)  # an access line only when an operator asks for one
        for name in ("uvicorn.access", "uvicorn.error"):  # uvicorn's lines as the portal's: JSON, redacted
            uvicorn_log = logging.getLogger(name)
            uvicorn_log.handlers, uvicorn_log.propagate = [], True

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(self.config, self.wsgi)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)

    def load_wsgi(self):
        super().load_wsgi()
        if not isinstance(self.wsgi, BufferedWSGI):
            self.wsgi = BufferedWSGI(self.wsgi, threads=self.cfg.threads)
