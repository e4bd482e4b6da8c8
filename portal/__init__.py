"""Navexa Portal: a confidential OAuth client (backend for frontend) for Navexa.

The packages are layers; a test (tests/test_layers.py) keeps them so:
- core: no Flask, no werkzeug. Tokens and their refresh, sealing, the identity provider, the Navexa
  client, pending logins, the answer cache, Redis and its key names, metrics, log format, errors.
- web: the Flask glue every blueprint shares: services, sessions and their cookies, errors, security,
  rate limits, the request log. It imports core only.
- signin, pages, api: the blueprints (sign-in and sign-out; the portfolio pages; the /api/ hop). Each
  imports web and core, never another of the three.
- settings.py (no Flask) and app.py (create_app) beside them; health.py, the orchestrator's endpoints.
"""
