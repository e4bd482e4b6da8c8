"""Knobs and counters for tests and benchmarks, under /_sandbox."""

from flask import Blueprint, current_app, jsonify, request

bp = Blueprint("control", __name__, url_prefix="/_sandbox")

KNOB_TYPES = {
    "access_token_ttl": (int, float),
    "authorization_code_ttl": (int, float),
    "refresh_reuse_interval": (int, float),
    "api_latency_ms": (int, float),
    "token_latency_ms": (int, float),
    "api_error": (dict, type(None)),
    "token_error": (dict, type(None)),
    "opaque_access_tokens": (bool,),
    "refuse_refresh_scope": (bool,),
    "gzip_responses": (bool,),
    "backchannel_logout_uri": (str, type(None)),
    "api_rate_limit": (dict, type(None)),
    "revoke_only_the_token_shown": (bool,),
    "api_paths": (str,),
}
FORCEABLE_STATUSES = {"api_error": (401, 403, 404, 429, 500, 502, 503), "token_error": (429, 500, 502, 503)}


def state():
    return current_app.extensions["sandbox_state"]


@bp.get("/stats")
def stats():
    return jsonify(state().snapshot_stats())


@bp.get("/live_refresh_tokens/<user>")
def live_refresh_tokens(user):
    return jsonify(live=state().live_refresh_tokens(user))


@bp.get("/requests")
def api_requests():
    with state().lock:
        return jsonify(list(state().api_log))


@bp.get("/token_requests")
def token_requests():
    with state().lock:
        return jsonify(list(state().token_log))


@bp.post("/config")
def config():
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        return jsonify(error="invalid_request", message="Send a JSON object of knobs."), 400
    problems = [f"unknown knob '{k}'" for k in changes if k not in KNOB_TYPES]
    problems += [f"'{k}' has the wrong type" for k, v in changes.items()
                 if k in KNOB_TYPES and ((isinstance(v, bool) and bool not in KNOB_TYPES[k])
                                         or not isinstance(v, KNOB_TYPES[k]))]
    for knob, statuses in FORCEABLE_STATUSES.items():
        forced = changes.get(knob)
        if isinstance(forced, dict):
            if forced.get("status") not in statuses:
                problems.append(f"{knob}.status must be one of {statuses}")
            forced.setdefault("count", 1)
    if problems:
        return jsonify(error="invalid_request", message="; ".join(problems)), 400
    return jsonify(state().configure(changes))


@bp.post("/reset")
def reset():
    state().reset()
    return jsonify(state().snapshot_stats())
