"""OpenID Connect Back-Channel Logout 1.0: a logout token checked as its §2.6 says. No Flask here.

`read()` returns what a valid token asks to end (a Navexa sign-in `sid`, a person `sub`, or both) or
raises InvalidLogoutToken; `LogoutReplays.first_use()` makes sure each token (its `jti`) is acted on once.

The checks, in the order §2.6 gives them:
1. signed by one of the provider's keys with an asymmetric algorithm (never `none`, never HS256,
   which would be keyed with our own client secret); a `typ` other than logout+jwt or JWT is refused;
2. `iss` is the provider's issuer, `aud` holds our client id (and `azp`, when present, is it), `iat`
   is recent (within MAX_AGE, and no more than LEEWAY ahead), `exp`, when present, not past;
3. `sub` and/or `sid`, as strings;
4. `events` holds the back-channel logout event, as a JSON object;
5. no `nonce` (so an ID token can never pass for a logout token);
6. a `jti`, never seen before (the replay cache keeps it until the token could no longer pass 2).
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from joserfc import jws
from joserfc.errors import JoseError

from ..storage.keyspace import LOGOUT_JTI
from ..values import is_number
from .provider import Provider, ProviderFailure

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_AGE = 300  # s: an older logout token is refused (the provider sends it as the logout happens)
LEEWAY = 60  # s of clock skew allowed ahead
ACCEPTED_TYPES = (None, "logout+jwt", "JWT", "application/logout+jwt")


class InvalidLogoutToken(Exception):
    """A logout token that fails §2.6; the message says which check, never the token."""


@dataclass(frozen=True)
class LogoutRequest:
    sub: str | None
    sid: str | None
    jti: str
    good_until: float  # epoch seconds after which this token could not pass the checks again


def read(provider: Provider, token: str, *, clock: Callable[[], float] = time.time) -> LogoutRequest:
    """The logout a token asks for, if it passes §2.6's checks 1–5 (the caller does 6 with LogoutReplays)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16_384:
        raise InvalidLogoutToken("not a signed JWT")
    try:
        header = jws.extract_compact(token.encode()).headers()
        if header.get("typ") not in ACCEPTED_TYPES:
            raise InvalidLogoutToken("typ is not logout+jwt")
        claims = provider.signed_claims(token)
        issuer, client_id = provider.issuer(), provider.client_id
    except InvalidLogoutToken:
        raise
    except ProviderFailure as error:
        raise InvalidLogoutToken("the provider's keys could not be read") from error
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise InvalidLogoutToken("bad signature or algorithm") from error
    now = clock()
    audience = claims.get("aud")
    if claims.get("iss") != issuer:
        raise InvalidLogoutToken("iss is not the provider")
    if not (audience == client_id or (isinstance(audience, list) and client_id in audience)):
        raise InvalidLogoutToken("aud is not this client")
    if "azp" in claims and claims["azp"] != client_id:
        raise InvalidLogoutToken("azp is not this client")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not is_number(iat) or iat < now - MAX_AGE or iat > now + LEEWAY:
        raise InvalidLogoutToken("iat is missing or not recent")
    if exp is not None and (not is_number(exp) or exp < now - LEEWAY):
        raise InvalidLogoutToken("exp has passed")
    sub, sid = claims.get("sub"), claims.get("sid")
    if sub is not None and not (isinstance(sub, str) and sub) or sid is not None and not (isinstance(sid, str) and sid):
        raise InvalidLogoutToken("sub or sid is not a string")
    if sub is None and sid is None:
        raise InvalidLogoutToken("neither sub nor sid")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise InvalidLogoutToken("no back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token has no nonce")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidLogoutToken("no jti")
    # It can pass only while its iat is recent (and before its exp, if sooner): a far exp never stretches that.
    good_until = min(iat + MAX_AGE, exp if is_number(exp) else iat + MAX_AGE) + LEEWAY
    return LogoutRequest(sub=sub, sid=sid, jti=jti, good_until=good_until)


class LogoutReplays:
    """The jti of every logout token acted on, kept until it could not pass again (§2.6 step 6)."""

    def __init__(self, redis_client: redis.Redis, clock: Callable[[], float] = time.time):
        self.redis = redis_client
        self.clock = clock

    def first_use(self, request: LogoutRequest) -> bool:
        """True the first time this token's jti is seen; False for a replay."""
        ttl = max(1, int(request.good_until - self.clock()) + 1)
        return bool(self.redis.set(self._key(request), b"1", nx=True, ex=ttl))

    def forget(self, request: LogoutRequest):
        """Undo first_use for a token whose logout could not be carried out, so the provider's retry of it is
        acted on rather than refused as a replay (best effort: if Redis is gone, so is the retry's chance)."""
        try:
            self.redis.delete(self._key(request))
        except redis.RedisError:
            pass

    @staticmethod
    def _key(request: LogoutRequest) -> str:
        return LOGOUT_JTI + hashlib.sha256(request.jti.encode()).hexdigest()
