"""Navexa's Auth0 tenant as the portal uses it: discovery, the authorize URL, the code exchange
with ID-token validation, refresh with its failure policy, revocation and the logout URL.

No Flask here: settings come in, plain values go out. Every call to the provider goes through
`Provider._send`, the one place where transport failures become the exceptions below:

    ProviderFailure            the provider did not give us what we asked for (`code` says how)
    ├── ProviderUnreachable    nothing came back: refused, reset, DNS, TLS
    │   └── ProviderTimeout    no answer within the timeout
    ├── ProviderBadAnswer      an answer we can't use: not JSON, an HTTP error without an OAuth
    │   │                      error, a missing field
    │   └── InvalidIdToken     an ID token that fails validation
    ├── ProviderRateLimited    429: the tenant's rate limit (`retry_after` when it said one)
    └── ProviderRefused        an OAuth error answer; `error` is its code (invalid_grant, …)

`refresher()` turns these into the token store's contract (SessionEnded ends the
session, RefreshUnavailable and its kinds keep it) by the one policy in FATAL_REFRESH_ERRORS.
"""

import base64
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from ..observability import tracing
from ..values import whole_number
from .client_auth import SecretPost

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10)  # s: connect, read for discovery, JWKS, code exchange and revocation
# A refresh that times out here may still complete at the provider and rotate the refresh token,
# so the portal waits longer for it than for anything else.
REFRESH_TIMEOUT = (3.05, 30)
ID_TOKEN_LEEWAY = 60  # s of clock skew allowed on the ID token's exp and iat
# Asymmetric algorithms only: an HS256 ID token would be signed with our own client secret.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# s between fetches of the key set for an unknown kid or a failed signature: a rotated key is found within this,
# and forged tokens posted to /backchannel-logout can't turn into a stream of JWKS requests at the tenant.
JWKS_REFETCH_EVERY = 10.0
# The only refresh answers that end a session; anything else (timeouts, 5xx) is worth retrying later.
VERIFIER_BYTES = 64  # → an 86-character code_verifier (RFC 7636 allows 43–128)


class ProviderFailure(Exception):
    """The identity provider did not give us what we asked for."""

    code = "provider_failure"


class ProviderUnreachable(ProviderFailure):
    code = "provider_unreachable"


class ProviderTimeout(ProviderUnreachable):
    code = "provider_timeout"


class ProviderBadAnswer(ProviderFailure):
    code = "provider_bad_answer"


class InvalidIdToken(ProviderBadAnswer):
    code = "invalid_id_token"


class ProviderRateLimited(ProviderFailure):
    code = "provider_rate_limited"

    def __init__(self, retry_after: int | None):
        super().__init__(f"the provider is rate-limiting (Retry-After: {retry_after})")
        self.retry_after = retry_after


class ProviderRefused(ProviderFailure):
    code = "provider_refused"

    def __init__(self, error: str, status: int):
        super().__init__(f"the provider refused: {error} (HTTP {status})")
        self.error = error
        self.status = status


