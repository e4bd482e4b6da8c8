"""The emulated Navexa Auth0 tenant: Authlib's server components plus Auth0's habits.

Auth0 behaviours added on top of Authlib: PKCE required with S256 only and
Auth0's error texts, `audience` carried into RS256 JWT access tokens, refresh
tokens only for `offline_access`, rotation with reuse detection, single-use
codes whose replay revokes what they issued, `invalid_client` as 401.
"""

import hmac
import io
import json
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Blueprint, current_app, g, jsonify, make_response, redirect, render_template, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.wrappers import Response

from . import data
from .client_auth import PRIVATE_KEY_JWT, authenticate_private_key_jwt
from .logout import SID_COOKIE, end_sign_in_session, start_sign_in_session
from .state import AuthorizationCode, RefreshToken, new_family

bp = Blueprint("auth", __name__)

SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT]
SSO_COOKIE = "navexa_sandbox_sso"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class Client:
    client_id: str
    client_secret: str
    extra_redirect_uris: tuple[str, ...] = ()

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SUPPORTED_SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.extra_redirect_uris or is_loopback_url(redirect_uri, "/callback")

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


def is_loopback_url(url: str, path: str | None = None) -> bool:
    """Whether url is http(s)://127.0.0.1|localhost:<any port> (with the given path, if any)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and parts.hostname in LOOPBACK_HOSTS
        and port is not None
        and not parts.query
        and not parts.fragment
        and (path is None or parts.path == path)
    )


def issuer() -> str:
    return request.host_url  # ends with "/", as Auth0's issuer does


def browser_base() -> str:
    """Where browsers reach the sandbox: SANDBOX_BROWSER_URL when the portal reaches it by another name
    (a compose service name), else the issuer."""
    configured = current_app.config.get("SANDBOX_BROWSER_URL")
    return configured.rstrip("/") + "/" if configured else issuer()


def state():
    return current_app.extensions["sandbox_state"]


def signing_key() -> RSAKey:
    return current_app.extensions["sandbox_key"]


# -- the grants ---------------------------------------------------------------


class Auth0CodeChallenge(CodeChallenge):
    """PKCE as Auth0 enforces it: required on /authorize, S256 only, Auth0's texts."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        payload = grant.request.payload.data
        if not payload.get("code_challenge"):
            raise InvalidRequestError("The PKCE protocol extension is required.")
        if payload.get("code_challenge_method", "S256") != "S256":
            raise InvalidRequestError("Unsupported code_challenge_method. Only S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Parameter 'code_verifier' is required")
        try:
            super().validate_code_verifier(grant, result)
        except OAuth2Error as error:
            raise InvalidGrantError("Failed to verify code_verifier.") from error


class Auth0OpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce, request):
        with state().lock:
            return nonce in state().used_nonces

    def resolve_client_private_key(self, client):
        return signing_key()

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": signing_key().kid}

    def get_client_claims(self, client):
        claims = {"iss": issuer(), "aud": client.get_client_id(), "exp": int(time.time()) + 36000}
        if g.token_context.get("sid"):
            claims["sid"] = g.token_context["sid"]  # the sign-in session, as Auth0 puts it in ID tokens
        return claims

    def generate_user_info(self, user, scope):
        person = data.USERS[user]
        info = UserInfo(sub=person["sub"])
        if "profile" in scope.split():
            info["name"] = person["name"]
            info["nickname"] = user
        if "email" in scope.split():
            info["email"] = person["email"]
            info["email_verified"] = True
        return info


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code, request):
        params = request.payload.data
        record = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            user=request.user,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            audience=params.get("audience"),
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method", "S256"),
            family=new_family(),
            sid=g.get("sign_in_sid"),
        )
        with state().lock:
            state().codes[code] = record
            if record.nonce:
                state().used_nonces.add(record.nonce)

    def query_authorization_code(self, code, client):
        sandbox = state()
        with sandbox.lock:
            record = sandbox.codes.get(code)
            if record is None or record.client_id != client.get_client_id():
                raise InvalidGrantError("Invalid authorization code")
            if record.used:
                # A replayed code is a stolen code: revoke everything the first use issued.
                sandbox.revoke_family(record.family)
                raise InvalidGrantError("Invalid authorization code")
            if time.time() - record.issued_at >= sandbox.knobs["authorization_code_ttl"]:
                raise InvalidGrantError("Authorization code expired")
            return record

    def delete_authorization_code(self, authorization_code):
        with state().lock:
            authorization_code.used = True

    def authenticate_user(self, authorization_code):
        g.token_context = {"audience": authorization_code.audience, "family": authorization_code.family,
                           "sid": authorization_code.sid}
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation, as Auth0 with "Rotation" on

    def authenticate_refresh_token(self, refresh_token):
        sandbox = state()
        unknown = InvalidGrantError("Unknown or invalid refresh token.")
        with sandbox.lock:
            record = sandbox.refresh_tokens.get(refresh_token)
            if record is None or record.revoked or sandbox.family_revoked(record.family):
                raise unknown
            now = time.time()
            if record.rotated_at is not None:
                if now - record.rotated_at > sandbox.knobs["refresh_reuse_interval"]:
                    # Reuse of a rotated-out token: Auth0 revokes the whole family.
                    sandbox.stats["refresh_reuse_detected"] += 1
                    sandbox.revoke_family(record.family)
                    raise unknown
            else:
                # Rotate atomically with the check, so two racing uses cannot both pass as first.
                record.rotated_at = now
            return record

    def authenticate_user(self, refresh_token):
        g.token_context = {"audience": refresh_token.audience, "family": refresh_token.family}
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        pass  # rotated in authenticate_refresh_token, under the lock


