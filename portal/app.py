"""create_app(): wires settings, Redis, the session store, the clients and the blueprints together.

It only wires (no routes here). The rooms it wires, from the inside out:
- core (no Flask): settings, Redis and key naming, sealing, tokens, provider, Navexa client, pending
  logins, the answer cache, metrics and log format;
- web: the Flask glue every blueprint shares (services, sessions, cookies, errors, security, rate
  limits, the request log);
- signin, pages and api: the blueprints, which never import each other; api's fast path wraps the app.
"""

import os
import time
from collections.abc import Callable
from datetime import date

from dotenv import find_dotenv, load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import health
from .api import views as api_views
from .api.fast_path import FastPath
from .core.navexa.cache import AnswerCache
from .core.navexa.client import NavexaClient
from .core.oauth import provider
from .core.oauth.client_auth import PrivateKeyJwt
from .core.oauth.refresh_policy import REFRESH_PATIENCE, gated_refresher, refresher
from .core.observability import tracing
from .core.sessions.index import SessionIndex
from .core.sessions.pending import PendingLogins
from .core.sessions.revocation import RevocationCopies
from .core.sessions.tokens import TokenStore
from .core.storage import keyspace
from .core.storage.gate import Gate
from .core.storage.sealing import derived_key
from .pages import formatting
from .pages import views as pages_views
from .settings import GENERATED_KEY, MAX_BODY, Settings, load_private_key
from .signin import backchannel, operator_cli, your_sessions
from .signin import views as signin_views
from .web import cookies, errors, ratelimit, requestlog, security, services, session_store, sessions

SECRET_VARIABLES = ("SECRET_KEY", "SECRET_KEYS", "NAVEXA_CLIENT_SECRET", "NAVEXA_CLIENT_PRIVATE_KEY", "METRICS_TOKEN",
                    GENERATED_KEY)


def ring_keys(settings: Settings, purpose: str) -> list[tuple[str, bytes]]:
    """The key ring's keys for one purpose, (id, key), the sealing one first and revoked ones left out (they open
    nothing: what they sealed fails closed)."""
    return [(key_id, derived_key(secret, purpose)) for key_id, secret in settings.secret_keys
            if key_id not in settings.secret_keys_revoked]


def forget_secrets(environ):
    """Once read into the settings, the secrets leave the process's environment: no server or library that copies
    os.environ (granian puts it into every request's WSGI environ) can pass them on."""
    for name in SECRET_VARIABLES:
        environ.pop(name, None)


def create_app(settings: Settings | None = None, *, clock: Callable[[], float] = time.time,
               today: Callable[[], date] = date.today, provider_timeout=provider.TIMEOUT,
               refresh_timeout=provider.REFRESH_TIMEOUT, navexa_timeout=None) -> Flask:
    """Wire the portal together from settings (default: the environment and .env).

    clock (every session's and token's time), today (the date pages report up to) and the timeouts
    are injectable for tests.
    """
    if settings is None:
        load_dotenv(find_dotenv(usecwd=True))  # the .env of the directory the portal runs in
        settings = Settings.from_env()
        forget_secrets(os.environ)
    app = Flask(__name__.rpartition(".")[0])  # the package: templates/ and static/ are beside this file
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_BODY)
    tracing.configure(settings.otel_endpoint, settings.otel_service_name)  # off (no-op spans) unless an endpoint
    requestlog.init_app(app, user_of=sessions.safe_current_user)  # first: its before_request runs first, its after_request last
    client = keyspace.connect(settings.redis_url, sentinels=settings.redis_sentinels,
                              sentinel_master=settings.redis_sentinel_master, cluster=settings.redis_cluster)
    session_interface = session_store.init_app(app, client, cookie_name=session_store.session_cookie_name(settings.production),
                                               secure=settings.production, clock=clock,
                                               id_keys=ring_keys(settings, "session-ids/v1"))
    # Polite upstream, shared through Redis by every container: each person's Navexa pause (and rate, if
    # NAVEXA_RATE_LIMIT), and the tenant's refresh rate and pause.
    navexa_gate = Gate(client, keyspace.GATE + "navexa:", rate=settings.navexa_rate, clock=clock)
    refresh_gate = Gate(client, keyspace.GATE + "refresh:", rate=settings.refresh_rate, clock=clock)
    navexa_client = NavexaClient(settings.api_url, gate=navexa_gate, paths=settings.api_paths, remember=client,
                                 **({"timeout": navexa_timeout} if navexa_timeout else {}))
    client_auth = (PrivateKeyJwt(settings.client_id, *load_private_key(settings.client_private_key), settings.client_key_id,
                                 clock=clock)
                   if settings.client_auth == "private_key_jwt" else None)  # None: client_secret_post
    navexa_provider = provider.Provider(
        auth_url=settings.auth_url, client_id=settings.client_id, client_secret=settings.client_secret,
        audience=settings.audience, scope=settings.scope, refresh_scope=settings.refresh_scope,
        timeout=provider_timeout, refresh_timeout=refresh_timeout, client_auth=client_auth)
    revocation = RevocationCopies(client, keys=ring_keys(settings, "revocation-copy/v1"),
                                  revoked=settings.secret_keys_revoked)
    token_store = TokenStore(client, refresher=gated_refresher(refresher(navexa_provider), refresh_gate,
                                                               REFRESH_PATIENCE), clock=clock,
                             revoke=navexa_provider.revoke,
                             revocation=revocation)
    pending = PendingLogins(client)
    services.init_app(app, services.Services(settings=settings, redis=client, navexa=navexa_client,
                                             provider=navexa_provider, tokens=token_store, pending=pending,
                                             cache=AnswerCache(client, ttl=settings.cache_seconds, clock=clock),
                                             index=SessionIndex(client, revocation, pending,
                                                                revoke=navexa_provider.revoke, clock=clock,
                                                                pause_of=navexa_gate.paused_for),
                                             clock=clock, today=today))
    navexa_client.on_pause = services.services(app).index.carry_pause  # the fast path reads it with the session
    session_interface.move_legacy = sessions.move_legacy  # a session of the release before moves at its first use

    errors.init_app(app)
    formatting.init_app(app)
    cookies.init_app(app)
    sessions.init_app(app)
    headers = security.init_app(app, settings)
    app.register_blueprint(health.bp)
    app.register_blueprint(signin_views.bp)
    app.register_blueprint(backchannel.bp)
    app.register_blueprint(your_sessions.bp)
    app.register_blueprint(operator_cli.bp)  # `flask --app wsgi sessions …`: commands only, no routes
    app.register_blueprint(pages_views.bp)
    app.register_blueprint(api_views.bp)
    ratelimit.init_app(app, *keyspace.limiter_storage(settings.redis_url, client, cluster=settings.redis_cluster))
    app.wsgi_app = FastPath(app, redis_client=client, sessions=session_interface, tokens=token_store,
                            index=services.services(app).index,
                            navexa_client=navexa_client, production=settings.production, security_headers=headers,
                            own_origin=security.origin_of(settings.public_url))
    if settings.trusted_proxy_count:  # outermost: everything inside sees the client's address
        n = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    if tracing.enabled():
        app.wsgi_app = requestlog.traced(app.wsgi_app)  # outermost: the fast path's requests are traced too
    return app
