"""The ASGI entry point the image's server runs (serve.py: granian's ASGI interface): the portal's WSGI app (wsgi.py)
behind portal.asgi.BufferedWSGI, which reads each request's body before a thread runs the app."""

import os

from portal.asgi import BufferedWSGI
from wsgi import app as wsgi_app

app = BufferedWSGI(wsgi_app, threads=int(os.environ.get("GUNICORN_THREADS", "8")),
                   drain_flag=os.environ.get("PORTAL_DRAIN_FLAG"))  # made by serve.py's main process on SIGTERM
