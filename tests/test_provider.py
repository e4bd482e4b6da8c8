"""Provider against the sandbox over real HTTP: the authorize URL, the code exchange and every
way an ID token can fail validation."""


import re
import time

import pytest
from joserfc.jwk import KeySet

from portal.core.oauth.provider import InvalidIdToken, Provider, ProviderRefused, s256
from tests.helpers import DAY, query_of
from tests.oauth_helpers import API_AUDIENCE, FULL_SCOPE, REDIRECT_URI, get_code, make_verifier
from tools.stack import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET


def provider_for(sandbox, **overrides) -> Provider:
    options = {"auth_url": sandbox.url, "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET,
               "audience": API_AUDIENCE, "scope": FULL_SCOPE, **overrides}
    return Provider(**options)


def signed_in_tokens(sandbox, nonce="n-fixed"):
    verifier = make_verifier()
    code = get_code(sandbox.url, verifier, nonce=nonce)
    return provider_for(sandbox).exchange_code(code, REDIRECT_URI, verifier, nonce)


def test_the_login_request_carries_state_nonce_and_an_s256_challenge(sandbox):
    started = provider_for(sandbox).login_request("http://127.0.0.1:1/callback", {"organization": "org_1"})
    params = query_of(started.url)
    assert started.url.startswith(sandbox.url + "/authorize?")
    assert params["state"] == started.state and params["nonce"] == started.nonce
    assert params["code_challenge"] == s256(started.code_verifier) and params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,128}", started.code_verifier)
    assert params["audience"] == API_AUDIENCE and params["organization"] == "org_1"
    assert started.code_verifier not in started.url


def test_a_code_exchange_returns_tokens_and_validated_claims(sandbox):
    token, claims = signed_in_tokens(sandbox)
    assert claims["sub"] == "auth0|alice-7f3a91" and claims["nonce"] == "n-fixed"
    assert token["access_token"] and token["refresh_token"]


def test_a_wrong_nonce_fails_validation(sandbox):
    verifier = make_verifier()
    code = get_code(sandbox.url, verifier, nonce="n-real")
    with pytest.raises(InvalidIdToken):
        provider_for(sandbox).exchange_code(code, REDIRECT_URI, verifier, "n-someone-elses")


def test_a_reused_code_is_refused_by_the_provider(sandbox):
    verifier = make_verifier()
    code = get_code(sandbox.url, verifier, nonce="n")
    provider_for(sandbox).exchange_code(code, REDIRECT_URI, verifier, "n")
    with pytest.raises(ProviderRefused) as caught:
        provider_for(sandbox).exchange_code(code, REDIRECT_URI, verifier, "n")
    assert caught.value.error == "invalid_grant"


@pytest.mark.parametrize("tamper", ["signature", "payload"])
def test_a_tampered_id_token_fails_validation(sandbox, tamper):
    token, _ = signed_in_tokens(sandbox)
    header, payload, signature = token["id_token"].split(".")
    if tamper == "signature":
        signature = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    else:
        payload = payload[:-2] + ("x" if payload[-2] != "x" else "y") + payload[-1]
    with pytest.raises(InvalidIdToken):
        provider_for(sandbox).validate_id_token(f"{header}.{payload}.{signature}", "n-fixed")


def test_an_id_token_for_another_client_fails_validation(sandbox):
    token, _ = signed_in_tokens(sandbox)
    with pytest.raises(InvalidIdToken):
        provider_for(sandbox, client_id="another-client").validate_id_token(token["id_token"], "n-fixed")


def test_an_expired_id_token_fails_validation(sandbox):
    token, _ = signed_in_tokens(sandbox)
    later = provider_for(sandbox, clock=lambda: time.time() + DAY)
    with pytest.raises(InvalidIdToken):
        later.validate_id_token(token["id_token"], "n-fixed")


def test_an_unknown_signing_key_makes_the_provider_fetch_its_keys_again(sandbox):
    token, _ = signed_in_tokens(sandbox)
    rotated = provider_for(sandbox)
    rotated._keys = KeySet([])  # keys fetched before the provider rotated its signing key
    assert rotated.validate_id_token(token["id_token"], "n-fixed")["sub"] == "auth0|alice-7f3a91"


