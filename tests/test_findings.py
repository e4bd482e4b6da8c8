"""The outside security re-test's low-severity findings (F01–F04, F06–F08) and two more it noticed, each as a
test that failed on the code before its fix."""

import csv
import io
import logging
from datetime import date

import pytest
import urllib3

from portal.api import hop
from portal.core.navexa.client import NavexaClient, RateLimited
from portal.core.oauth.refresh_failures import SessionEnded
from portal.core.observability import logformat
from portal.core.sessions.record import SESSION_ID
from portal.core.sessions.tokens import TokenRecord, TokenStore
from portal.core.storage.sealing import new_key
from portal.pages.income import income_by_financial_year, income_csv
from portal.web.problems import UpstreamContent
from portal.web.security import safe_next
from tests.helpers import PortalBrowser, token_key
from tests.test_clients import Pool
from tools.stack import start_redis


def test_f01_the_income_csv_guards_the_currency_against_spreadsheet_formulas():
    holdings = [{"id": 1, "symbol": "X", "currencyCode": "=HYPERLINK(\"http://evil.example\")"}]
    income = {1: [{"paidDate": "2026-01-05", "netAmount": 1, "dividendCurrency": "=HYPERLINK(\"http://evil.example\")",
                   "exchangeRate": 1}]}
    rows = list(csv.reader(io.StringIO(income_csv(income_by_financial_year(holdings, income, "AUD", date(2026, 11, 21)),
                                                  "AUD"))))
    assert not [cell for row in rows[1:] for cell in row if cell.startswith(("=", "+", "-", "@"))]


def test_f02_a_refresh_answer_after_sign_out_is_not_saved_and_its_new_refresh_token_is_revoked(redis_url):
    import redis

    client, revoked = redis.Redis.from_url(redis_url), []

    def sign_out_during_refresh(refresh_token):
        client.delete(token_key("f02"))  # sign-out deletes the record while the token endpoint answers
        return {"access_token": "new-access", "refresh_token": "rotated-refresh", "expires_in": 3600}

    store = TokenStore(client, sign_out_during_refresh, revoke=revoked.append)
    key = new_key()
    store.start("f02", key, TokenRecord("old", "r", None, None, expires_at=0), ends_at=2_000_000_000)
    with pytest.raises(SessionEnded):
        store.access_token("f02", key)
    assert not client.exists(token_key("f02")) and revoked == ["rotated-refresh"]


@pytest.mark.parametrize("target", ["/portfolios\n", "/portfolios%0A", "/\n", "/a\r"])
def test_f03_a_next_ending_in_a_newline_is_refused(target):
    from urllib.parse import unquote

    assert safe_next(unquote(target), default="/home") == "/home"


@pytest.mark.parametrize("pattern, value", [(SESSION_ID, "A" * 43 + "\n"), (logformat._REQUEST_ID, "abc\n")])
def test_f03_identifiers_match_whole_values_only(pattern, value):
    assert not pattern.fullmatch(value) and logformat.request_id_for("abc\n") != "abc\n"


def test_f03_signing_in_with_such_a_next_completes_without_a_500(browser, portal):
    response = browser.get(portal.url + "/login?next=/portfolios%0A", allow_redirects=False, timeout=10)
    callback = browser.approve(response.headers["Location"])
    done = browser.get(callback, allow_redirects=False, timeout=10)
    assert done.status_code == 302 and done.headers["Location"] == "/portfolios"


def test_f04_the_request_lines_path_is_redacted_too(caplog):
    caplog.set_level(logging.INFO, logger=logformat.REQUEST_LOGGER)
    logformat.log_request("GET", "/api/x;access_token=s3cret", 200, 0.0, "rid", None)
    record = caplog.records[-1]
    assert "s3cret" not in record.getMessage() and "s3cret" not in record.path


def test_f06_with_redis_full_a_signed_in_page_still_answers_with_its_data(make_portal, sandbox):
    """Redis at its memory limit (noeviction refuses writes): the page's answer-cache write fails, the page doesn't."""
    import redis

    service, url = start_redis(extra_args=("--maxmemory-policy", "noeviction"))
    try:
        person = PortalBrowser(make_portal(REDIS_URL=url), sandbox)
        assert person.sign_in().status_code == 302
        store = redis.Redis.from_url(url)
        store.config_set("maxmemory", store.info("memory")["used_memory"])  # full: every new write is refused
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            store.set("portal:probe", "x" * 10_000)
        response = person.page("/portfolios")
        assert response.status_code == 200 and "Retirement" in response.text
        assert person.page("/portfolios/101").status_code == 200
    finally:
        service.stop()


