"""The WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`. Reads settings from the environment (and .env)."""
from portal.app import create_app
from portal.core.observability import logformat

logformat.configure()  # JSON lines on stderr (a no-op when gunicorn.conf.py has set them up already)
app = create_app()