def test_an_id_token_that_is_not_a_jwt_fails_validation(sandbox):
    with pytest.raises(InvalidIdToken):
        provider_for(sandbox).validate_id_token("not.a.jwt", "n")


def test_the_logout_url_uses_the_end_session_endpoint(sandbox):
    url = provider_for(sandbox).logout_url("http://127.0.0.1:1/")
    assert url.startswith(sandbox.url + "/oidc/logout?")
    assert query_of(url) == {"client_id": SANDBOX_CLIENT_ID, "post_logout_redirect_uri": "http://127.0.0.1:1/"}


def test_an_id_token_from_another_issuer_fails_validation(sandbox):
    token, claims = signed_in_tokens(sandbox, nonce="n-iss")
    provider = provider_for(sandbox)
    provider._metadata = {**provider.metadata(), "issuer": "https://another-tenant.example/"}  # a mix-up
    with pytest.raises(InvalidIdToken):
        provider.validate_id_token(token["id_token"], "n-iss")


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_an_id_token_under_a_symmetric_or_no_algorithm_fails_validation(sandbox, alg):
    import base64
    import json

    from joserfc import jwt
    from joserfc.jwk import OctKey

    token, claims = signed_in_tokens(sandbox, nonce="n-alg")
    if alg == "HS256":  # keyed with our own client secret, which the provider and the portal share
        forged = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SANDBOX_CLIENT_SECRET.encode()))
    else:
        def part(value):
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
        forged = f"{part({'alg': 'none'})}.{part(claims)}."
    with pytest.raises(InvalidIdToken):
        provider_for(sandbox).validate_id_token(forged, "n-alg")


def test_the_id_token_names_the_navexa_sign_in_session(sandbox):
    _, claims = signed_in_tokens(sandbox)
    assert isinstance(claims.get("sid"), str) and claims["sid"]  # what back-channel logout names


def forged_provider_and_token(claims: dict):
    """A provider whose discovery and keys are set here (no network), and an ID token its key signs."""
    import time

    from joserfc import jwt
    from joserfc.jwk import KeySet, RSAKey

    from portal.core.oauth.provider import Provider

    key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    provider = Provider(auth_url="http://idp.invalid", client_id="portal", client_secret="s", audience=None, scope="openid")
    provider._metadata = {"issuer": "http://idp.invalid/", "authorization_endpoint": "x", "token_endpoint": "x",
                          "jwks_uri": "http://idp.invalid/jwks"}
    provider._keys = KeySet([key])
    now = int(time.time())
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, {"iss": "http://idp.invalid/", "aud": "portal", "sub": "auth0|x",
                                                        "iat": now, "exp": now + 300, "nonce": "n", **claims}, key)
    return provider, token


def test_an_id_token_whose_azp_is_another_client_is_refused_even_with_one_audience():
    from portal.core.oauth.provider import InvalidIdToken

    provider, token = forged_provider_and_token({"azp": "someone-else"})
    with pytest.raises(InvalidIdToken):
        provider.validate_id_token(token, "n")
    provider, token = forged_provider_and_token({"azp": "portal"})
    assert provider.validate_id_token(token, "n")["sub"] == "auth0|x"  # this client's own azp passes


def test_a_key_rotated_under_the_same_kid_is_fetched_again_once(sandbox):
    from joserfc.jwk import KeySet, RSAKey

    from tests.test_provider import provider_for, signed_in_tokens

    token, _ = signed_in_tokens(sandbox)
    kid = [k for k in provider_for(sandbox)._key_set(None).keys][0].kid
    stale = provider_for(sandbox)
    stale._keys = KeySet([RSAKey.generate_key(2048, parameters={"kid": kid}, private=False)])  # same kid, old key
    assert stale.validate_id_token(token["id_token"], "n-fixed")["sub"] == "auth0|alice-7f3a91"
