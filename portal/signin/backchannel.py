"""POST /backchannel-logout: Navexa's identity provider ends portal sessions (OpenID Connect
Back-Channel Logout 1.0).

The provider posts a logout token (form field `logout_token`) when a person signs out elsewhere,
changes their password, or has a session revoked. A token that passes core.oauth.logout_token's checks,
once (its jti is remembered, and forgotten again if ending failed half-way, so the provider's retry
after the 503 is acted on), ends every matching portal session on every worker and container
(core.sessions.index): by the Navexa sign-in's `sid`, else every session of the person's `sub`; each
session's refresh token is revoked. 200 with no body on success, 400 with an OAuth-style JSON error
otherwise, never a 500; the call carries no cookies and opens no session. Refused tokens are counted per
address (RATE_LIMIT_BACKCHANNEL_LOGOUT): past the limit a refusal is a 429 with Retry-After; a token that verifies
under the tenant's keys is acted on whatever its address has sent (web.ratelimit.count_logout_refusal).
"""

import logging

from flask import Blueprint, jsonify, request

from ..core.oauth import logout_token
from ..core.oauth.logout_token import InvalidLogoutToken, LogoutReplays
from ..core.observability.metrics import BACKCHANNEL_LOGOUTS, SESSIONS_ENDED
from ..web.ratelimit import count_logout_refusal
from ..web.services import services

bp = Blueprint("backchannel", __name__)
log = logging.getLogger(__name__)
NO_STORE = {"Cache-Control": "no-store"}


@bp.post("/backchannel-logout")
def backchannel_logout():
    if request.mimetype != "application/x-www-form-urlencoded":
        return refused("send logout_token as an application/x-www-form-urlencoded form")
    tokens = request.form.getlist("logout_token")
    if len(tokens) != 1:
        return refused("send exactly one logout_token")
    try:
        logout = logout_token.read(services().provider, tokens[0], clock=services().clock)
    except InvalidLogoutToken as error:
        return refused(str(error))
    replays = LogoutReplays(services().redis, services().clock)
    if not replays.first_use(logout):
        return refused("this logout token was already used")
    try:
        if logout.sid:  # first: a sign-in of this sid still under way sees it when its session starts
            services().index.remember_ended(logout.sid, logout.good_until)
        ended = services().index.end_matching(sub=logout.sub, idp_sid=logout.sid)
    except Exception:
        replays.forget(logout)  # not done: the provider's retry of this token must be acted on (the 503 says retry)
        raise
    BACKCHANNEL_LOGOUTS.labels("ok").inc()
    SESSIONS_ENDED.labels("backchannel").inc(len(ended))
    log.info("back-channel logout ended %d session(s) sub=%s by=%s", len(ended), logout.sub or "-",
             "sid" if logout.sid else "sub")
    return "", 200, NO_STORE


def refused(why: str):
    BACKCHANNEL_LOGOUTS.labels("refused").inc()
    log.info("back-channel logout refused: %s", why)
    wait = count_logout_refusal()
    if wait is not None:
        return (jsonify(error="rate_limited", error_description="Too many refused logout tokens from this address; "
                        f"try again in {wait} s."), 429, {**NO_STORE, "Retry-After": str(wait)})
    return jsonify(error="invalid_request", error_description=f"Logout token refused: {why}."), 400, NO_STORE
