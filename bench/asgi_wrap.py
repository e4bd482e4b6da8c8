"""Any WSGI app (WRAPPED_APP, "module:attribute") behind the portal's ASGI adapter, as the image's granian serves the
portal (serve.py, asgi.py): so the floor and the naive stack are measured through the same layer as the portal."""

import importlib
import os

from portal.asgi import BufferedWSGI

_module, _, _name = os.environ["WRAPPED_APP"].partition(":")
app = BufferedWSGI(getattr(importlib.import_module(_module), _name), threads=int(os.environ.get("GUNICORN_THREADS", "8")))
