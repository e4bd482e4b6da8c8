"""Sandbox: Navexa's Auth0 tenant and the Navexa API, emulated on loopback for development and tests."""

import os
import secrets

from flask import Flask
from joserfc.jwk import RSAKey

from .auth import Client, JsonBodyAsForm, create_server
from .state import SandboxState

DEFAULT_CLIENT_ID = "navexa-portal-dev"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"


def create_app(environ=None) -> Flask:
    """Build the sandbox app from SANDBOX_* variables (environ defaults to os.environ)."""
    env = os.environ if environ is None else environ
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_hex(16),
        SESSION_COOKIE_NAME="navexa_sandbox_session",  # the portal shares 127.0.0.1's cookie jar
        SANDBOX_API_KEY=env.get("SANDBOX_API_KEY"),
        SANDBOX_API_KEY_USER=env.get("SANDBOX_API_KEY_USER", "alice"),
        SANDBOX_BROWSER_URL=env.get("SANDBOX_BROWSER_URL"),
    )
    client = Client(
        client_id=env.get("SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID),
        client_secret=env.get("SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        extra_redirect_uris=tuple(u for u in env.get("SANDBOX_REDIRECT_URIS", "").split(",") if u),
    )
    # Where logout tokens go (the client's back-channel logout URI), as registered at the tenant.
    app.extensions["sandbox_state"] = SandboxState({"backchannel_logout_uri": env.get("SANDBOX_BACKCHANNEL_LOGOUT_URI")})
    app.extensions["sandbox_key"] = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)})
    app.extensions["sandbox_client"] = client
    app.extensions["sandbox_server"] = create_server(app, client)

    from . import api, auth, client_auth, control, logout

    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(logout.bp)
    app.register_blueprint(client_auth.bp)
    app.wsgi_app = JsonBodyAsForm(app.wsgi_app)
    return app
