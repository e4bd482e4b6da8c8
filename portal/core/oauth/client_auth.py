"""How the portal proves it is itself at Navexa's token and revocation endpoints. No Flask here.

- `client_secret_post` (the default, as Navexa's guide sends it): the client id and secret in the form.
- `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9; RFC 9700 §2.5 prefers asymmetric methods): a
  short-lived JWT signed with the portal's private key, whose public half the operator registered at
  Navexa's Auth0 tenant; no shared secret crosses the wire, and one leaked request can't be replayed
  (each assertion has its own jti and lives ASSERTION_LIFETIME).
"""

import secrets
import time
from collections.abc import Callable

from joserfc import jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60  # s


class SecretPost:
    """client_secret_post: the id and the shared secret in the form."""

    method = "client_secret_post"

    def __init__(self, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret

    def params(self, audience: str) -> dict:
        return {"client_id": self.client_id, "client_secret": self.client_secret}


class PrivateKeyJwt:
    """private_key_jwt: a signed assertion for each request, for the tenant (audience: its issuer)."""

    method = "private_key_jwt"

    def __init__(self, client_id: str, key, algorithm: str, key_id: str, clock: Callable[[], float] = time.time):
        """`key` and `algorithm` as settings.load_private_key gives them (an RSA key for RS256, P-256 for ES256)."""
        self.client_id, self.key, self.algorithm, self.key_id, self.clock = client_id, key, algorithm, key_id, clock

    def params(self, audience: str) -> dict:
        now = int(self.clock())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": audience, "iat": now,
                  "exp": now + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(24)}
        assertion = jwt.encode({"alg": self.algorithm, "kid": self.key_id, "typ": "JWT"}, claims, self.key)
        return {"client_id": self.client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
