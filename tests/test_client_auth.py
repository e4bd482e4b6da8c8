"""private_key_jwt (RFC 7523) against the sandbox: sign-in, refresh and sign-out with no shared secret."""

import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from portal.core.oauth.client_auth import ASSERTION_TYPE, PrivateKeyJwt
from portal.settings import ConfigError, Settings, load_private_key
from tests.helpers import PortalBrowser
from tools.stack import SANDBOX_CLIENT_ID, portal_env


def pem_of(private_key) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()


def rsa_pem() -> str:
    return pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def public_jwks(pem: str, kid: str) -> dict:
    key = (RSAKey if "-----BEGIN PRIVATE KEY-----" in pem and len(pem) > 1000 else ECKey).import_key(pem.encode())
    return {"keys": [{**key.as_dict(private=False), "kid": kid, "use": "sig"}]}


def key_portal(make_portal, pem: str, kid: str = "portal-key-1", **env):
    return make_portal(NAVEXA_CLIENT_AUTH="private_key_jwt", NAVEXA_CLIENT_PRIVATE_KEY=pem, NAVEXA_CLIENT_KEY_ID=kid,
                       NAVEXA_CLIENT_SECRET=None, **env)


@pytest.mark.parametrize("kind", ["RSA (RS256)", "EC P-256 (ES256)"])
def test_sign_in_refresh_and_sign_out_with_private_key_jwt(make_portal, sandbox, kind):
    pem = rsa_pem() if kind.startswith("RSA") else pem_of(ec.generate_private_key(ec.SECP256R1()))
    sandbox.register_client_keys(public_jwks(pem, "portal-key-1"))
    sandbox.config(access_token_ttl=120)
    portal = key_portal(make_portal, pem)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302 and person.page().status_code == 200
    portal.clock.advance(120)  # expired: the next page waits for a refresh
    assert person.page().status_code == 200
    person.post(portal.url + "/logout", data={"csrf_token": person.csrf()}, allow_redirects=False, timeout=10)
    exchanges = sandbox.token_requests()
    assert [r["grant_type"] for r in exchanges] == ["authorization_code", "refresh_token"]
    assert {r["auth_method"] for r in exchanges} == {"private_key_jwt"}
    assert all("client_secret" not in r["params"] and "client_assertion" in r["params"] for r in exchanges)
    assert sandbox.stats()["revocations"] == 1 and sandbox.stats()["client_assertions_refused"] == 0


def test_a_key_navexa_does_not_know_is_refused_and_the_operator_is_told(make_portal, sandbox):
    sandbox.register_client_keys(public_jwks(rsa_pem(), "portal-key-1"))  # registered: another key under that kid
    portal = key_portal(make_portal, rsa_pem())
    person = PortalBrowser(portal, sandbox)
    answer = person.sign_in()
    assert answer.status_code == 502 and "NAVEXA_CLIENT_PRIVATE_KEY" in answer.text
    assert sandbox.stats()["client_assertions_refused"] == 1 and person.page().status_code == 302


def test_each_assertion_is_for_the_tenant_short_lived_and_used_once(sandbox):
    pem = rsa_pem()
    auth = PrivateKeyJwt(SANDBOX_CLIENT_ID, *load_private_key(pem), "portal-key-1")
    first, second = auth.params(sandbox.url + "/"), auth.params(sandbox.url + "/")
    claims = jwt.decode(first["client_assertion"], RSAKey.import_key(pem.encode())).claims
    header = jwt.decode(first["client_assertion"], RSAKey.import_key(pem.encode())).header
    # Working: iss = sub = the client id; aud = the tenant's issuer; exp - iat = ASSERTION_LIFETIME (60 s).
    assert (claims["iss"], claims["sub"], claims["aud"], claims["exp"] - claims["iat"]) == (
        SANDBOX_CLIENT_ID, SANDBOX_CLIENT_ID, sandbox.url + "/", 60)
    assert header == {"alg": "RS256", "kid": "portal-key-1", "typ": "JWT"}
    assert first["client_assertion_type"] == ASSERTION_TYPE and "client_secret" not in first
    assert jwt.decode(second["client_assertion"], RSAKey.import_key(pem.encode())).claims["jti"] != claims["jti"]

    sandbox.register_client_keys(public_jwks(pem, "portal-key-1"))
    revoke = sandbox.url + "/oauth/revoke"
    body = {"token": "v1.unknown", **first}
    assert requests.post(revoke, data=body, timeout=5).status_code == 200
    assert requests.post(revoke, data=body, timeout=5).status_code == 401  # the same assertion again: replayed


