"""POST /backchannel-logout: Navexa's tenant ends portal sessions (OpenID Connect Back-Channel Logout 1.0).

Over real sockets: the sandbox signs people in with a sign-in session (`sid`) of its own, and sends
logout tokens the way Auth0 does; the portal ends exactly the matching sessions, on every process.
"""

import base64
import json
import secrets
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from tests.helpers import PortalBrowser, redis_dump, session_key, token_key
from tests.oauth_helpers import refresh as sandbox_refresh
from tools.clients import Browser
from tools.stack import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, free_port, portal_env, start_portal, start_redis

SID_COOKIE = "navexa_sandbox_sid"


def signed_in_at(url: str, username="alice") -> Browser:
    person = Browser(url)
    assert person.sign_in(username).status_code == 302
    return person


def is_signed_in(person: Browser, url: str) -> bool:
    answer = person.get(url + "/portfolios", allow_redirects=False, timeout=30)
    assert answer.status_code in (200, 302), answer.text[:300]
    return answer.status_code == 200


@pytest.fixture
def two_portals(sandbox):
    """Two portal processes (gunicorn, a worker each) on a Redis of their own, with one SECRET_KEY: two containers."""
    redis_service, redis_url = start_redis()
    secret, started = secrets.token_hex(32), []
    for _ in range(2):
        port = free_port()
        started.append(start_portal(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", SECRET_KEY=secret),
                                    port=port, workers=1))
    sandbox.config(backchannel_logout_uri=started[1][1] + "/backchannel-logout")  # the tenant calls one of them
    yield [url for _, url in started]
    for service, _ in started:
        service.stop()
    redis_service.stop()


def test_a_revoked_navexa_session_ends_exactly_its_portal_session_on_every_process(two_portals, sandbox):
    first, second = two_portals
    alice_here, alice_there, bob = signed_in_at(first), signed_in_at(second), signed_in_at(first, "bob")
    revoked = alice_here.cookies[SID_COOKIE]
    assert alice_there.cookies[SID_COOKIE] != revoked  # another browser: another Navexa sign-in
    refresh_token_before = sandbox.stats()["revocations"]

    deliveries = sandbox.logout_elsewhere("alice", "session-revoked", sid=revoked)

    assert [d["status"] for d in deliveries] == [200]
    assert not is_signed_in(alice_here, first) and not is_signed_in(alice_here, second)
    assert is_signed_in(alice_there, second) and is_signed_in(alice_there, first)
    assert is_signed_in(bob, first)
    assert sandbox.stats()["revocations"] == refresh_token_before + 1  # the ended session's refresh token


def test_a_password_change_ends_every_session_of_that_person_and_nobody_elses(two_portals, sandbox):
    first, second = two_portals
    alice_here, alice_there, bob = signed_in_at(first), signed_in_at(second), signed_in_at(second, "bob")

    deliveries = sandbox.logout_elsewhere("alice", "password-changed")

    assert [d["status"] for d in deliveries] == [200]  # one logout token, naming only the person (sub)
    assert not is_signed_in(alice_here, first) and not is_signed_in(alice_there, second)
    assert is_signed_in(bob, second) and is_signed_in(bob, first)
    assert sandbox.stats()["revocations"] == 2


def test_signing_out_of_another_navexa_app_ends_the_portal_session_of_that_browser(make_portal, sandbox):
    portal = make_portal()
    sandbox.config(backchannel_logout_uri=portal.url + "/backchannel-logout")
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    sid = person.session_id()
    refresh_token = person.record().refresh_token
    assert sandbox.logout_elsewhere("alice", "idp-logout")[0]["status"] == 200
    assert person.page().status_code == 302
    assert not portal.redis.exists(session_key(sid)) and not portal.redis.exists(token_key(sid))
    assert sandbox_refresh(sandbox.url, refresh_token).json()["error"] == "invalid_grant"


