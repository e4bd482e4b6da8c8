"""Sign-in with Navexa (Authorization Code + PKCE, confidential client) and sign-out: the views,
and the pending logins that join /login to /callback."""

import logging
import re
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from .access import KeyCookie, User, current_user, end_session, set_current_user
from .errors import BadInput, LoginDeclined, LoginFailed, LoginStateError, ProviderError
from .provider import ProviderRefused
from .security import check_csrf, safe_next
from .services import services, settings
from .tokens import SessionEnded, TokenRecord, new_key

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

PENDING_PREFIX = "login:"  # session key prefix of a pending login, followed by its state
PENDING_LOGIN_TTL = 600  # s: long enough to sign in at the provider, short enough to be useless if leaked
MAX_PENDING_LOGINS = 5  # per session: tabs signing in at once; older ones are dropped
# Auth0 organization ids (org_…) and invitation tickets are short URL-safe strings.
_ORG_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def redirect_uri() -> str:
    public_url = settings().public_url
    return public_url + "/callback" if public_url else url_for("auth.callback", _external=True)


# -- pending logins: kept in the server session, keyed by state ------------------------


def remember_pending_login(state: str, pending: dict):
    pending["exp"] = time.time() + PENDING_LOGIN_TTL
    session[PENDING_PREFIX + state] = pending
    keys = sorted((k for k in session if k.startswith(PENDING_PREFIX)), key=lambda k: session[k]["exp"])
    for key in keys[:-MAX_PENDING_LOGINS]:
        session.pop(key)


def take_pending_login(state: str) -> dict | None:
    """Remove and return the pending login for state, if it exists and has not expired."""
    pending = session.pop(PENDING_PREFIX + state, None)
    if not pending or pending.get("exp", 0) < time.time():
        return None
    return pending


# -- views ---------------------------------------------------------------------------


@bp.get("/login")
def login():
    next_url = safe_next(request.args.get("next"), default=None)
    if request.args.get("expired"):
        # Say why before sending the person to Navexa again.
        return render_template("session_ended.html", next=next_url)
    extra = {}
    for name in ("organization", "invitation"):
        value = request.args.get(name)
        if value is not None:
            if not _ORG_PARAM.match(value):
                raise BadInput(f"The {name} in this link is not valid. Ask for a new invitation link.")
            extra[name] = value
    uri = redirect_uri()
    started = services().provider.login_request(uri, extra)
    remember_pending_login(started.state, {"code_verifier": started.code_verifier, "nonce": started.nonce,
                                           "redirect_uri": uri, "next": next_url})
    return redirect(started.url)


def single_arg(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadInput(f"The sign-in response has more than one '{name}'. Please sign in again.")
    return values[0] if values else None


@bp.get("/callback")
def callback():
    state, code, error = single_arg("state"), single_arg("code"), single_arg("error")
    pending = take_pending_login(state) if state else None
    if pending is None:
        # Checked before anything else: a response we did not ask for is never exchanged.
        log.info("callback refused: unknown, expired or replayed state")
        raise LoginStateError()
    if error:
        log.info("sign-in ended at the provider: %r", error[:64])
        if error == "access_denied":
            raise LoginDeclined()
        description = single_arg("error_description") or "Navexa did not complete the sign-in."
        raise LoginFailed(f"Navexa said: {description[:300]} ({error[:64]})")
    if not code:
        raise LoginFailed("The sign-in response had no authorization code. Please sign in again.")

    token, claims = exchange_code(code, pending)
    complete_login(token, claims)
    log.info("sign-in ok sub=%s", claims.get("sub"))
    return redirect(pending.get("next") or url_for("views.portfolios"))


def exchange_code(code: str, pending: dict) -> tuple[dict, dict]:
    """Exchange the code; a refusal is the person's (sign in again) or the operator's (client credentials)."""
    try:
        return services().provider.exchange_code(code, pending["redirect_uri"], pending["code_verifier"],
                                                 pending["nonce"])
    except ProviderRefused as error:
        if error.error == "invalid_client":
            raise ProviderError("Navexa refused the portal's client credentials. Operators: check "
                                "NAVEXA_CLIENT_ID and NAVEXA_CLIENT_SECRET.") from error
        raise LoginFailed("Navexa did not accept this sign-in (it may have expired or been used already). "
                          "Please sign in again.") from error


def complete_login(token: dict, claims: dict):
    """Start a fresh session for the person: new session id, profile kept, tokens sealed server-side."""
    store = services().tokens
    store.delete(session.sid)
    pending = {k: v for k, v in session.items() if k.startswith(PENDING_PREFIX)}
    current_app.session_interface.regenerate(session)  # before clear(): it skips an empty session
    session.clear()
    session.update(pending)  # other tabs still signing in may finish
    set_current_user(User.from_claims(claims))
    session["signed_in_at"] = int(time.time())
    key = new_key()
    KeyCookie.issue(key)
    store.save(session.sid, key, TokenRecord.from_response(token, store.clock()))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("logout.html")
    check_csrf()
    revoke_session_refresh_token()
    end_session()
    return redirect(services().provider.logout_url(home_url()))


def home_url() -> str:
    return (settings().public_url or request.host_url.rstrip("/")) + "/"


def revoke_session_refresh_token():
    """Revoke the session's refresh token at the provider, best effort."""
    key = KeyCookie.read()
    if key is None or current_user() is None:
        return
    try:
        record = services().tokens.load(session.sid, key)
    except SessionEnded:
        return
    if record.refresh_token:
        services().provider.revoke(record.refresh_token)
