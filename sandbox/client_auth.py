"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9), as Auth0 accepts it.

The client registers its public keys (POST /_sandbox/client_keys {"jwks": {...}}, as an operator
uploads a certificate to Auth0); then a token or revocation request may carry, instead of the client
secret, `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a
`client_assertion`: a JWT signed with one of those keys, whose iss and sub are the client id, whose
aud is the tenant (its issuer, or the endpoint's URL), with an exp no more than 10 minutes ahead and
a jti used once. Anything else is invalid_client.
"""

import time

from flask import Blueprint, current_app, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

PRIVATE_KEY_JWT = "private_key_jwt"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "PS256", "ES256"]
MAX_LIFETIME = 600  # s

bp = Blueprint("client_auth", __name__, url_prefix="/_sandbox")


def state():
    return current_app.extensions["sandbox_state"]


def authenticate_private_key_jwt(query_client, oauth_request):
    """Authlib's client-auth hook: the client, if the request carries a valid assertion; else None."""
    from .auth import issuer

    form = oauth_request.form
    assertion = form.get("client_assertion")
    if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
        return None
    with state().lock:
        jwks = state().client_keys
    if not jwks:
        return None
    try:
        claims = jwt.decode(assertion, KeySet.import_key_set(jwks), algorithms=ALGORITHMS).claims
    except (JoseError, ValueError, TypeError):
        state().count("client_assertions_refused")
        return None
    client = query_client(claims.get("iss"))
    now = time.time()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    good_audiences = {issuer(), issuer().rstrip("/"), issuer() + "oauth/token", issuer() + "oauth/revoke"}
    exp = claims.get("exp")
    ok = (client is not None and claims.get("sub") == claims.get("iss")
          and form.get("client_id", claims.get("iss")) == claims.get("iss")
          and any(a in good_audiences for a in audiences)
          and isinstance(exp, int) and now < exp <= now + MAX_LIFETIME and isinstance(claims.get("jti"), str))
    with state().lock:
        if ok and claims["jti"] in state().assertion_ids:
            ok = False  # replayed
        if ok:
            state().assertion_ids.add(claims["jti"])
    if not ok:
        state().count("client_assertions_refused")
        return None
    return client


@bp.post("/client_keys")
def client_keys():
    body = request.get_json(silent=True) or {}
    try:
        KeySet.import_key_set(body.get("jwks"))
    except (JoseError, ValueError, TypeError, KeyError):
        return jsonify(error="invalid_request", message="send {\"jwks\": {\"keys\": [...]}} of public keys"), 400
    with state().lock:
        state().client_keys = body["jwks"]
    return jsonify(registered=len(body["jwks"].get("keys", [])))