def test_signing_out_of_the_portal_ends_the_navexa_session_whose_logout_token_then_finds_nothing_left(make_portal,
                                                                                                      sandbox):
    portal = make_portal()
    sandbox.config(backchannel_logout_uri=portal.url + "/backchannel-logout")
    leaving, staying = PortalBrowser(portal, sandbox), PortalBrowser(portal, sandbox)
    assert leaving.sign_in().status_code == 302 and staying.sign_in().status_code == 302
    sid = leaving.cookies[SID_COOKIE]
    answer = leaving.post(portal.url + "/logout", data={"csrf_token": leaving.csrf()}, allow_redirects=False, timeout=10)
    assert leaving.get(answer.headers["Location"], allow_redirects=False, timeout=10).status_code == 302  # at Navexa
    assert sid not in sandbox.idp_sessions()
    assert sandbox.backchannel() == [{"initiator": "rp-logout", "status": 200}]
    assert staying.page().status_code == 200 and leaving.page().status_code == 302
    assert sandbox.stats()["revocations"] == 1  # the one the sign-out revoked; the logout token found nothing more


def test_the_refresh_token_revoked_is_the_current_one_after_rotation(make_portal, sandbox):
    portal = make_portal()
    sandbox.config(backchannel_logout_uri=portal.url + "/backchannel-logout", access_token_ttl=120)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    first = person.record().refresh_token
    portal.clock.advance(100)  # into the refresh leeway (a quarter of 120 s): refreshed behind the page
    assert person.page().status_code == 200
    for _ in range(100):  # the refresh runs behind the page
        if person.record().refresh_token != first:
            break
        time.sleep(0.02)
    rotated = person.record().refresh_token
    assert rotated != first
    assert sandbox.logout_elsewhere("alice", "session-revoked")[0]["status"] == 200
    assert sandbox_refresh(sandbox.url, rotated).json()["error"] == "invalid_grant"


def test_the_revocation_copy_reveals_no_refresh_token_to_a_redis_dump(signed_in, portal):
    refresh_token = signed_in.record().refresh_token
    assert refresh_token.encode() not in redis_dump(portal.redis)


def test_a_valid_logout_token_is_answered_200_no_store_with_nothing_in_it(signed_in, portal, sandbox):
    token = sandbox.logout_token("alice", sid=signed_in.cookies[SID_COOKIE])
    answer = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store" and answer.content == b""
    assert signed_in.page().status_code == 302


def test_sessions_ended_by_back_channel_logout_are_counted_in_the_metrics(signed_in, portal, sandbox):
    from prometheus_client import REGISTRY

    def ended(by):
        return REGISTRY.get_sample_value("portal_sessions_ended_elsewhere_total", {"by": by}) or 0

    before = ended("backchannel")
    token = sandbox.logout_token("alice", sid=signed_in.cookies[SID_COOKIE])
    assert requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10).status_code == 200
    assert ended("backchannel") == before + 1


# -- what is refused: each a 400 that ends nothing --------------------------------------


