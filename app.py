"""Navexa Portal's application factory, for `flask --app app` and the tests: see portal/app.py."""
from portal.app import create_app  # noqa: F401