@dataclass(frozen=True)
class LoginRequest:
    """What /login keeps (verifier, nonce) and what it sends the browser to (url)."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Provider:
    """The portal's confidential client at Navexa's Auth0 tenant; safe to share between threads."""

    def __init__(self, *, auth_url: str, client_id: str, client_secret: str, audience: str | None, scope: str,
                 timeout=TIMEOUT, refresh_timeout=REFRESH_TIMEOUT, refresh_scope: str | None = None,
                 http: requests.Session | None = None, clock: Callable[[], float] = time.time, client_auth=None):
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        # How the portal authenticates at the token and revocation endpoints (core.oauth.client_auth).
        self.client_auth = client_auth or SecretPost(client_id, client_secret)
        self.audience = audience
        self.scope = scope
        self.timeout = timeout
        self.refresh_timeout = refresh_timeout
        self.refresh_scope = refresh_scope
        self.http = http or requests.Session()
        self.clock = clock
        self._metadata: dict | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at: float | None = None  # on self.clock
        self._lock = threading.Lock()

    # -- transport: the one place requests' failures are translated ----------------------

    def _send(self, what: str, method: str, url: str, timeout=None, **kwargs) -> requests.Response:
        with tracing.span(f"token endpoint {what}" if method == "POST" else f"provider {what}",
                          **{"http.request.method": method, "url.path": urlsplit(url).path}) as current:
            response = self._send_now(what, method, url, timeout, **kwargs)
            if current is not None:
                tracing.set_status(current, response.status_code)
            return response

    def _send_now(self, what: str, method: str, url: str, timeout=None, **kwargs) -> requests.Response:
        try:
            return self.http.request(method, url, timeout=timeout or self.timeout, allow_redirects=False,
                                     headers=tracing.inject({"Accept": "application/json"}), **kwargs)
        except requests.Timeout as error:
            log.warning("%s: provider timed out", what)
            raise ProviderTimeout(f"{what}: no answer in time") from error
        except requests.RequestException as error:
            log.warning("%s: provider unreachable (%s)", what, type(error).__name__)
            raise ProviderUnreachable(f"{what}: {type(error).__name__}") from error

    def _json(self, what: str, response: requests.Response) -> dict:
        """The answer's JSON object; an OAuth error answer raises ProviderRefused, a 429 ProviderRateLimited."""
        if response.status_code == 429:
            retry_after = whole_number(response.headers.get("Retry-After"))
            log.warning("%s: provider rate-limited us (Retry-After: %s)", what, retry_after)
            raise ProviderRateLimited(retry_after)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.warning("%s: provider answered HTTP %s without a JSON object", what, response.status_code)
            raise ProviderBadAnswer(f"{what}: HTTP {response.status_code}, not JSON")
        if response.status_code >= 400 or "error" in body:
            error = body.get("error")
            if response.status_code < 500 and isinstance(error, str) and error:
                log.warning("%s: provider refused: %s", what, error[:64])
                raise ProviderRefused(error[:64], response.status_code)
            log.warning("%s: provider answered HTTP %s", what, response.status_code)
            raise ProviderBadAnswer(f"{what}: HTTP {response.status_code}")
        return body

    # -- discovery and keys --------------------------------------------------------------

    def metadata(self) -> dict:
        """The provider's discovery document, fetched once (and again only after a failure)."""
        if self._metadata is None:
            with self._lock:
                if self._metadata is None:
                    url = self.auth_url + "/.well-known/openid-configuration"
                    document = self._json("discovery", self._send("discovery", "GET", url))
                    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
                               if not isinstance(document.get(k), str)]
                    if missing:
                        log.warning("discovery: the document lacks %s", ", ".join(missing))
                        raise ProviderBadAnswer("discovery document lacks " + ", ".join(missing))
                    self._metadata = document
        return self._metadata

    def _key_set(self, kid: str | None, again: bool = False) -> KeySet:
        """The provider's signing keys; fetched again when a token names a key we don't have, or (again)
        when a known key's signature failed: the provider may have rotated a key under the same kid. Not
        more often than JWKS_REFETCH_EVERY: until then such a token is checked against the keys at hand."""
        keys = self._keys
        wanted = again or (kid is not None and keys is not None and not any(k.kid == kid for k in keys.keys))
        if keys is None or wanted and self._may_refetch():
            self._keys_fetched_at = self.clock()
            response = self._send("jwks", "GET", self.metadata()["jwks_uri"])
            try:
                keys = KeySet.import_key_set(self._json("jwks", response))
            except (JoseError, ValueError, TypeError, KeyError) as error:
                raise ProviderBadAnswer("jwks: not a key set") from error
            self._keys = keys
        return keys

    def _may_refetch(self) -> bool:
        fetched = self._keys_fetched_at
        return fetched is None or self.clock() - fetched >= JWKS_REFETCH_EVERY

    def signed_claims(self, token: str) -> dict:
        """The claims of a JWT signed by one of the provider's keys, with an asymmetric algorithm only (never
        `none`, never HS256 under our own client secret); JoseError or ValueError otherwise. A signature that
        fails under a known kid is tried once more with the key set fetched again (a key rotated under it)."""
        kid = jws.extract_compact(token.encode()).headers().get("kid")
        keys = self._key_set(kid)
        try:
            return jwt.decode(token, keys, algorithms=list(ID_TOKEN_ALGORITHMS)).claims
        except BadSignatureError:  # once: a key rotated under the same kid; a forgery fails again
            fresh = self._key_set(kid, again=True)
            if fresh is keys:
                raise  # not fetched again yet (JWKS_REFETCH_EVERY): the same keys would fail the same way
            return jwt.decode(token, fresh, algorithms=list(ID_TOKEN_ALGORITHMS)).claims

    def issuer(self) -> str:
        return self.metadata()["issuer"]

    # -- sign-in -------------------------------------------------------------------------

    def login_request(self, redirect_uri: str, extra: dict | None = None) -> LoginRequest:
        """A fresh state, nonce and PKCE verifier, and the authorize URL that carries them."""
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(VERIFIER_BYTES)
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                  "scope": self.scope, "state": state, "nonce": nonce,
                  "code_challenge": s256(verifier), "code_challenge_method": "S256"}
        if self.audience:
            params["audience"] = self.audience
        params.update(extra or {})
        url = self.metadata()["authorization_endpoint"] + "?" + urlencode(params)
        return LoginRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> tuple[dict, dict]:
        """Exchange the code with the client's authentication and code_verifier; return the tokens and ID-token claims."""
        token = self._token_request("code exchange", self.timeout, grant_type="authorization_code", code=code,
                                    redirect_uri=redirect_uri, code_verifier=code_verifier)
        if not isinstance(token.get("id_token"), str):
            log.warning("code exchange: the answer has no ID token")
            raise InvalidIdToken("no ID token in the answer")
        return token, self.validate_id_token(token["id_token"], nonce)

    def validate_id_token(self, id_token: str, nonce: str) -> dict:
        """Check the ID token's signature (JWKS), iss, aud (and azp), exp, iat and nonce; return its claims."""
        try:
            claims = self.signed_claims(id_token)
            jwt.JWTClaimsRegistry(
                now=lambda: int(self.clock()), leeway=ID_TOKEN_LEEWAY,
                iss={"essential": True, "value": self.issuer()},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError, TypeError) as error:
            log.warning("ID token rejected: %s", type(error).__name__)
            raise InvalidIdToken("the ID token did not pass validation") from error
        several = isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1
        if ("azp" in claims or several) and claims.get("azp") != self.client_id:  # OIDC Core 3.1.3.7: 4 and 5
            log.warning("ID token rejected: its azp is not this client")
            raise InvalidIdToken("the ID token's azp is not this client")
        return dict(claims)

    # -- tokens --------------------------------------------------------------------------

    def refresh(self, refresh_token: str) -> dict:
        """A refresh grant; no `scope` unless configured (RFC 6749 §6: omitted means as granted)."""
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.refresh_scope:
            params["scope"] = self.refresh_scope
        return self._token_request("refresh", self.refresh_timeout, **params)

    def _token_request(self, what: str, timeout, **params) -> dict:
        data = {**params, **self.client_auth.params(self.issuer())}
        answer = self._json(what, self._send(what, "POST", self.metadata()["token_endpoint"], timeout=timeout, data=data))
        if not isinstance(answer.get("access_token"), str):
            log.warning("%s: the answer has no access token", what)
            raise ProviderBadAnswer("no access token in the answer")
        return answer

    def revoke(self, refresh_token: str) -> int | None:
        """Revoke a refresh token, best effort: the HTTP status, or None if it could not be asked."""
        try:
            endpoint = self.metadata().get("revocation_endpoint")
            if not endpoint:
                log.info("revocation: the provider has no revocation endpoint")
                return None
            response = self._send("revocation", "POST", endpoint, data={
                "token": refresh_token, "token_type_hint": "refresh_token", **self.client_auth.params(self.issuer())})
        except ProviderFailure:
            return None
        log.info("revocation answered %s", response.status_code)
        return response.status_code

    def logout_url(self, return_to: str, id_token: str | None = None, logout_hint: str | None = None) -> str:
        """Where the browser signs out at the provider too, coming back to return_to; the session's ID token
        goes as id_token_hint (RP-Initiated Logout 1.0), so the provider knows whose session it ends, and
        the provider's session id (the ID token's sid) as logout_hint, which Auth0 reads as the session to end."""
        try:
            end_session = self.metadata().get("end_session_endpoint")
        except ProviderFailure:
            log.warning("logout: provider metadata unavailable; signed out locally only")
            return return_to
        if isinstance(end_session, str) and end_session:
            hint = {"id_token_hint": id_token} if id_token else {}
            hint.update({"logout_hint": logout_hint} if logout_hint else {})
            return end_session + "?" + urlencode({"client_id": self.client_id, "post_logout_redirect_uri": return_to, **hint})
        return self.auth_url + "/v2/logout?" + urlencode({"client_id": self.client_id, "returnTo": return_to})