def unsigned(header: dict, claims: dict) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def good_claims(sandbox, sid) -> dict:
    now = int(time.time())
    return {"iss": sandbox.url + "/", "aud": SANDBOX_CLIENT_ID, "iat": now, "exp": now + 120, "jti": secrets.token_hex(8),
            "sub": "auth0|alice-7f3a91", "sid": sid, "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}


def refused_tokens(sandbox, sid: str) -> dict[str, str]:
    now = int(time.time())
    forger = RSAKey.generate_key(2048)
    kid = requests.get(sandbox.url + "/.well-known/jwks.json", timeout=5).json()["keys"][0]["kid"]
    return {
        "wrong aud": sandbox.logout_token("alice", sid, claims={"aud": "another-client"}),
        "expired iat": sandbox.logout_token("alice", sid, claims={"iat": now - 3600, "exp": now - 3000}),
        "iat in the future": sandbox.logout_token("alice", sid, claims={"iat": now + 3600}),
        "a nonce": sandbox.logout_token("alice", sid, claims={"nonce": "n-123"}),
        "alg none": unsigned({"alg": "none", "typ": "logout+jwt"}, good_claims(sandbox, sid)),
        "HS256 with the client secret": jwt.encode({"alg": "HS256", "typ": "logout+jwt"}, good_claims(sandbox, sid),
                                                    OctKey.import_key(SANDBOX_CLIENT_SECRET.encode())),
        "no event claim": sandbox.logout_token("alice", sid, drop=["events"]),
        "another event": sandbox.logout_token("alice", sid, claims={"events": {"http://example.com/other": {}}}),
        "wrong iss": sandbox.logout_token("alice", sid, claims={"iss": "https://evil.example/"}),
        "a foreign azp": sandbox.logout_token("alice", sid, claims={"azp": "another-client"}),
        "neither sub nor sid": sandbox.logout_token(None, None),
        "no jti": sandbox.logout_token("alice", sid, drop=["jti"]),
        "an access token's typ": sandbox.logout_token("alice", sid, header={"typ": "at+jwt"}),
        "signed by another key under the tenant's kid": jwt.encode({"alg": "RS256", "kid": kid}, good_claims(sandbox, sid),
                                                                   forger),
        "not a JWT": "not-a-jwt",
        "iat NaN": sandbox.logout_token("alice", sid, claims={"iat": float("nan")}),  # once a 500 (N8)
        "exp infinite": sandbox.logout_token("alice", sid, claims={"exp": float("inf")}),
    }


REFUSALS = {  # each case, and the check of §2.6 that refuses it (named in the error description)
    "wrong aud": "aud", "expired iat": "iat", "iat in the future": "iat", "a nonce": "nonce",
    "alg none": "algorithm", "HS256 with the client secret": "algorithm", "no event claim": "event",
    "another event": "event", "wrong iss": "iss", "a foreign azp": "azp", "neither sub nor sid": "neither sub nor sid",
    "no jti": "jti", "an access token's typ": "typ", "signed by another key under the tenant's kid": "signature",
    "not a JWT": "not a signed JWT", "iat NaN": "iat", "exp infinite": "exp",
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_logout_token_that_fails_validation_is_refused_and_ends_nothing(signed_in, portal, sandbox, case):
    token = refused_tokens(sandbox, signed_in.cookies[SID_COOKIE])[case]
    answer = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
    assert answer.status_code == 400, case
    assert answer.json()["error"] == "invalid_request" and answer.headers["Cache-Control"] == "no-store"
    assert REFUSALS[case] in answer.json()["error_description"]
    assert token not in answer.text
    assert signed_in.page().status_code == 200
    assert sandbox.stats()["revocations"] == 0


def test_a_logout_token_with_an_exp_far_ahead_ends_the_session_and_is_remembered_only_while_it_could_pass(
        signed_in, portal, sandbox):
    """Found by the generated tests: a tenant-signed token with exp 9,223,372,036,854,716 (finite, 292 million
    years ahead) ended the session, then asked Redis to remember it that long, and answered 503. A token can pass
    only while its iat is recent (5 minutes and a minute's leeway), so that is as long as it is remembered."""
    from portal.core.oauth.logout_token import LEEWAY, MAX_AGE

    token = sandbox.logout_token("alice", signed_in.cookies[SID_COOKIE], claims={"exp": 9223372036854716.0})
    answer = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
    assert answer.status_code == 200
    assert signed_in.page().status_code == 302  # signed out
    ttls = [portal.redis.ttl(key) for pattern in ("portal:logout-jti:*", "portal:idp-ended:*")
            for key in portal.redis.scan_iter(pattern)]
    assert ttls and all(0 < ttl <= MAX_AGE + LEEWAY + 1 for ttl in ttls), ttls


def test_a_replayed_logout_token_is_refused_and_ends_the_newer_session_not(signed_in, portal, sandbox):
    token = sandbox.logout_token("alice", sid=signed_in.cookies[SID_COOKIE])
    assert requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10).status_code == 200
    # The same browser signs in again, in a new Navexa sign-in: the ended one (that sid) can't start a session while
    # its logout token could still pass (the test below), as a provider that ended it would never offer it again.
    del signed_in.cookies[SID_COOKIE]
    assert signed_in.sign_in().status_code == 302
    replay = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
    assert replay.status_code == 400 and "already used" in replay.json()["error_description"]
    assert signed_in.page().status_code == 200


@pytest.mark.parametrize("how", ["json body", "no field", "two fields", "a GET"])
def test_a_malformed_call_gets_a_json_4xx(signed_in, portal, sandbox, how):
    token = sandbox.logout_token("alice", sid=signed_in.cookies[SID_COOKIE])
    url = portal.url + "/backchannel-logout"
    answer = {"json body": lambda: requests.post(url, json={"logout_token": token}, timeout=10),
              "no field": lambda: requests.post(url, data={"token": token}, timeout=10),
              "two fields": lambda: requests.post(url, data=[("logout_token", token), ("logout_token", token)], timeout=10),
              "a GET": lambda: requests.get(url, params={"logout_token": token}, timeout=10)}[how]()
    assert answer.status_code in (400, 405) and answer.headers["Content-Type"].startswith("application/json")
    assert signed_in.page().status_code == 200


def test_back_channel_logout_is_rate_limited_as_json(make_portal, sandbox):
    portal = make_portal(RATE_LIMIT_BACKCHANNEL_LOGOUT="2 per minute")
    statuses = [requests.post(portal.url + "/backchannel-logout", data={"logout_token": "x"}, timeout=10)
                for _ in range(3)]
    assert [s.status_code for s in statuses] == [400, 400, 429]
    assert statuses[-1].headers["Content-Type"].startswith("application/json") and "Retry-After" in statuses[-1].headers


def test_valid_logout_tokens_never_use_up_the_rate_limit(make_portal, sandbox):
    """A tenant signing out many people at once (a mass revocation) sends a token a session from a few
    addresses; only refusals count toward the limit, so every real logout is carried out.
    Working: limit 2/min; 5 valid tokens → 5 × 200, none counted; then 2 refusals use it up → the 3rd is 429."""
    portal = make_portal(RATE_LIMIT_BACKCHANNEL_LOGOUT="2 per minute")
    url = portal.url + "/backchannel-logout"
    valid = [requests.post(url, data={"logout_token": sandbox.logout_token("alice", sid=f"sign-in-{n}")}, timeout=10)
             for n in range(5)]
    assert [answer.status_code for answer in valid] == [200] * 5
    refusals = [requests.post(url, data={"logout_token": "x"}, timeout=10).status_code for _ in range(3)]
    assert refusals == [400, 400, 429]


def test_forged_logout_tokens_cannot_make_the_portal_hammer_the_tenants_key_set(signed_in, portal, sandbox):
    """An unknown kid, or a bad signature under a known one, makes the portal fetch the key set again (a key may
    have been rotated): at most once per JWKS_REFETCH_EVERY, or anyone could turn /backchannel-logout into a
    flood of JWKS requests at Auth0. Working: 20 forgeries within a second of the sign-in's fetch → 0 fetches;
    past the interval, the next forgery → 1 fetch, and the 19 after it → 0 more."""
    from portal.core.oauth.provider import JWKS_REFETCH_EVERY

    portal.services.provider.clock = portal.clock  # the provider keeps real time (ID tokens); here, the test's
    forger = RSAKey.generate_key(2048)
    kid = requests.get(sandbox.url + "/.well-known/jwks.json", timeout=5).json()["keys"][0]["kid"]

    def forgeries():
        for n in range(20):
            headers = {"alg": "RS256", "kid": kid if n % 2 else f"unknown-{n}"}
            yield jwt.encode(headers, good_claims(sandbox, signed_in.cookies[SID_COOKIE]), forger)

    def send_all() -> int:
        before = sandbox.stats()["jwks_requests"]
        for token in forgeries():
            answer = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
            assert answer.status_code == 400
        return sandbox.stats()["jwks_requests"] - before

    assert send_all() == 0  # the keys were fetched at sign-in, moments ago
    portal.clock.advance(JWKS_REFETCH_EVERY)
    assert send_all() == 1
    valid = sandbox.logout_token("alice", sid=signed_in.cookies[SID_COOKIE])  # the real key still works
    assert requests.post(portal.url + "/backchannel-logout", data={"logout_token": valid}, timeout=10).status_code == 200


def test_with_redis_down_a_logout_token_gets_a_503_not_a_500(make_portal, sandbox, caplog):
    service, url = start_redis()
    portal = make_portal(REDIS_URL=url)
    token = sandbox.logout_token("alice", sid="any")
    service.stop()
    answer = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=30)
    assert answer.status_code == 503 and answer.json()["error"] == "store_unavailable"
    assert token not in caplog.text


