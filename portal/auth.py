"""Sign-in with Navexa (Authorization Code + PKCE, confidential client), sign-out, login_required."""

import functools
import logging
import re
import time
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

from . import navexa
from .errors import (
    BadInput,
    LoginDeclined,
    LoginFailed,
    LoginStateError,
    ProviderError,
    ProviderUnavailable,
    SessionExpired,
    retry_link,
    wants_json,
)
from .security import check_csrf, safe_next
from .tokens import RefreshUnavailable, SessionEnded, TokenRecord, decode_key, encode_key, new_key

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

PROVIDER = "navexa"
PENDING_PREFIX = "login:"  # session key prefix of a pending login, followed by its state
PENDING_LOGIN_TTL = 600  # s: long enough to sign in at the provider, short enough to be useless if leaked
MAX_PENDING_LOGINS = 5  # per session: tabs signing in at once; older ones are dropped
PROVIDER_TIMEOUT = (3.05, 10)  # s: connect, read for discovery, JWKS and token calls
# The only refresh answers that end a session; anything else (timeouts, 5xx) is worth retrying later.
FATAL_REFRESH_ERRORS = frozenset({"invalid_grant", "invalid_client"})
# Auth0 organization ids (org_…) and invitation tickets are short URL-safe strings.
_ORG_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def init_app(app, settings):
    """Register Navexa as an OpenID Connect provider for this app (discovered lazily on first use)."""
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        authorize_params={"audience": settings.audience},
        client_kwargs={
            "scope": settings.scope,
            "code_challenge_method": "S256",
            # Navexa's guide sends the secret in the token request body.
            "token_endpoint_auth_method": "client_secret_post",
            "default_timeout": PROVIDER_TIMEOUT,
        },
    )
    # Authlib logs the PKCE verifier at DEBUG: never let that reach a log.
    logging.getLogger("authlib").setLevel(max(logging.getLogger("authlib").getEffectiveLevel(), logging.INFO))


def provider():
    return current_app.extensions["authlib.integrations.flask_client"].create_client(PROVIDER)


def make_refresher(app):
    """A refresh function for the token store: refresh token in, token answer out, errors by policy."""
    client = app.extensions["authlib.integrations.flask_client"].create_client(PROVIDER)

    def refresh(refresh_token: str) -> dict:
        try:
            return client.fetch_access_token(grant_type="refresh_token", refresh_token=refresh_token)
        except OAuthError as error:
            if error.error in FATAL_REFRESH_ERRORS:
                raise SessionEnded(f"refresh refused: {error.error}") from error
            raise RefreshUnavailable(f"refresh failed: {error.error}") from error
        except requests.Timeout as error:
            raise RefreshUnavailable("token endpoint timed out", timeout=True) from error
        except (requests.RequestException, ValueError) as error:
            raise RefreshUnavailable(f"token endpoint unusable: {type(error).__name__}") from error

    return refresh


def revoke_refresh_token(refresh_token: str):
    """Revoke at the provider, best effort: sign-out goes on whatever happens here."""
    try:
        endpoint = provider().load_server_metadata().get("revocation_endpoint")
        if not endpoint:
            log.info("logout: provider has no revocation endpoint")
            return
        response = requests.post(endpoint, timeout=PROVIDER_TIMEOUT, data={
            "client_id": current_app.config["NAVEXA_CLIENT_ID"],
            "client_secret": current_app.config["NAVEXA_CLIENT_SECRET"],
            "token": refresh_token,
            "token_type_hint": "refresh_token",
        })
        log.info("logout: revocation answered %s", response.status_code)
    except (requests.RequestException, ValueError) as error:
        log.warning("logout: revocation failed (%s); signed out here anyway", type(error).__name__)


