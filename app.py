"""Navexa Portal's application factory: it only wires things together (`wsgi.py` serves it)."""

import time
from collections.abc import Callable
from datetime import date, timedelta

from dotenv import find_dotenv, load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings
from portal import (
    access,
    auth,
    errors,
    formatting,
    health,
    logs,
    provider,
    proxy,
    ratelimit,
    security,
    services,
    session,
    store,
    views,
)
from portal.cache import AnswerCache
from portal.navexa import NavexaClient
from portal.pending import PendingLogins
from portal.tokens import TokenStore

SESSION_LIFETIME = timedelta(hours=12)  # absolute: the session is not extended by use
MAX_BODY = 1024 * 1024  # bytes a request body may carry


def create_app(settings: Settings | None = None, *, clock: Callable[[], float] = time.time,
               today: Callable[[], date] = date.today, provider_timeout=provider.TIMEOUT,
               refresh_timeout=provider.REFRESH_TIMEOUT, navexa_timeout=None) -> Flask:
    """Wire the portal together from settings (default: the environment and .env).

    clock (token expiry), today (the date pages report up to) and the timeouts are injectable for tests.
    """
    if settings is None:
        load_dotenv(find_dotenv(usecwd=True))  # the .env of the directory the portal runs in
        settings = Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    logs.init_app(app, user_of=access.safe_current_user)  # first: its before_request runs first and its after_request last
    client = store.connect(settings)
    session.init_app(app, client, cookie_name=session.session_cookie_name(settings.production),
                     secure=settings.production)
    navexa_client = NavexaClient(settings.api_url, **({"timeout": navexa_timeout} if navexa_timeout else {}))
    navexa_provider = provider.Provider(
        auth_url=settings.auth_url, client_id=settings.client_id, client_secret=settings.client_secret,
        audience=settings.audience, scope=settings.scope, refresh_scope=settings.refresh_scope,
        timeout=provider_timeout, refresh_timeout=refresh_timeout)
    token_store = TokenStore(client, lifetime=int(SESSION_LIFETIME.total_seconds()),
                             refresher=provider.refresher(navexa_provider), clock=clock)
    services.init_app(app, services.Services(settings=settings, redis=client, navexa=navexa_client,
                                             provider=navexa_provider, tokens=token_store, pending=PendingLogins(client),
                                             cache=AnswerCache(client, ttl=settings.cache_seconds, clock=clock),
                                             today=today))

    errors.init_app(app)
    formatting.init_app(app)
    access.init_app(app)
    headers = security.init_app(app, settings)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(proxy.bp)
    ratelimit.init_app(app, *store.limiter_storage(settings, client))
    app.wsgi_app = proxy.LeanHop(app.wsgi_app, redis_client=client, sessions=app.session_interface, tokens=token_store,
                                 navexa_client=navexa_client, production=settings.production,
                                 security_headers=headers)
    if settings.trusted_proxy_count:  # outermost: everything inside sees the client's address
        n = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    return app