def test_a_logout_that_failed_half_way_is_done_when_the_provider_sends_its_token_again(signed_in, portal, sandbox,
                                                                                       monkeypatch):
    """Redis fails after the token's jti was noted (a Cluster node, a failover): the answer is 503, and the
    provider's retry of the same token must end the session, not be refused as a replay."""
    import redis as redis_py

    index, calls = portal.services.index, []
    end_matching = index.end_matching

    def fails_once(**who):
        calls.append(who)
        if len(calls) == 1:
            raise redis_py.ConnectionError("the node holding the index went away")
        return end_matching(**who)

    monkeypatch.setattr(index, "end_matching", fails_once)
    token = sandbox.logout_token("alice", sid=signed_in.cookies[SID_COOKIE])
    first = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
    assert first.status_code == 503 and first.json()["error"] == "store_unavailable"
    assert signed_in.page().status_code == 200  # nothing ended yet
    again = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
    assert again.status_code == 200, again.text
    assert signed_in.page().status_code == 302 and len(calls) == 2


def test_discovery_offers_back_channel_logout_with_sessions(sandbox):
    document = requests.get(sandbox.url + "/.well-known/openid-configuration", timeout=5).json()
    assert document["backchannel_logout_supported"] is True and document["backchannel_logout_session_supported"] is True