def test_an_expired_or_misaddressed_assertion_is_refused_by_the_sandbox(sandbox):
    pem = rsa_pem()
    sandbox.register_client_keys(public_jwks(pem, "k"))
    key, now = RSAKey.import_key(pem.encode()), int(time.time())
    for claims in ({"aud": sandbox.url + "/", "exp": now - 1}, {"aud": "https://elsewhere.example/", "exp": now + 60},
                   {"aud": sandbox.url + "/", "exp": now + 3600}):
        assertion = jwt.encode({"alg": "RS256", "kid": "k"}, {"iss": SANDBOX_CLIENT_ID, "sub": SANDBOX_CLIENT_ID,
                                                              "jti": str(claims), "iat": now, **claims}, key)
        answer = requests.post(sandbox.url + "/oauth/revoke", timeout=5, data={
            "token": "v1.x", "client_id": SANDBOX_CLIENT_ID, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion})
        assert answer.status_code == 401, claims


def test_the_key_may_be_a_file_or_pem_with_escaped_newlines(tmp_path, sandbox, redis_url):
    pem = rsa_pem()
    path = tmp_path / "portal-key.pem"
    path.write_text(pem)
    for given in (str(path), pem.replace("\n", "\\n")):
        settings = Settings.from_env(portal_env(sandbox.url, redis_url, NAVEXA_CLIENT_AUTH="private_key_jwt",
                                                NAVEXA_CLIENT_PRIVATE_KEY=given, NAVEXA_CLIENT_KEY_ID="k",
                                                NAVEXA_CLIENT_SECRET=None))
        assert settings.client_private_key == pem and settings.client_key_id == "k"


@pytest.mark.parametrize("given, problem", [
    (None, "NAVEXA_CLIENT_PRIVATE_KEY is missing"),
    ("/no/such/file.pem", "neither PEM text nor a readable PEM file"),
    ("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", "can't be used"),
    ("public", "public key"),
    ("rsa-1024", "an RSA key must be at least 2048 bits (this one has 1024)"),  # accepted before (issue 28)
])
def test_a_missing_or_unusable_key_stops_the_portal_naming_the_variable(sandbox, redis_url, given, problem):
    if given == "public":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        given = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    if given == "rsa-1024":
        given = pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505 - the weak key it must refuse
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(portal_env(sandbox.url, redis_url, NAVEXA_CLIENT_AUTH="private_key_jwt",
                                     NAVEXA_CLIENT_PRIVATE_KEY=given, NAVEXA_CLIENT_SECRET=None))
    problems = "\n".join(raised.value.problems)
    assert problem in problems and "NAVEXA_CLIENT_KEY_ID is missing" in problems
    assert "NAVEXA_CLIENT_SECRET" not in problems  # not needed with a key


def test_an_unknown_client_auth_method_is_named(sandbox, redis_url):
    with pytest.raises(ConfigError, match="NAVEXA_CLIENT_AUTH is 'client_secret_jwt'"):
        Settings.from_env(portal_env(sandbox.url, redis_url, NAVEXA_CLIENT_AUTH="client_secret_jwt"))


def test_rotating_the_client_key_loses_no_sign_in(make_portal, sandbox):
    """The README's procedure for private_key_jwt: register the new public key at Navexa beside the old (two keys,
    two kids), switch the containers one by one (NAVEXA_CLIENT_PRIVATE_KEY and NAVEXA_CLIENT_KEY_ID), then remove
    the old key. At every step, every container signs people in and refreshes: none is lost during the switch."""
    old_pem, new_pem = rsa_pem(), rsa_pem()
    sandbox.register_client_keys(public_jwks(old_pem, "old"))
    old = key_portal(make_portal, old_pem, "old")
    first = PortalBrowser(old, sandbox)
    assert first.sign_in().status_code == 302
    both = {"keys": public_jwks(old_pem, "old")["keys"] + public_jwks(new_pem, "new")["keys"]}
    sandbox.register_client_keys(both)  # step 1: Navexa knows both
    new = key_portal(make_portal, new_pem, "new")  # step 2: the containers switch, one at a time
    for portal in (old, new):  # mid-switch: each container, on its own key, signs people in
        assert PortalBrowser(portal, sandbox).sign_in("bob").status_code == 302
    sandbox.register_client_keys(public_jwks(new_pem, "new"))  # step 3: the old key is removed
    assert PortalBrowser(new, sandbox).sign_in("erin").status_code == 302
    assert [r["auth_method"] for r in sandbox.token_requests()][-1] == "private_key_jwt"
