"""Navexa Portal's application factory. `gunicorn app:app` serves the module-level app."""

import logging
from datetime import timedelta

import redis
from dotenv import find_dotenv, load_dotenv
from flask import Flask, session
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings
from portal import auth, errors, formatting, health, logs, proxy, security, views
from portal.navexa import NavexaClient
from portal.session import JsonRedisSessionInterface
from portal.tokens import TokenStore

SESSION_LIFETIME = timedelta(hours=12)  # absolute: the session is not extended by use
REDIS_TIMEOUT = 2  # s: a stuck Redis must fail a request, not hang a worker


def create_app(settings: Settings | None = None) -> Flask:
    """Wire the portal together from settings (default: the environment and .env)."""
    if settings is None:
        load_dotenv(find_dotenv(usecwd=True))  # the .env of the directory the portal runs in
        settings = Settings.from_env()
    logs.install()
    app = Flask(__name__)
    production = settings.production
    app.config.update(
        SECRET_KEY=settings.secret_key,
        APP_ENV=settings.app_env,
        PUBLIC_URL=settings.public_url,
        AUTH_URL=settings.auth_url,
        AUTH_ORIGIN=security.origin_of(settings.auth_url),
        NAVEXA_CLIENT_ID=settings.client_id,
        NAVEXA_CLIENT_SECRET=settings.client_secret,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
        # __Host- pins the cookie to this exact origin over https; plain http (development) can't use it.
        SESSION_COOKIE_NAME="__Host-navexa_portal" if production else "navexa_portal_session",
        TOKEN_KEY_COOKIE="__Host-navexa_portal_key" if production else "navexa_portal_key",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if settings.trusted_proxy_count:
        n = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=REDIS_TIMEOUT,
                                  socket_connect_timeout=REDIS_TIMEOUT, health_check_interval=30)
    app.extensions["redis"] = client
    app.session_interface = JsonRedisSessionInterface(app, client)
    app.extensions["navexa"] = NavexaClient(settings.api_url)
    auth.init_app(app, settings)
    app.extensions["token_store"] = TokenStore(client, lifetime=int(SESSION_LIFETIME.total_seconds()),
                                               refresher=auth.make_refresher(app))

    errors.init_app(app)
    formatting.init_app(app)
    app.after_request(security.set_security_headers)
    app.context_processor(template_globals)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(proxy.bp)
    return app


def template_globals():
    def current_user():
        try:
            return session.get("user")
        except Exception:  # the session store may be the very thing that failed
            return None

    return {"current_user": current_user, "csrf_token": security.csrf_token}


def __getattr__(name):
    # Built on first access, so importing this module (tests, tools) reads no environment.
    if name == "app":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
