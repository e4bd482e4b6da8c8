"""Sign-in with Navexa (Authorization Code + PKCE, confidential client) and sign-out: the views.

/login keeps what /callback needs as a pending login of its own (core.sessions.pending), bound to this
browser by a short-lived cookie; it never writes a session, so a signed-out visitor costs a few
hundred bytes for ten minutes at most. Only a completed sign-in starts a session, always under a
new id (web.sessions.start), after revoking and dropping whatever session this browser had.
"""

import logging
import re
import secrets

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from ..core.oauth.provider import ProviderRefused
from ..core.observability.metrics import SIGN_INS
from ..core.sessions.pending import MAX_NEXT_LENGTH, PENDING_LOGIN_TTL, PendingLogin, binding_hash
from ..core.sessions.record import new_session_id
from ..web import sessions
from ..web.cookies import SIGNED_OUT_NOTICE_SECONDS, binding_cookie, key_cookie, signed_out_cookie
from ..web.problems import BadInput, ClientRejected, LoginDeclined, LoginFailed, LoginStateError, idle_words
from ..web.security import check_csrf, safe_next
from ..web.services import services, settings
from ..web.sessions import User, current_user

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

# Auth0 organization ids (org_…) and invitation tickets are short URL-safe strings.
_ORG_PARAM = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the whole value (fullmatch)


@bp.after_request
def no_referrer_from_the_callback(response):
    """RFC 9700 §4.2.4: whatever /callback answers (an error page included), its address, which carries the code
    and state, is never sent onward as a Referer."""
    if request.endpoint == "auth.callback":
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def redirect_uri() -> str:
    """Always from configuration, never from a request header (Host can be forged)."""
    return settings().public_url + "/callback"


def chosen_next() -> str | None:
    target = request.args.get("next")
    return safe_next(target) if target and len(target) <= MAX_NEXT_LENGTH else None


@bp.get("/login")
def login():
    next_url = chosen_next()
    if request.args.get("idle"):  # left alone past SESSION_IDLE_TIMEOUT: say so before Navexa's sign-in
        return render_template("session_ended.html", next=next_url, idle=idle_words(settings().idle_timeout))
    if request.args.get("expired"):
        # Say why before sending the person to Navexa again.
        return render_template("session_ended.html", next=next_url)
    extra = {}
    for name in ("organization", "invitation"):
        value = request.args.get(name)
        if value is not None:
            if not _ORG_PARAM.fullmatch(value):
                raise BadInput(f"The {name} in this link is not valid. Ask for a new invitation link.")
            extra[name] = value
    binding = binding_cookie.read() or secrets.token_urlsafe(32)  # shared by this browser's tabs
    binding_cookie.issue(binding, PENDING_LOGIN_TTL)
    uri = redirect_uri()
    started = services().provider.login_request(uri, extra)
    services().pending.put(started.state, binding, PendingLogin(code_verifier=started.code_verifier,
                                                                nonce=started.nonce, redirect_uri=uri, next=next_url))
    return redirect(started.url)


def single_arg(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadInput(f"The sign-in response has more than one '{name}'. Please sign in again.")
    return values[0] if values else None


@bp.get("/callback")
def callback():
    try:
        outcome, response = complete_callback()
    except Exception as error:
        SIGN_INS.labels(getattr(error, "code", "error")).inc()
        raise
    SIGN_INS.labels(outcome).inc()
    return response


def complete_callback() -> tuple[str, object]:
    """The callback's work; returns its outcome for the metrics, and the response."""
    state, code, error = single_arg("state"), single_arg("code"), single_arg("error")
    # Checked before anything else: a response we did not ask for is never exchanged.
    pending = services().pending.take(state, binding_cookie.read()) if state else None
    if pending is None:
        if current_user() is not None:
            # Back after signing in (the provider replays the used state), or a doubled callback.
            log.info("callback with an unknown or used state from a signed-in browser: to portfolios")
            return "already_signed_in", redirect(url_for("views.portfolios"))
        log.info("callback refused: unknown, expired, replayed or foreign state")
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
    start_session(token, claims)
    return "ok", redirect(pending.next or url_for("views.portfolios"))


def exchange_code(code: str, pending: PendingLogin) -> tuple[dict, dict]:
    """Exchange the code; a refusal is the person's (sign in again) or the operator's (client credentials)."""
    try:
        return services().provider.exchange_code(code, pending.redirect_uri, pending.code_verifier, pending.nonce)
    except ProviderRefused as error:
        if error.error == "invalid_client":
            raise ClientRejected() from error
        raise LoginFailed("Navexa did not accept this sign-in (it may have expired or been used already). "
                          "Please sign in again.") from error


def start_session(token: dict, claims: dict):
    """Start the person's session under a new id; the browser's previous session is revoked and dropped.

    If another tab of this browser completed a sign-in while this one was on its way, that session
    is kept and this one's tokens are revoked: nothing is left orphaned, whatever order the answers arrive.
    """
    user = User.from_claims(claims)
    presented_sid = session.sid if current_user() is not None else None
    new_cookie_id = new_session_id()
    new_sid = current_app.session_interface.stored(new_cookie_id)  # what Redis (the claim included) calls it
    other = services().pending.claim_browser(binding_cookie.read(), presented_sid, new_sid)
    if other is not None:
        log.info("sign-in ok sub=%s, but another tab signed this browser in first: keeping that session",
                 user.label)
        if token.get("refresh_token"):
            services().provider.revoke(token["refresh_token"])
        return
    if presented_sid:
        sessions.end_other(presented_sid, key_cookie.key())
    idp_sid = claims.get("sid") if isinstance(claims.get("sid"), str) else None
    binding = binding_cookie.read()
    sessions.start(user, token, new_cookie_id, idp_sid=idp_sid, claim=binding_hash(binding) if binding else None)
    if idp_sid and services().index.was_ended(idp_sid):  # checked after indexing: a logout either sees it or set this
        log.info("sign-in ended as it started sub=%s: Navexa ended that sign-in meanwhile", user.label)
        sessions.end(revoke=True)
        raise LoginFailed("Navexa ended this sign-in while it was completing (you signed out elsewhere, or it was "
                          "revoked). Please sign in again.")
    log.info("sign-in ok sub=%s", user.label)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("logout.html")
    check_csrf()
    return sign_out_here()


def sign_out_here():
    """End this browser's session (revoking its refresh token) and send it to sign out at Navexa too."""
    hint = sessions.id_token() if current_user() is not None else None
    navexa_session = sessions.idp_sid()
    sessions.end(revoke=current_user() is not None)
    signed_out_cookie.issue("1", SIGNED_OUT_NOTICE_SECONDS)
    response = redirect(services().provider.logout_url(settings().public_url + "/", id_token=hint,
                                                       logout_hint=navexa_session))
    # This origin's cache and storage go too; not "cookies", which would reach every site of the domain.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
