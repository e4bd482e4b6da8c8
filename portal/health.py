"""Liveness and readiness for the orchestrator."""

import redis
from flask import Blueprint, jsonify

from .services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Alive: the process answers. Depends on nothing."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready: Redis answers."""
    try:
        services().redis.ping()
    except redis.RedisError:
        return jsonify(status="unavailable", redis="unreachable"), 503
    return jsonify(status="ok", redis="ok")