def test_refusals_from_an_address_never_hold_back_a_token_that_verifies(make_portal, sandbox):
    """Auth0's outbound addresses are shared by a region's tenants (N5): after forged tokens use up an address's
    limit (2 a minute here: the 3rd refusal is 429), the tenant's genuine logout from the same address is still
    acted on (200, the session ended); the next forgery is still 429."""
    portal = make_portal(RATE_LIMIT_BACKCHANNEL_LOGOUT="2 per minute")
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    url = portal.url + "/backchannel-logout"
    assert [requests.post(url, data={"logout_token": "forged"}, timeout=10).status_code for _ in range(3)] == [400, 400, 429]
    genuine = sandbox.logout_token("alice", sid=person.cookies[SID_COOKIE])
    assert requests.post(url, data={"logout_token": genuine}, timeout=10).status_code == 200
    assert person.page().status_code == 302  # signed out
    assert requests.post(url, data={"logout_token": "forged"}, timeout=10).status_code == 429


def test_a_logout_that_arrives_while_its_sign_in_completes_ends_the_session_as_it_starts(lone_portal, sandbox):
    """N6: the tenant's logout token for a Navexa sign-in came after Navexa's consent and before the portal's
    /callback: it ended nothing then (nothing was indexed). The session that /callback starts is ended at once,
    its refresh token revoked, and the person is asked to sign in again."""
    person = PortalBrowser(lone_portal, sandbox)
    callback = person.approve(person.start_login())
    token = sandbox.logout_token("alice", sid=person.cookies[SID_COOKIE])
    assert requests.post(lone_portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10).status_code == 200
    answer = person.get(callback, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "Navexa ended this sign-in while it was completing" in answer.text
    assert person.page().status_code == 302  # not signed in
    assert sandbox.stats()["revocations"] == 1
    assert lone_portal.services.index.of_person("auth0|alice-7f3a91") == []
