"""The portal's shared resources, made once in create_app and reached through `services()`.

This module alone knows where they are kept on the Flask app; nothing else looks them up by name.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import redis
from flask import Flask, current_app

from ..core.navexa.cache import AnswerCache
from ..core.navexa.client import NavexaClient
from ..core.oauth.provider import Provider
from ..core.sessions.index import SessionIndex
from ..core.sessions.pending import PendingLogins
from ..core.sessions.tokens import TokenStore
from ..settings import Settings

EXTENSION = "navexa_portal"


@dataclass(frozen=True)
class Services:
    settings: Settings
    redis: redis.Redis
    navexa: NavexaClient
    provider: Provider
    tokens: TokenStore
    pending: PendingLogins
    cache: AnswerCache
    index: SessionIndex  # every session by person and by Navexa sign-in; ends them from anywhere
    clock: Callable[[], float]  # epoch seconds: every session's and token's time is read from it (tests move it)
    today: Callable[[], date]  # the date pages report up to (injected so tests can pin it)


def init_app(app: Flask, services: Services):
    app.extensions[EXTENSION] = services


def services(app: Flask | None = None) -> Services:
    """The running app's services (or those of `app`, outside a request)."""
    return (app or current_app).extensions[EXTENSION]


def settings() -> Settings:
    return services().settings