class Auth0Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        with state().lock:
            return state().refresh_tokens.get(token_string)

    def revoke_token(self, token, request):
        if state().knob("revoke_only_the_token_shown"):
            with state().lock:
                token.revoked = True
        else:
            state().revoke_family(token.family)
        state().count("revocations")


# -- tokens -------------------------------------------------------------------


def generate_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
    """Issue an RS256 JWT access token (and a refresh token if offline_access was granted)."""
    context = g.token_context
    ttl = int(state().knob("access_token_ttl"))
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "sub": data.USERS[user]["sub"],
        "azp": client.get_client_id(),
        "iat": now,
        "exp": now + ttl,
        "scope": scope,
        "jti": secrets.token_urlsafe(8),
        "fam": context["family"],
    }
    audiences = [context["audience"]] if context["audience"] else []
    if "openid" in scope.split():
        audiences.append(issuer() + "userinfo")
    if audiences:
        claims["aud"] = audiences
    if state().knob("opaque_access_tokens"):
        access_token = "at." + secrets.token_urlsafe(32)
        with state().lock:
            state().opaque_tokens[access_token] = claims
    else:
        access_token = jwt.encode({"alg": "RS256", "kid": signing_key().kid}, claims, signing_key())
    token = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    }
    if include_refresh_token and "offline_access" in scope.split():
        token["refresh_token"] = "v1." + secrets.token_urlsafe(48)
    return token


def save_token(token, request):
    refresh = token.get("refresh_token")
    if not refresh:
        return
    context = g.token_context
    with state().lock:
        state().refresh_tokens[refresh] = RefreshToken(
            token=refresh,
            client_id=request.client.get_client_id(),
            user=request.user,
            scope=token["scope"],
            audience=context["audience"],
            family=context["family"],
        )


def decode_access_token(raw: str) -> dict | None:
    """Return the claims of a valid, unrevoked sandbox access token (JWT or opaque), else None."""
    with state().lock:
        claims = state().opaque_tokens.get(raw)
    if claims is None:
        try:
            claims = jwt.decode(raw, signing_key(), algorithms=["RS256"]).claims
        except Exception:  # any malformed or forged token is simply "not valid"
            return None
    if claims.get("exp", 0) <= time.time() or state().family_revoked(claims.get("fam", "")):
        return None
    return claims


def user_for_sub(sub: str) -> str | None:
    return next((name for name, person in data.USERS.items() if person["sub"] == sub), None)


