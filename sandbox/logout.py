"""Navexa sign-in sessions (Auth0's `sid`) and OpenID Connect Back-Channel Logout, as the tenant sends it.

Each sign-in at /authorize starts (or, from the same browser, reuses) a sign-in session whose `sid`
goes into the ID token. When one ends, the sandbox POSTs a logout token to the client's
back-channel logout URI (the `backchannel_logout_uri` knob), synchronously, so a test sees the
outcome at once. Auth0's initiators:
- `rp-logout`: the client's own /oidc/logout or /v2/logout (the sign-in session of that browser);
- `idp-logout`: signed out of another application of the tenant (POST /_sandbox/logout_elsewhere);
- `session-revoked`: an administrator revoked one sign-in session (same, reason session-revoked);
- `password-changed`: every refresh token of the person revoked, and one logout token naming only `sub`.
POST /_sandbox/logout_token mints a token without sending it, with claims and header overridden, for
the tests that check what the portal refuses.
"""

import secrets
import time

import requests
from flask import Blueprint, current_app, jsonify, request
from joserfc import jwt

from . import data

bp = Blueprint("logout", __name__, url_prefix="/_sandbox")

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
SID_COOKIE = "navexa_sandbox_sid"
REASONS = ("idp-logout", "session-revoked", "password-changed")
DELIVERY_TIMEOUT = 5  # s, as Auth0 gives a client's back-channel endpoint a few seconds


def state():
    return current_app.extensions["sandbox_state"]


def client_id() -> str:
    return current_app.extensions["sandbox_client"].client_id


def start_sign_in_session(user: str, presented: str | None) -> str:
    """The browser's sign-in session for this person: the one it has if still live, else a new one."""
    with state().lock:
        if presented and state().idp_sessions.get(presented) == user:
            return presented
        sid = secrets.token_urlsafe(16)
        state().idp_sessions[sid] = user
        return sid


def logout_token(sub: str | None, sid: str | None, overrides: dict | None = None, drop=(), header=None) -> str:
    from .auth import issuer, signing_key

    now = int(time.time())
    claims = {"iss": issuer(), "aud": client_id(), "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(16),
              "events": {BACKCHANNEL_EVENT: {}}}
    if sub:
        claims["sub"] = sub
    if sid:
        claims["sid"] = sid
    claims.update(overrides or {})
    for name in drop:
        claims.pop(name, None)
    key = signing_key()
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "logout+jwt", **(header or {})}, claims, key)


def deliver(token: str, initiator: str) -> dict:
    """POST the logout token to the client's back-channel URI, if it has one; what came back."""
    uri = state().knob("backchannel_logout_uri")
    outcome = {"initiator": initiator, "status": None}
    if uri:
        try:
            outcome["status"] = requests.post(uri, data={"logout_token": token}, timeout=DELIVERY_TIMEOUT,
                                              allow_redirects=False).status_code
        except requests.RequestException as error:
            outcome["status"] = type(error).__name__
    with state().lock:
        state().backchannel_log.append(outcome)
        del state().backchannel_log[:-100]
    return outcome


def end_sign_in_session(sid: str | None, initiator: str) -> dict | None:
    """End one sign-in session and tell the client; None if there was no such live session."""
    with state().lock:
        user = state().idp_sessions.pop(sid, None) if sid else None
    if user is None:
        return None
    return deliver(logout_token(data.USERS[user]["sub"], sid), initiator)


@bp.post("/logout_elsewhere")
def logout_elsewhere():
    """{"user": "alice", "reason": one of REASONS, "sid": optional (default: every live session of the user)}."""
    body = request.get_json(silent=True) or {}
    user, reason = body.get("user"), body.get("reason", "idp-logout")
    if user not in data.USERS or reason not in REASONS:
        return jsonify(error="invalid_request", message=f"send a known user and a reason in {REASONS}"), 400
    with state().lock:
        sids = [body["sid"]] if body.get("sid") else [s for s, u in state().idp_sessions.items() if u == user]
    if reason == "password-changed":
        with state().lock:
            for record in state().refresh_tokens.values():
                if record.user == user:
                    state().revoke_family(record.family)
            for sid in sids:
                state().idp_sessions.pop(sid, None)
        return jsonify(deliveries=[deliver(logout_token(data.USERS[user]["sub"], None), reason)])
    return jsonify(deliveries=[d for d in (end_sign_in_session(sid, reason) for sid in sids) if d])


@bp.get("/idp_sessions")
def idp_sessions():
    with state().lock:
        return jsonify({sid: user for sid, user in state().idp_sessions.items()})


@bp.get("/backchannel")
def backchannel_log():
    with state().lock:
        return jsonify(list(state().backchannel_log))


@bp.post("/logout_token")
def mint():
    """{"user", "sid", "claims": overrides, "drop": [claim names], "header": overrides} → {"logout_token"}."""
    body = request.get_json(silent=True) or {}
    user = body.get("user")
    sub = data.USERS[user]["sub"] if user in data.USERS else None
    return jsonify(logout_token=logout_token(sub, body.get("sid"), body.get("claims"), body.get("drop", ()),
                                             body.get("header")))