def provider_call(what: str):
    """Map transport failures of a provider call to the portal's errors."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except requests.Timeout as error:
                log.warning("%s: provider timed out", what)
                raise ProviderUnavailable(status=504) from error
            except requests.ConnectionError as error:
                log.warning("%s: provider unreachable", what)
                raise ProviderUnavailable() from error
            except requests.HTTPError as error:
                log.warning("%s: provider answered HTTP %s", what, error.response.status_code)
                raise ProviderError() from error
            except ValueError as error:  # discovery or JWKS that isn't JSON
                log.warning("%s: provider sent something other than JSON", what)
                raise ProviderError() from error

        return wrapper

    return decorate


def redirect_uri() -> str:
    public_url = current_app.config["PUBLIC_URL"]
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
@provider_call("login")
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
    client = provider()
    uri = redirect_uri()
    auth = client.create_authorization_url(uri, **extra)
    remember_pending_login(auth["state"], {
        "code_verifier": auth["code_verifier"],
        "nonce": auth["nonce"],
        "redirect_uri": uri,
        "next": next_url,
    })
    return redirect(auth["url"])


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


@provider_call("code exchange")
def exchange_code(code: str, pending: dict) -> tuple[dict, dict]:
    """Exchange the code (with client_secret and code_verifier); return the tokens and ID token claims."""
    client = provider()
    try:
        token = client.fetch_access_token(redirect_uri=pending["redirect_uri"], code=code,
                                          code_verifier=pending["code_verifier"])
    except OAuthError as error:
        log.warning("code exchange refused: %s", error.error)
        if error.error == "invalid_client":
            raise ProviderError("Navexa refused the portal's client credentials. Operators: check "
                                "NAVEXA_CLIENT_ID and NAVEXA_CLIENT_SECRET.") from error
        raise LoginFailed("Navexa did not accept this sign-in (it may have expired or been used already). "
                          "Please sign in again.") from error
    except ValueError as error:
        raise ProviderError() from error
    if "id_token" not in token or "access_token" not in token:
        log.warning("code exchange: token response lacks an ID token or access token")
        raise ProviderError("Navexa's answer had no ID token.")
    try:
        claims = client.parse_id_token(token, nonce=pending["nonce"], leeway=60)
    except JoseError as error:
        log.warning("ID token rejected: %s", type(error).__name__)
        raise ProviderError("Navexa's ID token did not pass validation.") from error
    return token, dict(claims)


def complete_login(token: dict, claims: dict):
    """Start a fresh session for the person: new session id, profile kept, tokens sealed server-side."""
    store = current_app.extensions["token_store"]
    store.delete(session.sid)
    pending = {k: v for k, v in session.items() if k.startswith(PENDING_PREFIX)}
    current_app.session_interface.regenerate(session)  # before clear(): it skips an empty session
    session.clear()
    session.update(pending)  # other tabs still signing in may finish
    session["user"] = {"sub": claims.get("sub"), "name": claims.get("name") or claims.get("nickname"),
                       "email": claims.get("email")}
    session["signed_in_at"] = int(time.time())
    g.token_key = new_key()
    store.save(session.sid, g.token_key, TokenRecord.from_response(token, store.clock()))


def end_session():
    """Forget the person here: token record, server session and both cookies."""
    current_app.extensions["token_store"].delete(session.sid)
    session.clear()
    g.token_key = None


@bp.after_app_request
def set_token_key_cookie(response):
    """Hand the browser a new sealing key at sign-in; take it back at sign-out."""
    if "token_key" not in g:
        return response
    name = current_app.config["TOKEN_KEY_COOKIE"]
    if g.token_key is None:
        response.delete_cookie(name, path="/", secure=current_app.config["SESSION_COOKIE_SECURE"],
                               httponly=True, samesite="Lax")
    else:
        response.set_cookie(name, encode_key(g.token_key), path="/", httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"],
                            max_age=int(current_app.permanent_session_lifetime.total_seconds()))
    return response


def session_token_key() -> bytes | None:
    """The sealing key from this browser's cookie, if it is there and well-formed."""
    return decode_key(request.cookies.get(current_app.config["TOKEN_KEY_COOKIE"]))


def session_access_token(reject: str | None = None) -> str:
    """The signed-in session's access token, refreshed first if it is about to expire.

    SessionExpired (after signing the person out) when the session cannot go on;
    ProviderUnavailable (keeping the session) when the provider can't be asked now.
    """
    if "user" not in session:
        raise SessionExpired()
    key = session_token_key()
    if key is None:
        log.info("token key cookie missing or malformed: signing out sub=%s", session["user"].get("sub"))
        end_session()
        raise SessionExpired()
    try:
        return current_app.extensions["token_store"].access_token(session.sid, key, reject=reject,
                                                                  user=session["user"].get("sub") or "-")
    except SessionEnded as error:
        log.info("session ended sub=%s: %s", session["user"].get("sub"), error)
        end_session()
        raise SessionExpired() from error
    except RefreshUnavailable as error:
        raise ProviderUnavailable(status=504 if error.timeout else 502, retry_link=retry_link()) from error


def with_access_token(call):
    """Run call(access_token); if Navexa refuses the token, refresh once and retry once."""
    token = session_access_token()
    try:
        return call(token)
    except navexa.Unauthorized:
        log.info("Navexa refused the access token; refreshing once sub=%s", session["user"].get("sub"))
    token = session_access_token(reject=token)
    try:
        return call(token)
    except navexa.Unauthorized as error:
        log.info("Navexa refused a fresh access token; signing out sub=%s", session["user"].get("sub"))
        end_session()
        raise SessionExpired() from error


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("logout.html")
    check_csrf()
    revoke_session_refresh_token()
    end_session()
    return redirect(provider_logout_url())


def revoke_session_refresh_token():
    key = session_token_key()
    if key is None or "user" not in session:
        return
    try:
        record = current_app.extensions["token_store"].load(session.sid, key)
    except SessionEnded:
        return
    if record.refresh_token:
        revoke_refresh_token(record.refresh_token)


def provider_logout_url() -> str:
    """Where the browser signs out at Navexa too, coming back to our home page."""
    home = (current_app.config["PUBLIC_URL"] or request.host_url.rstrip("/")) + "/"
    client_id = current_app.config["NAVEXA_CLIENT_ID"]
    try:
        metadata = provider().load_server_metadata()
    except (requests.RequestException, ValueError):
        log.warning("logout: provider metadata unavailable; signed out locally only")
        return home
    if metadata.get("end_session_endpoint"):
        return metadata["end_session_endpoint"] + "?" + urlencode({"client_id": client_id, "post_logout_redirect_uri": home})
    return current_app.config["AUTH_URL"] + "/v2/logout?" + urlencode({"client_id": client_id, "returnTo": home})


def login_required(view):
    """Send signed-out people to sign in (pages) or answer 401 (JSON)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if "user" not in session:
            if wants_json():
                raise SessionExpired("Sign in to use the API.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