def create_server(app, client: Client) -> AuthorizationServer:
    server = AuthorizationServer(app, query_client=lambda cid: client if cid == client.client_id else None, save_token=save_token)
    server.register_token_generator("default", generate_token)
    server.register_client_auth_method(PRIVATE_KEY_JWT, authenticate_private_key_jwt)
    server.register_grant(AuthorizationCodeGrant, [Auth0CodeChallenge(required=True), Auth0OpenIDCode(require_nonce=False)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Auth0Revocation)
    return server


def server() -> AuthorizationServer:
    return current_app.extensions["sandbox_server"]


# -- endpoints ----------------------------------------------------------------


@bp.get("/.well-known/openid-configuration")
def discovery():
    base = issuer()
    return jsonify({
        "issuer": base,
        "authorization_endpoint": browser_base() + "authorize",
        "token_endpoint": base + "oauth/token",
        "userinfo_endpoint": base + "userinfo",
        "jwks_uri": base + ".well-known/jwks.json",
        "revocation_endpoint": base + "oauth/revoke",
        "end_session_endpoint": browser_base() + "oidc/logout",
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    })


@bp.get("/.well-known/jwks.json")
def jwks():
    state().count("jwks_requests")
    return jsonify({"keys": [signing_key().as_dict(private=False, use="sig", alg="RS256")]})


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    try:
        grant = server().get_consent_grant()
    except OAuth2Error as error:
        if error.redirect_uri:
            return server().handle_error_response(None, error)
        return render_template("error.html", error=error.error, description=error.description), 400
    if request.method == "GET":
        remembered = request.cookies.get(SSO_COOKIE)
        return render_template("signin.html", query=request.query_string.decode(), users=data.USERS,
                               remembered=remembered if remembered in data.USERS else None, error=None)
    username = request.form.get("username", "").strip().lower()
    if request.form.get("decision") == "deny":
        return server().create_authorization_response(grant=grant, grant_user=None)
    if username not in data.USERS:
        return render_template("signin.html", query=request.query_string.decode(), users=data.USERS,
                               remembered=None, error="Unknown user: try alice or bob."), 400
    g.sign_in_sid = start_sign_in_session(username, request.cookies.get(SID_COOKIE))
    response = server().create_authorization_response(grant=grant, grant_user=username)
    response.set_cookie(SSO_COOKIE, username, httponly=True, samesite="Lax")
    response.set_cookie(SID_COOKIE, g.sign_in_sid, httponly=True, samesite="Lax")
    return response


def forced_token_error():
    """Take a forced token_error if one is configured (on arrival: a request its client gave up on must not take,
    when its sleep ends, an error the next test forced), apply token_latency_ms, then answer it."""
    forced = state().take_forced_error("token_error", request.path)
    delay = state().knob("token_latency_ms")
    if delay:
        time.sleep(delay / 1000)
    if forced and forced["status"] == 429:  # Auth0's rate limit: JSON, Retry-After when it says one
        state().count("token_rate_limited")
        response = jsonify(error="too_many_requests", error_description="Global limit has been reached")
        response.status_code = 429
        if forced.get("retry_after") is not None:
            response.headers["Retry-After"] = str(forced["retry_after"])
        return response
    if forced:
        return Response("<html><body>Service Unavailable</body></html>", forced["status"], mimetype="text/html")
    return None


@bp.post("/oauth/token")
def token():
    grant_type = request.form.get("grant_type")
    if grant_type in ("authorization_code", "refresh_token"):
        state().count("token_requests", grant_type)
    state().log_token_request({
        "grant_type": grant_type,
        "auth_method": ("client_secret_basic" if request.authorization else
                        PRIVATE_KEY_JWT if "client_assertion" in request.form else "client_secret_post"),
        "params": sorted(request.form.keys()),
        "content_type": request.environ.get("sandbox.original_content_type", request.content_type),
    })
    if grant_type == "refresh_token" and "scope" in request.form and state().knob("refuse_refresh_scope"):
        return jsonify(error="invalid_scope", error_description="Scope is not allowed on refresh."), 403
    return forced_token_error() or _auth0_status(server().create_token_response())


@bp.post("/oauth/revoke")
def revoke():
    return forced_token_error() or _auth0_status(server().create_endpoint_response(Auth0Revocation.ENDPOINT_NAME))


def _auth0_status(response):
    """Auth0 answers invalid_client with 401 whichever way the client authenticated."""
    if response.status_code == 400 and response.is_json and response.get_json().get("error") == "invalid_client":
        response.status_code = 401
    return response


@bp.get("/userinfo")
def userinfo():
    auth = request.headers.get("Authorization", "")
    claims = decode_access_token(auth[7:]) if auth.startswith("Bearer ") else None
    if not claims or issuer() + "userinfo" not in claims.get("aud", []):
        return jsonify(error="invalid_token", error_description="Unauthorized"), 401
    person = data.USERS[user_for_sub(claims["sub"])]
    return jsonify(sub=person["sub"], name=person["name"], email=person["email"], email_verified=True)


@bp.get("/oidc/logout")
def oidc_logout():
    return _logout(request.args.get("client_id"), request.args.get("post_logout_redirect_uri"), request.args.get("state"))


@bp.get("/v2/logout")
def v2_logout():
    return _logout(request.args.get("client_id"), request.args.get("returnTo"), None)


def _logout(client_id, return_to, logout_state):
    client = current_app.extensions["sandbox_client"]
    if client_id != client.client_id:
        return render_template("error.html", error="invalid_request", description="Unknown client_id."), 400
    if return_to and not (return_to in client.extra_redirect_uris or is_loopback_url(return_to)):
        return render_template("error.html", error="invalid_request",
                               description="The returnTo URL is not in the allowed logout URLs."), 400
    state().count("logouts")
    # The browser's sign-in session (Auth0 also reads logout_hint as one); the client hears of it by back channel.
    end_sign_in_session(request.cookies.get(SID_COOKIE) or request.args.get("logout_hint"), "rp-logout")
    if return_to:
        target = return_to + ("?" + urlencode({"state": logout_state}) if logout_state else "")
        response = redirect(target)
    else:
        response = make_response(render_template("error.html", error="signed_out", description="You are signed out."))
    response.delete_cookie(SSO_COOKIE)
    response.delete_cookie(SID_COOKIE)
    return response


class JsonBodyAsForm:
    """WSGI middleware: Auth0's token and revocation endpoints also take JSON bodies.

    Authlib reads the form, so a JSON object is re-encoded as a form before it gets there.
    """

    PATHS = ("/oauth/token", "/oauth/revoke")
    _JSON = re.compile(r"^application/json\b", re.I)

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in self.PATHS and self._JSON.match(environ.get("CONTENT_TYPE", "")):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
                if not isinstance(body, dict):
                    raise ValueError
            except ValueError:
                error = {"error": "invalid_request", "error_description": "The request body is not valid JSON."}
                return Response(json.dumps(error), 400, mimetype="application/json")(environ, start_response)
            form = urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}).encode()
            environ["sandbox.original_content_type"] = environ["CONTENT_TYPE"]
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(form))
            environ["wsgi.input"] = io.BytesIO(form)
        return self.wsgi_app(environ, start_response)