@pytest.mark.parametrize("value", ["²", "١٢", "7.5", "-1", " 7", "7\n"])
def test_f07_an_odd_retry_after_is_ignored_not_a_500(value):
    client = NavexaClient("http://api.invalid", pool=Pool(status=429, headers={"Retry-After": value}))
    with pytest.raises(RateLimited) as caught:
        client.get_json("/v1/portfolios", "token")
    assert caught.value.retry_after is None


def test_f07_an_odd_content_length_streams_instead_of_crashing():
    upstream = urllib3.HTTPResponse(body=io.BytesIO(b"{}"), status=200, preload_content=False,
                                    headers={"Content-Type": "application/json", "Content-Length": "²"})
    assert isinstance(hop.reply(upstream).body, hop.UpstreamBody)


@pytest.mark.parametrize("content_type", ["application/x-javascript", "text/jscript", "text/xsl", "application/rss+xml",
                                          "application/mathml+xml", "text/html", "image/svg+xml", "text/vbscript",
                                          "application/x-shockwave-flash", "multipart/x-mixed-replace"])
def test_f08_only_data_types_pass_the_proxy(content_type):
    upstream = urllib3.HTTPResponse(body=io.BytesIO(b"x"), status=200, preload_content=False,
                                    headers={"Content-Type": content_type})
    with pytest.raises(UpstreamContent):
        hop.reply(upstream)


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "application/problem+json",
                                          "text/csv", "application/pdf", "application/octet-stream", "text/plain"])
def test_f08_data_still_passes(content_type):
    upstream = urllib3.HTTPResponse(body=io.BytesIO(b"{}"), status=200, preload_content=False,
                                    headers={"Content-Type": content_type, "Content-Length": "2"})
    assert hop.reply(upstream).body == b"{}"


# -- the ID token: azp whenever present; keys fetched again once when a known kid's signature fails --------------


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


# -- RFC 10017 / RFC 9700 details of sign-in and sign-out ---------------------------------------------------------


def test_the_callback_leaks_no_referrer(browser, portal):
    """RFC 9700 §4.2.4: the page answering the authorization response sends no Referer onward."""
    response = browser.sign_in()
    assert response.status_code == 302 and response.headers["Referrer-Policy"] == "no-referrer"
    from tools.clients import Browser

    refused = Browser(portal.url).get(portal.url + "/callback?code=x&state=unknown", timeout=10)  # an error page too
    assert refused.status_code == 400 and refused.headers["Referrer-Policy"] == "no-referrer"
    assert browser.get(portal.url + "/", timeout=10).headers["Referrer-Policy"] == "same-origin"  # elsewhere as before


def test_sign_out_asks_the_provider_to_end_its_session_with_an_id_token_hint(signed_in, portal):
    from tests.helpers import query_of

    id_token = signed_in.record().id_token
    response = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False,
                              timeout=10)
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["id_token_hint"] == id_token


def test_sign_out_clears_the_sites_cache_and_storage_but_no_other_sites_cookies(signed_in, portal):
    response = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False,
                              timeout=10)
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'  # "cookies" would reach the whole domain's


# -- /api/ refuses other origins (RFC 10017's BFF: requests from anywhere but the portal's own pages) ---------------


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}])
def test_api_calls_from_another_origin_are_refused_on_both_paths(signed_in, portal, sandbox, headers):
    for method in ("GET", "POST"):
        extra = {"X-CSRF": signed_in.csrf()} if method == "POST" else {}
        response = signed_in.request(method, portal.url + "/api/v1/portfolios", headers={**headers, **extra}, timeout=10)
        assert response.status_code == 403 and response.json()["error"] == "cross_origin", (method, headers)
    assert sandbox.stats()["api_requests"] == 0  # nothing reached Navexa


@pytest.mark.parametrize("headers", [{}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}])
def test_api_calls_from_the_portals_own_pages_or_no_browser_pass(signed_in, portal, headers):
    own = {"Origin": portal.url} if headers.get("Sec-Fetch-Site") == "same-origin" else {}
    assert signed_in.get(portal.url + "/api/v1/portfolios", headers={**headers, **own}, timeout=10).status_code == 200
