"""Liveness and readiness for the orchestrator, and metrics for the scraper."""

import hmac

import redis
from flask import Blueprint, Response, abort, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from .core.observability.metrics import exposition
from .web.services import services, settings

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


@bp.get("/metrics")
def metrics():
    """Prometheus text; off (404) unless METRICS_TOKEN is set, and then only for a bearer of it."""
    token = settings().metrics_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
        return Response("A bearer token is required.\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
